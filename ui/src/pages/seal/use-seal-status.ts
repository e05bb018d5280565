import { useEffect, useState } from "preact/hooks";
import { call, messageOf } from "../../api.js";
import type { InitResult } from "./init-form.js";

/** `GET /v1/sys/seal-status` (Vault's fields, and breakglass's bus-factor warning). */
export interface SealStatus {
  initialized: boolean;
  sealed: boolean;
  t: number;
  n: number;
  progress: number;
  custody_warning?: string | null;
}

/** Other custodians may be giving their shares from their own browsers: their progress shows here too. */
const STATUS_POLL_MS = 3000;

export interface SealState {
  status: SealStatus | null;
  /** Why the status could not be read. */
  error: string | null;
  /** The keys just made at initialisation, until the custodians have them. */
  issued: InitResult | null;
  setStatus(status: SealStatus): void;
  initialised(result: InitResult): void;
  handedOut(): void;
}

/** The seal status, read on arrival and every 3 s once initialised; `onUnsealed` when it opens. */
export function useSealStatus(onUnsealed: () => void): SealState {
  const [status, setStatus] = useState<SealStatus | null>(null);
  const [error, setError] = useState<string | null>(null);
  const [issued, setIssued] = useState<InitResult | null>(null);

  const refresh = async () => {
    try {
      const answer = await call<SealStatus>("GET", "/v1/sys/seal-status");
      setStatus(answer.body);
      setError(null);
      if (answer.body.initialized && !answer.body.sealed) onUnsealed();
    } catch (failure) {
      setError(messageOf(failure));
    }
  };

  const polling = status?.initialized === true && issued === null;
  useEffect(() => {
    if (status === null) void refresh();
    if (!polling) return;
    const timer = setInterval(() => void refresh(), STATUS_POLL_MS);
    return () => clearInterval(timer);
  }, [polling]);

  return {
    status,
    error,
    issued,
    setStatus,
    initialised: (result) => {
      setIssued(result);
      if (status) setStatus({ ...status, initialized: true });
    },
    handedOut: () => {
      setIssued(null);
      void refresh();
    },
  };
}
