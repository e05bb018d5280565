import { useEffect, useRef, useState } from "preact/hooks";
import { data, messageOf } from "../../api.js";
import type { AuditEntry } from "../../components/audit-entry.js";
import { DEFAULT_FILTERS, type Filters, filterQuery } from "./filters.js";

const PAGE_SIZE = 100;

export interface AuditLog {
  /** The query of the entries shown, as applied (the export takes the same). */
  applied: URLSearchParams;
  entries: AuditEntry[] | null;
  /** Older entries match: "Load more" fetches the next page. */
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

/** The log, newest first, a page at a time under the applied filters (their period fixed when applied). */
export function useAuditLog(): AuditLog {
  const [applied, setApplied] = useState(() => filterQuery(DEFAULT_FILTERS));
  const [entries, setEntries] = useState<AuditEntry[] | null>(null);
  const [nextBefore, setNextBefore] = useState<number | null>(null);
  const [loading, setLoading] = useState(false);
  const [error, setError] = useState<string | null>(null);
  const [selected, setSelected] = useState<AuditEntry | null>(null);
  /** Only the answer to the latest query counts; -1 once the page is gone. */
  const generation = useRef(0);
  const opener = useRef<HTMLElement | null>(null);

  const load = async (filter: URLSearchParams, before: number | null) => {
    const mine = ++generation.current;
    setLoading(true);
    const query = new URLSearchParams(filter);
    query.set("order", "newest");
    query.set("limit", String(PAGE_SIZE));
    if (before !== null) query.set("before", String(before));
    try {
      const page = await data<{ entries: AuditEntry[]; next_before: number | null }>(
        "GET",
        `/v1/audit?${query}`,
      );
      if (mine !== generation.current) return;
      setEntries((shown) => (before === null ? page.entries : [...(shown ?? []), ...page.entries]));
      setNextBefore(page.next_before);
      setError(null);
    } catch (failure) {
      if (mine === generation.current) setError(messageOf(failure));
    } finally {
      if (mine === generation.current) setLoading(false);
    }
  };

  useEffect(() => {
    void load(applied, null);
    return () => {
      generation.current = -1;
    };
  }, []);

  return {
    applied,
    entries,
    hasMore: nextBefore !== null,
    loading,
    error,
    apply: (filters) => {
      const query = filterQuery(filters);
      setApplied(query);
      setSelected(null);
      void load(query, null);
    },
    loadMore: () => void load(applied, nextBefore),
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
