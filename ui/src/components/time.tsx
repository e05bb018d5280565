const LOCAL = new Intl.DateTimeFormat(undefined, {
  year: "numeric",
  month: "short",
  day: "numeric",
  hour: "2-digit",
  minute: "2-digit",
  second: "2-digit",
  timeZoneName: "short",
});

/** A moment in the reader's time zone (named, so nobody guesses), the exact UTC time on hover and for machines. */
export function Time(props: { iso: string | null | undefined }) {
  if (!props.iso) return <span class="muted">—</span>;
  const time = new Date(props.iso);
  if (Number.isNaN(time.getTime())) return <span>{props.iso}</span>;
  return (
    <time dateTime={time.toISOString()} title={time.toISOString()}>
      {LOCAL.format(time)}
    </time>
  );
}
