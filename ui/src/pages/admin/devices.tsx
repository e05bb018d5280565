import { useRef, useState } from "preact/hooks";
import { call, data } from "../../api.js";
import { ConfirmButton } from "../../components/admin/confirm-button.js";
import { CoverageReport, WINDOWS } from "../../components/admin/coverage-report.js";
import { DeviceCheckout } from "../../components/admin/device-checkout.js";
import { DueDates, datesOf } from "../../components/admin/device-due.js";
import { DeviceForm } from "../../components/admin/device-form.js";
import { KIND_LABELS, STATUS_LABELS } from "../../components/admin/device-labels.js";
import { DEVICE_STATUSES, type Device } from "../../components/admin/device-types.js";
import { Outcome, useAction } from "../../components/admin/outcome.js";
import { listNames } from "../../components/admin/vault-list.js";
import { SelectField } from "../../components/field.js";
import { ErrorNotice, Loading, Page } from "../../components/page.js";
import { Time } from "../../components/time.js";
import { useLoad } from "../../hooks.js";
import { holds, useSession } from "../../session.js";

/** The registry of physical MFA devices (devices/*) and the coverage report. */

type Panel =
  | { mode: "add" }
  | { mode: "edit"; device: Device }
  | { mode: "checkout" | "checkin"; device: Device };

const STATUSES = [
  { value: "", label: "All but retired" },
  ...DEVICE_STATUSES.map((value) => ({ value, label: STATUS_LABELS[value] })),
];

export function Devices(_props: { params: Record<string, string> }) {
  const { session } = useSession();
  const mayWrite = holds(session, []); // devices.write: admins only; the server decides anyway
  const [status, setStatus] = useState("");
  const [dueWithin, setDueWithin] = useState("");
  const query = new URLSearchParams();
  if (status) query.set("status", status);
  if (dueWithin) query.set("due_within", dueWithin);
  const list = useLoad(
    async () => (await data<{ devices: Device[] }>("GET", `/v1/devices?${query}`)).devices,
    [status, dueWithin],
  );
  const credentials = useLoad(() =>
    mayWrite ? listNames("/v1/totp/keys").catch(() => []) : Promise.resolve([]),
  );
  const [panel, setPanel] = useState<Panel | null>(null);
  const action = useAction();
  const heading = useRef<HTMLHeadingElement>(null); // where the focus goes when a panel or row is gone
  const [changes, setChanges] = useState(0);
  const close = () => {
    setPanel(null);
    heading.current?.focus();
  };
  const done = () => {
    close();
    setChanges((n) => n + 1);
    list.reload();
  };
  const retire = (device: Device) =>
    action.run(async () => {
      await call("DELETE", `/v1/devices/${encodeURIComponent(device.id)}`);
      done();
      return `${device.label} is retired: kept on record, never due.`;
    });

  return (
    <Page
      title="Devices and coverage"
      actions={
        mayWrite ? (
          <button type="button" class="button" onClick={() => setPanel({ mode: "add" })}>
            Add a device
          </button>
        ) : null
      }
    >
      <section aria-labelledby="devices-heading">
        <h2 id="devices-heading" ref={heading} tabIndex={-1}>
          Devices
        </h2>
        <div class="filters">
          <SelectField label="Status" value={status} onValue={setStatus} options={STATUSES} />
          <SelectField
            label="Due within"
            value={dueWithin}
            onValue={setDueWithin}
            options={[{ value: "", label: "Any time" }, ...WINDOWS]}
          />
        </div>
        <ErrorNotice error={list.error} />
        {list.loading && !list.value ? <Loading /> : null}
        {list.value && list.value.length === 0 ? <p class="muted">No devices match.</p> : null}
        {list.value && list.value.length > 0 ? (
          <div class="table-scroll">
            <table class="stack-table">
              <thead>
                <tr>
                  <th scope="col">Device</th>
                  <th scope="col">Protects</th>
                  <th scope="col">Kept at</th>
                  <th scope="col">Status</th>
                  <th scope="col">Due</th>
                  <th scope="col">Actions</th>
                </tr>
              </thead>
              <tbody>
                {list.value.map((device) => (
                  <tr key={device.id}>
                    <td data-label="Device">
                      {device.label}
                      <div class="muted">
                        {KIND_LABELS[device.kind]}, serial {device.serial}
                      </div>
                    </td>
                    <td data-label="Protects">{device.protects.join(", ")}</td>
                    <td data-label="Kept at">
                      {device.location}
                      <div class="muted">{device.custodian}</div>
                    </td>
                    <td data-label="Status">
                      {STATUS_LABELS[device.status]}
                      {device.status === "checked-out" && device.checked_out_by ? (
                        <div class="muted">
                          by {device.checked_out_by}
                          {device.checked_out_at ? (
                            <>
                              {" since "}
                              <Time iso={device.checked_out_at} />
                            </>
                          ) : null}
                          {device.checkout_reason ? `: ${device.checkout_reason}` : ""}
                        </div>
                      ) : null}
                    </td>
                    <td data-label="Due">
                      <DueDates reasons={datesOf(device)} status={device.status} />
                    </td>
                    <td data-label="Actions">
                      <div class="row-actions">
                        {device.status === "in-safe" ? (
                          <button
                            type="button"
                            class="button secondary"
                            aria-label={`Check out ${device.label}`}
                            onClick={() => setPanel({ mode: "checkout", device })}
                          >
                            Check out
                          </button>
                        ) : null}
                        {device.status === "checked-out" ? (
                          <button
                            type="button"
                            class="button secondary"
                            aria-label={`Check in ${device.label}`}
                            onClick={() => setPanel({ mode: "checkin", device })}
                          >
                            Check in
                          </button>
                        ) : null}
                        {mayWrite ? (
                          <button
                            type="button"
                            class="button secondary"
                            aria-label={`Edit ${device.label}`}
                            onClick={() => setPanel({ mode: "edit", device })}
                          >
                            Edit
                          </button>
                        ) : null}
                        {mayWrite && device.status !== "retired" && device.status !== "checked-out" ? (
                          <ConfirmButton
                            label="Retire"
                            subject={device.label}
                            question={`Retire ${device.label}? It stays on record and is never due again.`}
                            confirmLabel={`Retire ${device.label}`}
                            onConfirm={() => retire(device)}
                          />
                        ) : null}
                      </div>
                    </td>
                  </tr>
                ))}
              </tbody>
            </table>
          </div>
        ) : null}
        <Outcome action={action} />
        {panel?.mode === "add" || panel?.mode === "edit" ? (
          <DeviceForm
            key={panel.mode === "edit" ? panel.device.id : "new"}
            editing={panel.mode === "edit" ? panel.device : null}
            credentials={credentials.value ?? []}
            action={action}
            onSaved={done}
            onCancel={close}
          />
        ) : null}
        {panel?.mode === "checkout" || panel?.mode === "checkin" ? (
          <DeviceCheckout
            key={`${panel.mode}-${panel.device.id}`}
            device={panel.device}
            direction={panel.mode}
            action={action}
            onDone={done}
            onCancel={close}
          />
        ) : null}
      </section>
      <CoverageReport changes={changes} />
    </Page>
  );
}
