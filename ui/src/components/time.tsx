const LOCAL = new Intl.DateTimeFormat(undefined, {
  year: "numeric",
  month: "short",
  day: "numeric",
  hour: "2-digit",
  minute: "2-digit",
  second: "2-digit",
  timeZoneName: "short",
});

/** `Dec 7, 14:05:46`: for a column whose heading names the zone once (zoneLabel). */
const COMPACT = new Intl.DateTimeFormat(undefined, {
  month: "short",
  day: "numeric",
  hour: "2-digit",
  minute: "2-digit",
  second: "2-digit",
  hourCycle: "h23",
});

/** The reader's time zone as an offset: `UTC`, `UTC+1`, `UTC-3:30` (now; a column of old times may cross a change). */
export function zoneLabel(at = new Date()): string {
  const minutes = -at.getTimezoneOffset();
  if (minutes === 0) return "UTC";
  const hours = Math.floor(Math.abs(minutes) / 60);
  const rest = Math.abs(minutes) % 60;
  return `UTC${minutes > 0 ? "+" : "-"}${hours}${rest ? `:${String(rest).padStart(2, "0")}` : ""}`;
}

/**
 * A moment in the reader's time zone (named, so nobody guesses; `compact` leaves the zone and the
 * year to the column's heading), the exact UTC time on hover and for machines.
 */
export function Time(props: { iso: string | null | undefined; compact?: boolean }) {
  if (!props.iso) return <span class="muted">—</span>;
  const time = new Date(props.iso);
  if (Number.isNaN(time.getTime())) return <span>{props.iso}</span>;
  return (
    <time dateTime={time.toISOString()} title={time.toISOString()}>
      {(props.compact ? COMPACT : LOCAL).format(time)}
    </time>
  );
}
