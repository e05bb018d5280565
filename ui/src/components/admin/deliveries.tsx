import type {
  DeadLettersAnswer,
  DeliveriesAnswer,
  RedriveAnswer,
  RedriveBody,
} from "../../../../src/api/deliveries.js";
import { call } from "../../api.js";
import { useLoad } from "../../hooks.js";
import { ErrorNotice, Loading } from "../page.js";
import { Time, zoneLabel } from "../time.js";
import { Outcome, useAction } from "./outcome.js";

type DeliveryState = DeliveriesAnswer["data"]["destinations"][number];
type DeadLetter = DeadLettersAnswer["data"]["dead_letters"][number];

/**
 * Where delivery stands for each destination, and the events given up on (dead letters) with
 * Redrive. `base` is `/v1/notify` (webhooks and mail) or `/v1/sys/audit` (audit sinks): same answers.
 */
export function Deliveries(props: { base: string }) {
  const { base } = props;
  const loaded = useLoad(async () => {
    const [deliveries, letters] = await Promise.all([
      call<DeliveriesAnswer>("GET", `${base}/deliveries`),
      call<DeadLettersAnswer>("GET", `${base}/dead-letters`),
    ]);
    return { destinations: deliveries.body.data.destinations, letters: letters.body.data.dead_letters };
  }, [base]);
  const action = useAction();
  const redrive = (body: RedriveBody) =>
    action.run(async () => {
      const answer = await call<RedriveAnswer>("POST", `${base}/dead-letters/redrive`, body);
      const { redriven } = answer.body.data;
      loaded.reload();
      return `${redriven} dead letter${redriven === 1 ? "" : "s"} queued for delivery again: each leaves the list once delivered.`;
    });
  const value = loaded.value;
  return (
    <>
      <section aria-labelledby="deliveries-heading">
        <h2 id="deliveries-heading">Delivery</h2>
        <ErrorNotice error={loaded.error} />
        {loaded.loading && !value ? <Loading /> : null}
        {value && value.destinations.length === 0 ? <p class="muted">No destinations yet.</p> : null}
        {value && value.destinations.length > 0 ? (
          <DestinationTable destinations={value.destinations} />
        ) : null}
        <div class="actions">
          <button type="button" class="button secondary" disabled={loaded.loading} onClick={loaded.reload}>
            Reload
          </button>
        </div>
      </section>
      <section aria-labelledby="dead-letters-heading">
        <h2 id="dead-letters-heading">Dead letters</h2>
        <p class="hint">
          Events every attempt failed to deliver. Redrive sends them again; they leave this list once
          delivered.
        </p>
        {value && value.letters.length === 0 ? <p class="muted">No dead letters.</p> : null}
        {value && value.letters.length > 0 ? (
          <>
            <div class="actions">
              <button type="button" class="button" disabled={action.busy} onClick={() => redrive({})}>
                Redrive all
              </button>
            </div>
            <DeadLetterTable letters={value.letters} busy={action.busy} onRedrive={redrive} />
          </>
        ) : null}
        <Outcome action={action} />
      </section>
    </>
  );
}

function DestinationTable(props: { destinations: DeliveryState[] }) {
  return (
    <div class="table-scroll">
      <table class="stack-table">
        <thead>
          <tr>
            <th scope="col">Destination</th>
            <th scope="col">Undelivered</th>
            <th scope="col">Oldest undelivered</th>
            <th scope="col">State</th>
            <th scope="col">Dead letters</th>
          </tr>
        </thead>
        <tbody>
          {props.destinations.map((state) => (
            <tr key={state.destination}>
              <td data-label="Destination">{state.destination}</td>
              <td data-label="Undelivered">{state.backlog}</td>
              <td data-label="Oldest undelivered">
                {state.oldest_seconds === null ? "—" : `${age(state.oldest_seconds)} ago`}
              </td>
              <td data-label="State">
                <DeliveryHealth state={state} />
              </td>
              <td data-label="Dead letters">{state.dead_letters}</td>
            </tr>
          ))}
        </tbody>
      </table>
    </div>
  );
}

/** In words, not colour alone: failing (with the last error), delivering, or up to date. */
function DeliveryHealth(props: { state: DeliveryState }) {
  const { state } = props;
  if (state.failing)
    return (
      <>
        <span class="badge badge-danger">Failing</span>
        {state.last_error}
      </>
    );
  if (state.backlog > 0) return <span class="badge badge-warning">Delivering</span>;
  return <span class="badge badge-ok">Up to date</span>;
}

function DeadLetterTable(props: {
  letters: DeadLetter[];
  busy: boolean;
  onRedrive: (body: RedriveBody) => unknown;
}) {
  return (
    <div class="table-scroll">
      <table class="stack-table">
        <thead>
          <tr>
            <th scope="col">Destination</th>
            <th scope="col">Event</th>
            <th scope="col">Summary</th>
            <th scope="col">Last error</th>
            <th scope="col">Attempts</th>
            <th scope="col">Given up ({zoneLabel()})</th>
            <th scope="col">Actions</th>
          </tr>
        </thead>
        <tbody>
          {props.letters.map((letter) => (
            <tr key={`${letter.destination} ${letter.seq}`}>
              <td data-label="Destination">{letter.destination}</td>
              <td data-label="Event">#{letter.seq}</td>
              <td data-label="Summary">{letter.summary}</td>
              <td data-label="Last error">{letter.error}</td>
              <td data-label="Attempts">{letter.attempts}</td>
              <td data-label="Given up">
                <Time iso={letter.dead_at} compact />
              </td>
              <td data-label="Actions">
                {letter.redrive ? (
                  <span class="muted">Sending again</span>
                ) : (
                  <button
                    type="button"
                    class="button secondary"
                    aria-label={`Redrive event ${letter.seq} to ${letter.destination}`}
                    disabled={props.busy}
                    onClick={() => props.onRedrive({ destination: letter.destination, seq: letter.seq })}
                  >
                    Redrive
                  </button>
                )}
              </td>
            </tr>
          ))}
        </tbody>
      </table>
    </div>
  );
}

/** "40 seconds", "12 minutes", "3 hours", "2 days". */
function age(seconds: number): string {
  const [amount, unit] =
    seconds < 90
      ? [Math.round(seconds), "second"]
      : seconds < 90 * 60
        ? [Math.round(seconds / 60), "minute"]
        : seconds < 36 * 3600
          ? [Math.round(seconds / 3600), "hour"]
          : [Math.round(seconds / 86400), "day"];
  return `${amount} ${unit}${amount === 1 ? "" : "s"}`;
}
