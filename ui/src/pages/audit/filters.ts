/** How far back the log is read: a recent stretch, everything, or the dates given. */
export type Period = "24h" | "7d" | "30d" | "all" | "dates";

export const PERIODS: readonly { value: Period; label: string }[] = [
  { value: "24h", label: "Last 24 hours" },
  { value: "7d", label: "Last 7 days" },
  { value: "30d", label: "Last 30 days" },
  { value: "all", label: "All time" },
  { value: "dates", label: "Dates…" },
];

const PERIOD_HOURS: Partial<Record<Period, number>> = { "24h": 24, "7d": 24 * 7, "30d": 24 * 30 };

/** What the auditor filters the log by, as typed in the form. */
export interface Filters {
  outcome: string;
  action: string;
  actor: string;
  target: string;
  reason: string;
  period: Period;
  /** With period "dates": dates (YYYY-MM-DD) in the reader's time zone, both inclusive. */
  since: string;
  until: string;
  /** Also the allowed entries of housekeeping actions (session look-ups, the log's own reads, checkpoints). */
  housekeeping: boolean;
}

/** The recent past, without housekeeping: what the page opens with, and what "Clear" goes back to. */
export const DEFAULT_FILTERS: Filters = {
  outcome: "",
  action: "",
  actor: "",
  target: "",
  reason: "",
  period: "7d",
  since: "",
  until: "",
  housekeeping: false,
};

/** Local midnight of a YYYY-MM-DD date, `days` later, as the ISO time the server expects. */
function localMidnight(date: string, days = 0): string {
  const [year, month, day] = date.split("-").map(Number);
  return new Date(year ?? 1970, (month ?? 1) - 1, (day ?? 1) + days).toISOString();
}

/**
 * The query `GET /v1/audit` and its export take for `filters`, a period counted back from `now`.
 * The server reads `alice` as `user:alice`, `totp` as every totp.* action and `aws-prod-root` as
 * any target ending so: the fields go as typed.
 */
export function filterQuery(filters: Filters, now = Date.now()): URLSearchParams {
  const query = new URLSearchParams();
  if (filters.outcome) query.set("outcome", filters.outcome);
  for (const field of ["action", "actor", "target"] as const) {
    const value = filters[field].trim();
    if (value) query.set(field, value);
  }
  if (filters.reason.trim()) query.set("q", filters.reason.trim());
  const hours = PERIOD_HOURS[filters.period];
  if (hours !== undefined) query.set("since", new Date(now - hours * 3_600_000).toISOString());
  if (filters.period === "dates") {
    if (filters.since) query.set("since", localMidnight(filters.since));
    if (filters.until) query.set("until", localMidnight(filters.until, 1));
  }
  if (!filters.housekeeping) query.set("housekeeping", "false");
  return query;
}
