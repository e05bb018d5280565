/** What the auditor filters the log by, as typed in the form. */
export interface Filters {
  outcome: string;
  action: string;
  actor: string;
  target: string;
  reason: string;
  /** Dates (YYYY-MM-DD) in the reader's time zone, both inclusive. */
  since: string;
  until: string;
}

export const NO_FILTERS: Filters = {
  outcome: "",
  action: "",
  actor: "",
  target: "",
  reason: "",
  since: "",
  until: "",
};

/** Local midnight of a YYYY-MM-DD date, `days` later, as the ISO time the server expects. */
function localMidnight(date: string, days = 0): string {
  const [year, month, day] = date.split("-").map(Number);
  return new Date(year ?? 1970, (month ?? 1) - 1, (day ?? 1) + days).toISOString();
}

/** The query `GET /v1/audit` and its export take for `filters`. */
export function filterQuery(filters: Filters): URLSearchParams {
  const query = new URLSearchParams();
  if (filters.outcome) query.set("outcome", filters.outcome);
  for (const field of ["action", "actor", "target"] as const) {
    const value = filters[field].trim();
    if (value) query.set(field, value);
  }
  if (filters.reason.trim()) query.set("q", filters.reason.trim());
  if (filters.since) query.set("since", localMidnight(filters.since));
  if (filters.until) query.set("until", localMidnight(filters.until, 1));
  return query;
}
