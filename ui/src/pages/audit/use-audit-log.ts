import { useEffect, useRef, useState } from "preact/hooks";
import { data, messageOf } from "../../api.js";
import type { AuditEntry } from "../../components/audit-entry.js";
import { type Filters, filterQuery, NO_FILTERS } from "./filters.js";

const PAGE_SIZE = 100;

export interface AuditLog {
  /** The filters of the entries shown (the export takes the same). */
  applied: Filters;
  entries: AuditEntry[] | null;
  /** More entries match: "Load more" fetches the next page. */
  hasMore: boolean;
  loading: boolean;
  error: string | null;
  apply(filters: Filters): void;
  loadMore(): void;
  /** The entry opened for every field; closing it gives focus back to what opened it. */
  selected: AuditEntry | null;
  open(entry: AuditEntry): void;
  close(): void;
}

/** The log, oldest first, a page at a time under the applied filters. */
export function useAuditLog(): AuditLog {
  const [applied, setApplied] = useState<Filters>(NO_FILTERS);
  const [entries, setEntries] = useState<AuditEntry[] | null>(null);
  const [nextAfter, setNextAfter] = useState<number | null>(null);
  const [loading, setLoading] = useState(false);
  const [error, setError] = useState<string | null>(null);
  const [selected, setSelected] = useState<AuditEntry | null>(null);
  /** Only the answer to the latest query counts; -1 once the page is gone. */
  const generation = useRef(0);
  const opener = useRef<HTMLElement | null>(null);

  const load = async (filters: Filters, after: number | null) => {
    const mine = ++generation.current;
    setLoading(true);
    const query = filterQuery(filters);
    query.set("limit", String(PAGE_SIZE));
    if (after !== null) query.set("after", String(after));
    try {
      const page = await data<{ entries: AuditEntry[]; next_after: number | null }>(
        "GET",
        `/v1/audit?${query}`,
      );
      if (mine !== generation.current) return;
      setEntries((before) => (after === null ? page.entries : [...(before ?? []), ...page.entries]));
      setNextAfter(page.next_after);
      setError(null);
    } catch (failure) {
      if (mine === generation.current) setError(messageOf(failure));
    } finally {
      if (mine === generation.current) setLoading(false);
    }
  };

  useEffect(() => {
    void load(NO_FILTERS, null);
    return () => {
      generation.current = -1;
    };
  }, []);

  return {
    applied,
    entries,
    hasMore: nextAfter !== null,
    loading,
    error,
    apply: (filters) => {
      setApplied(filters);
      setSelected(null);
      void load(filters, null);
    },
    loadMore: () => void load(applied, nextAfter),
    selected,
    open: (entry) => {
      opener.current = document.activeElement instanceof HTMLElement ? document.activeElement : null;
      setSelected(entry);
    },
    close: () => {
      setSelected(null);
      opener.current?.focus();
    },
  };
}
