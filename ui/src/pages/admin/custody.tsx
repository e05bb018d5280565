import { useState } from "preact/hooks";
import { call, data } from "../../api.js";
import { ConfirmButton } from "../../components/admin/confirm-button.js";
import { Outcome, useAction } from "../../components/admin/outcome.js";
import { Field } from "../../components/field.js";
import { ErrorNotice, Loading, Page } from "../../components/page.js";
import { Time } from "../../components/time.js";
import { useLoad } from "../../hooks.js";
import { holds, useSession } from "../../session.js";

/** The custodians of the unseal key shares, their drills and the bus factor; and the data key's status. */

interface BusFactor {
  verified_recently: number;
  needed: number;
  window_days: number;
  warning: string | null;
}

interface Custodian {
  share_index: number;
  name: string;
  pgp_fingerprint: string | null;
  created_at: string;
  last_verified: string | null;
  verified_recently: boolean;
}

interface CustodianList {
  threshold: number;
  shares: number;
  bus_factor: BusFactor;
  custodians: Custodian[];
}

interface KeyStatus {
  term: number;
  install_time: string;
  rows_by_version: Record<string, number>;
  reencryption_running: boolean;
}

export function Custody(_props: { params: Record<string, string> }) {
  const { session } = useSession();
  const list = useLoad(async () => (await call<CustodianList>("GET", "/v1/sys/custodians")).body);
  return (
    <Page title="Custodians">
      <ErrorNotice error={list.error} />
      {list.loading && !list.value ? <Loading /> : null}
      {list.value ? <CustodianTable list={list.value} /> : null}
      <Drill onDrilled={list.reload} />
      <KeyStatusSection mayRotate={holds(session, [])} />
    </Page>
  );
}

function CustodianTable(props: { list: CustodianList }) {
  const { bus_factor: bus, custodians } = props.list;
  return (
    <section aria-labelledby="custodians-heading">
      <h2 id="custodians-heading">Shares and who holds them</h2>
      <p>
        {props.list.threshold} of {props.list.shares} shares unseal breakglass.
      </p>
      {bus.warning ? (
        <p class="notice notice-warning">{bus.warning}</p>
      ) : (
        <p class="notice notice-ok">
          {bus.verified_recently} of {props.list.shares} custodians proved their share in the last{" "}
          {bus.window_days} days; at least {bus.needed} should.
        </p>
      )}
      {custodians.length === 0 ? (
        <p class="muted">No custodians are named: name them when initialising or rekeying.</p>
      ) : (
        <div class="table-scroll">
          <table class="stack-table">
            <thead>
              <tr>
                <th scope="col">Share</th>
                <th scope="col">Custodian</th>
                <th scope="col">PGP fingerprint</th>
                <th scope="col">Last verified</th>
                <th scope="col">Verified recently</th>
              </tr>
            </thead>
            <tbody>
              {custodians.map((c) => (
                <tr key={c.share_index}>
                  <td data-label="Share">{c.share_index}</td>
                  <td data-label="Custodian">{c.name}</td>
                  <td data-label="PGP fingerprint">
                    {c.pgp_fingerprint ? <code class="fingerprint">{c.pgp_fingerprint}</code> : "none"}
                  </td>
                  <td data-label="Last verified">
                    {c.last_verified ? <Time iso={c.last_verified} /> : "never"}
                  </td>
                  <td data-label="Verified recently">
                    {c.verified_recently ? (
                      <span class="badge badge-ok">Yes</span>
                    ) : (
                      <span class="badge badge-warning">No: drill due</span>
                    )}
                  </td>
                </tr>
              ))}
            </tbody>
          </table>
        </div>
      )}
    </section>
  );
}

/** A custodian proves they still hold their share: the server names whose it is and changes nothing else. */
function Drill(props: { onDrilled: () => void }) {
  const [share, setShare] = useState("");
  const action = useAction();
  const submit = (event: Event) => {
    event.preventDefault();
    const key = share.trim();
    setShare(""); // a share never stays on the page, whatever the answer
    void action.run(async () => {
      const answer = await call<{ custodian: string; share_index: number }>(
        "PUT",
        "/v1/sys/custodians/drill",
        {
          key,
        },
      );
      props.onDrilled();
      return `Share ${answer.body.share_index}, held by ${answer.body.custodian}`;
    });
  };
  return (
    <section aria-labelledby="drill-heading">
      <h2 id="drill-heading">Drill</h2>
      <p class="hint">
        A custodian types their unseal key share to prove they still hold it. Nothing is unsealed or changed
        but the date they last proved it.
      </p>
      <form class="admin-form" onSubmit={submit}>
        <Field
          label="Share for the drill"
          type="password"
          autoComplete="off"
          spellcheck={false}
          value={share}
          onValue={setShare}
          required
        />
        <div class="actions">
          <button type="submit" class="button" disabled={action.busy}>
            Run drill
          </button>
        </div>
        <Outcome action={action} />
      </form>
    </section>
  );
}

function KeyStatusSection(props: { mayRotate: boolean }) {
  const status = useLoad(() => data<KeyStatus>("GET", "/v1/sys/key-status"));
  const action = useAction();
  const rotate = () =>
    action.run(async () => {
      await call("PUT", "/v1/sys/rotate");
      status.reload();
      return "A new data key version is in use; older secrets are being re-encrypted under it.";
    });
  const versions = Object.entries(status.value?.rows_by_version ?? {}).sort(
    (a, b) => Number(b[0]) - Number(a[0]),
  );
  return (
    <section aria-labelledby="key-status-heading">
      <h2 id="key-status-heading">Data key</h2>
      <ErrorNotice error={status.error} />
      {status.value ? (
        <>
          <dl class="facts">
            <dt>Current version (term)</dt>
            <dd>{status.value.term}</dd>
            <dt>Installed</dt>
            <dd>
              <Time iso={status.value.install_time} />
            </dd>
            <dt>Re-encryption</dt>
            <dd>{status.value.reencryption_running ? "running on this node" : "not running"}</dd>
          </dl>
          <div class="table-scroll">
            <table class="key-versions">
              <caption class="hint">Sealed secrets per data key version</caption>
              <thead>
                <tr>
                  <th scope="col">Version</th>
                  <th scope="col">Secrets</th>
                </tr>
              </thead>
              <tbody>
                {versions.map(([version, rows]) => (
                  <tr key={version}>
                    <td>{version}</td>
                    <td>{rows}</td>
                  </tr>
                ))}
              </tbody>
            </table>
          </div>
        </>
      ) : null}
      {props.mayRotate ? (
        <div class="actions">
          <ConfirmButton
            label="Rotate data key"
            question="Add a new data key version? New secrets are sealed under it and older ones re-encrypted."
            confirmLabel="Rotate now"
            disabled={action.busy}
            onConfirm={rotate}
          />
        </div>
      ) : null}
      <Outcome action={action} />
    </section>
  );
}
