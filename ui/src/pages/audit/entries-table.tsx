import { type AuditEntry, actorName } from "../../components/audit-entry.js";
import { Time, zoneLabel } from "../../components/time.js";

/**
 * One line per entry, at the page's width (fixed columns; a long reason or target is cut with
 * "…"); a click on the row, or its "#seq" button, opens every field of it, the whole reason too.
 * Beside the open entry, target and reason step aside (styles.css).
 */
export function EntriesTable(props: {
  entries: AuditEntry[];
  selected: AuditEntry | null;
  onOpen: (entry: AuditEntry) => void;
}) {
  const { selected, onOpen } = props;
  const zone = zoneLabel();
  return (
    <table class="stack-table audit-table">
      <thead>
        <tr>
          <th scope="col" class="audit-col-seq">
            #
          </th>
          <th scope="col" class="audit-col-time">
            Time ({zone})
          </th>
          <th scope="col" class="audit-col-actor">
            Actor
          </th>
          <th scope="col" class="audit-col-action">
            Action
          </th>
          <th scope="col" class="audit-col-target audit-optional">
            Target
          </th>
          <th scope="col" class="audit-col-outcome">
            Outcome
          </th>
          <th scope="col" class="audit-optional">
            Reason
          </th>
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
            <td data-label={`Time (${zone})`}>
              <Time iso={entry.time} compact />
            </td>
            <td data-label="Actor" class="audit-cut" title={entry.actor}>
              {actorName(entry.actor)}
              {entry.token_name ? <span class="audit-token muted"> {entry.token_name}</span> : null}
            </td>
            <td data-label="Action" class="audit-cut" title={entry.action}>
              {entry.action}
            </td>
            <td data-label="Target" class="audit-cut audit-optional" title={entry.target ?? undefined}>
              {entry.target ?? "—"}
            </td>
            <td data-label="Outcome">
              <span class={`audit-outcome audit-outcome-${entry.outcome}`}>{entry.outcome}</span>
            </td>
            <td data-label="Reason" class="audit-cut audit-optional" title={entry.reason ?? undefined}>
              {entry.reason ?? ""}
            </td>
          </tr>
        ))}
      </tbody>
    </table>
  );
}
