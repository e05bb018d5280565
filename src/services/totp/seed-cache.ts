/**
 * Decrypted seeds of the keys read lately, so a code read does not open its ciphertext every
 * time. Held only while unsealed: the seal's wipe overwrites every one, and so does an eviction
 * or a newer ciphertext for the same key. A seed is used only for the exact ciphertext it was
 * opened from, so a key rotated, re-encrypted or replaced (here or on another node) is opened anew.
 *
 * Callers use a seed synchronously, with no `await` between `seedFor` and the last use: an
 * eviction or a seal in between would overwrite it under them.
 */
export class SeedCache {
  private readonly entries = new Map<string, { keyVersion: number; ciphertext: Buffer; seed: Buffer }>();

  constructor(private readonly maxEntries: number) {}

  /** The seed of `name` as sealed in `ciphertext`, opened with `open` unless it is held already. */
  seedFor(name: string, keyVersion: number, ciphertext: Buffer, open: () => Buffer): Buffer {
    const held = this.entries.get(name);
    if (held && held.keyVersion === keyVersion && held.ciphertext.equals(ciphertext)) return held.seed;
    const seed = open();
    this.forget(name);
    if (this.entries.size >= this.maxEntries) this.forget(this.entries.keys().next().value as string);
    this.entries.set(name, { keyVersion, ciphertext, seed });
    return seed;
  }

  forget(name: string): void {
    this.entries.get(name)?.seed.fill(0);
    this.entries.delete(name);
  }

  wipe(): void {
    for (const { seed } of this.entries.values()) seed.fill(0);
    this.entries.clear();
  }

  get size(): number {
    return this.entries.size;
  }
}
