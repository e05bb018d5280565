/** Durations as Vault's fields take them (TypeDurationSecond): whole seconds, or text such as 30, 90s, 15m, 1h, 7d. */

const DURATION = /^(\d+)(s|m|h|d)?$/;
const SECONDS: Record<string, number> = { s: 1, m: 60, h: 3600, d: 86400 };

/** The seconds of `value`; NaN for text that is no duration, for the service's own check to refuse clearly. */
export function durationSeconds(value: number | string | undefined): number | undefined {
  if (value === undefined) return undefined;
  if (typeof value === "number") return value;
  const match = value.trim().match(DURATION);
  return match ? Number(match[1]) * (SECONDS[match[2] ?? "s"] as number) : Number.NaN;
}
