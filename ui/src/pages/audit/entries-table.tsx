import type { AuditEntry } from "../../components/audit-entry.js";
import { Time } from "../../components/time.js";

/** One row per entry; a click on the row, or its "#seq" button, opens every field of it. */
export function EntriesTable(props: {
  entries: AuditEntry[];
  selected: AuditEntry | null;
  onOpen: (entry: AuditEntry) => void;
}) {
  const { selected, onOpen } = props;
  return (
    <div class="table-scroll">
      <table class="stack-table audit-table">
        <thead>
          <tr>
            <th scope="col">#</th>
            <th scope="col">Time</th>
            <th scope="col">Actor</th>
            <th scope="col">Action</th>
            <th scope="col">Target</th>
            <th scope="col">Outcome</th>
            <th scope="col">Reason</th>
          </tr>
        </thead>
        <tbody>
          {props.entries.map((entry) => (
            <tr
              key={entry.seq}
              class={selected?.seq === entry.seq ? "clickable selected" : "clickable"}
              onClick={() => onOpen(entry)}
            >
              <td data-label="#">
                <button
                  type="button"
                  class="link-button"
                  aria-label={`Entry #${entry.seq}: show every field`}
                  aria-expanded={selected?.seq === entry.seq}
                  onClick={(event) => {
                    event.stopPropagation();
                    onOpen(entry);
                  }}
                >
                  #{entry.seq}
                </button>
              </td>
              <td data-label="Time">
                <Time iso={entry.time} />
              </td>
              <td data-label="Actor">{entry.actor}</td>
              <td data-label="Action">{entry.action}</td>
              <td data-label="Target">{entry.target ?? "—"}</td>
              <td data-label="Outcome">
                <span class={`audit-outcome audit-outcome-${entry.outcome}`}>{entry.outcome}</span>
              </td>
              <td data-label="Reason">{entry.reason ?? ""}</td>
            </tr>
          ))}
        </tbody>
      </table>
    </div>
  );
}
