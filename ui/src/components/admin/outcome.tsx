import type { ComponentChildren } from "preact";
import { useCallback, useState } from "preact/hooks";
import { messageOf } from "../../api.js";
import { ErrorNotice } from "../page.js";

/** A write and how it ended: busy while it runs, then the server's refusal or what was done. */
export interface Action {
  busy: boolean;
  error: string | null;
  done: ComponentChildren | null;
  /** Runs `work`; what it returns is said as the outcome. True when it succeeded. */
  run(work: () => Promise<ComponentChildren | undefined>): Promise<boolean>;
  reset(): void;
}

export function useAction(): Action {
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<string | null>(null);
  const [done, setDone] = useState<ComponentChildren | null>(null);
  const run = useCallback(async (work: () => Promise<ComponentChildren | undefined>) => {
    setBusy(true);
    setError(null);
    setDone(null);
    try {
      setDone((await work()) ?? null);
      return true;
    } catch (failure) {
      setError(messageOf(failure));
      return false;
    } finally {
      setBusy(false);
    }
  }, []);
  const reset = useCallback(() => {
    setError(null);
    setDone(null);
  }, []);
  return { busy, error, done, run, reset };
}

/** The outcome of an action: its error as an alert, its success in a live status region. */
export function Outcome(props: { action: Action }) {
  return (
    <>
      <ErrorNotice error={props.action.error} />
      <div role="status" class="outcome">
        {props.action.done ? <p class="notice notice-ok">{props.action.done}</p> : null}
      </div>
    </>
  );
}
