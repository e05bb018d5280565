import { useState } from "preact/hooks";
import { data, messageOf } from "../../api.js";
import { useAlive } from "../../hooks.js";

/** `GET /v1/audit/verify`. */
export interface ChainCheck {
  intact: boolean;
  entries: number;
  signed_through: number | null;
  unsigned_tail: { from: number; to: number } | null;
  problem: { seq: number; problem: string } | null;
}

export interface ChainChecking {
  check: ChainCheck | null;
  checking: boolean;
  error: string | null;
  verify(): Promise<void>;
}

/** "Verify chain": the server walks the whole hash chain and its signed checkpoints. */
export function useChainCheck(): ChainChecking {
  const [check, setCheck] = useState<ChainCheck | null>(null);
  const [checking, setChecking] = useState(false);
  const [error, setError] = useState<string | null>(null);
  const alive = useAlive();
  const verify = async () => {
    setChecking(true);
    setError(null);
    try {
      const result = await data<ChainCheck>("GET", "/v1/audit/verify");
      if (alive.current) setCheck(result);
    } catch (failure) {
      if (alive.current) setError(messageOf(failure));
    } finally {
      if (alive.current) setChecking(false);
    }
  };
  return { check, checking, error, verify };
}

/** The verdict in a sentence: intact and how far signed, or where it breaks. */
export function verdict(check: ChainCheck): string {
  if (!check.intact)
    return `Chain broken at entry #${check.problem?.seq ?? "?"}: ${check.problem?.problem ?? "no reason given"}`;
  const signed =
    check.signed_through !== null
      ? `signed through #${check.signed_through}`
      : "not yet signed by a checkpoint";
  const tail =
    check.unsigned_tail && check.signed_through !== null
      ? ` (#${check.unsigned_tail.from}–#${check.unsigned_tail.to} await the next signed checkpoint)`
      : "";
  return `Chain intact: ${check.entries} entries, ${signed}${tail}`;
}
