import type { Clock } from "../../core/clock.js";

/**
 * A small read-through cache for hot, non-secret rows (token records, key ciphertexts) so a code
 * read does not query the store twice. Entries live `ttlMs` at most, which bounds how long
 * another node's revocation can go unseen; this node invalidates its own writes at once.
 */
export class TtlCache<V> {
  private readonly entries = new Map<string, { value: V; expires: number }>();

  constructor(
    private readonly ttlMs: number,
    /** Entries expire by this clock: a test moves it instead of waiting. */
    private readonly clock: Clock,
    private readonly maxEntries = 10_000,
  ) {}

  async getOrLoad(key: string, load: () => Promise<V | null>): Promise<V | null> {
    const hit = this.entries.get(key);
    if (hit && hit.expires > this.clock.now()) return hit.value;
    const value = await load();
    if (value === null) {
      this.entries.delete(key);
      return null;
    }
    if (this.entries.size >= this.maxEntries) this.entries.clear(); // crude, but bounded and rare
    this.entries.set(key, { value, expires: this.clock.now() + this.ttlMs });
    return value;
  }

  delete(key: string): void {
    this.entries.delete(key);
  }

  clear(): void {
    this.entries.clear();
  }
}
