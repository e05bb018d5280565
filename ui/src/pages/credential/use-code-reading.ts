import type { RefObject } from "preact";
import { useEffect, useRef, useState } from "preact/hooks";
import { messageOf } from "../../api.js";
import { type ApprovalView, hasExpired } from "../../components/approval-state.js";
import { useSecondsLeft } from "../../components/countdown.js";
import { useAlive } from "../../hooks.js";
import type { CredentialEntry } from "../credentials.js";
import { requestApproval, useEarlierRequest, usePolledApproval } from "./approval-requests.js";
import { explainRefusal, fetchCode, type ReadRequest, type ShownCode } from "./code-read.js";

/** Each code read is audited and may notify: reading on by itself stops after this long without a click. */
const AUTO_READ_MS = 10 * 60 * 1000;

/** Everything the credential page shows and does, for its views. */
export interface CodeReading {
  reason: string;
  setReason(reason: string): void;
  needsReason: boolean;
  /** The code may be read now (no approval needed, or one approved and unexpired): else approval is asked. */
  mayRead: boolean;
  /** A request for approval is pending: the page waits for it. */
  waiting: boolean;
  approval: ApprovalView | null;
  shown: ShownCode | null;
  secondsLeft: number | null;
  /** Two codes at once, for enrolling an authenticator. */
  showNext: boolean;
  busy: boolean;
  error: string | null;
  /** Announced to screen readers only ("Code shown"). */
  said: string;
  /** Says visibly why no code is shown any more. */
  stopped: string | null;
  /** The form's Enter: show the code, or request approval when it is needed first. */
  submit(): void;
  showCode(enroll: boolean): void;
  showOneCode(): void;
  /** Focus goes to the reason when it is missing, to the primary button on arrival, to Copy once a code shows. */
  reasonInput: RefObject<HTMLInputElement>;
  primaryButton: RefObject<HTMLButtonElement>;
  copyButton: RefObject<HTMLButtonElement>;
}

/**
 * The state machine of reading one credential's code: a reason, approval when the rule wants it
 * (asked, polled, picked up from an earlier request), the code, and the next one at each step
 * boundary until the reader leaves, hides the tab or 10 minutes pass. `rule` is the credential's
 * entry in the list, once `ready`; what it does not say is learned from the server's refusals.
 */
export function useCodeReading(name: string, rule: CredentialEntry | null, ready: boolean): CodeReading {
  const [reason, setReason] = useState("");
  const [shown, setShown] = useState<ShownCode | null>(null);
  const [showNext, setShowNext] = useState(
    () => new URLSearchParams(window.location.search).get("enroll") === "true",
  );
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<string | null>(null);
  const [said, setSaid] = useState("");
  const [stopped, setStopped] = useState<string | null>(null);
  const [approval, setApproval] = useState<ApprovalView | null>(null);
  // Learned from the server's refusals, for when the rule is not in the list (or changed since).
  const [reasonRequired, setReasonRequired] = useState(false);
  const [approvalRequired, setApprovalRequired] = useState(false);
  const [stepUpRequired, setStepUpRequired] = useState(false);

  const needsReason = reasonRequired || rule?.require_reason === true;
  const needsStepUp = stepUpRequired || rule?.step_up === true;
  const needsApproval = approvalRequired || (rule?.approvals_required ?? 0) > 0;
  const usableApproval = approval?.status === "approved" && !hasExpired(approval) ? approval : null;
  const mayRead = !needsApproval || usableApproval !== null;
  const waiting = approval?.status === "pending";

  const alive = useAlive();
  const reading = useRef<ReadRequest | null>(null);
  const inFlight = useRef(false);
  const lastAutoRead = useRef(0);
  const readWhenApproved = useRef(false);
  const focusCopy = useRef(false);
  const reasonInput = useRef<HTMLInputElement>(null);
  const primaryButton = useRef<HTMLButtonElement>(null);
  const copyButton = useRef<HTMLButtonElement>(null);

  const refused = (failure: unknown) => {
    const { message, learned } = explainRefusal(failure);
    if (learned === "approval") {
      setApprovalRequired(true);
      setApproval((current) => (current?.status === "pending" ? current : null));
    } else if (learned === "step-up") {
      setStepUpRequired(true);
    } else if (learned === "reason") {
      setReasonRequired(true);
      reasonInput.current?.focus();
    }
    setError(message);
  };

  const read = async (request: ReadRequest, automatic: boolean) => {
    inFlight.current = true;
    setBusy(true);
    try {
      const code = await fetchCode(name, request);
      if (!alive.current) return;
      setShown(code);
      setError(null);
      setSaid(automatic ? "Next code shown" : "Code shown");
      if (!automatic) focusCopy.current = true;
    } catch (failure) {
      if (!alive.current) return;
      setShown(null);
      reading.current = null;
      refused(failure);
    } finally {
      inFlight.current = false;
      if (alive.current) setBusy(false);
    }
  };

  const showCode = (enroll: boolean) => {
    const why = reason.trim();
    if (needsReason && !why) {
      setError("Give a reason first: it goes on the audit log with the read.");
      reasonInput.current?.focus();
      return;
    }
    if (enroll) setShowNext(true);
    setStopped(null);
    reading.current = {
      reason: why,
      enroll: enroll || showNext,
      approvalId: usableApproval?.id ?? null,
      stepUp: needsStepUp,
      since: Date.now(),
    };
    void read(reading.current, false);
  };

  const askApproval = async () => {
    const why = reason.trim();
    if (!why) {
      setError("Give a reason first: the approvers see it.");
      reasonInput.current?.focus();
      return;
    }
    setBusy(true);
    try {
      const view = await requestApproval(name, why);
      if (!alive.current) return;
      readWhenApproved.current = true;
      setApproval(view);
      setError(null);
      setSaid("Approval requested");
    } catch (failure) {
      if (alive.current) setError(messageOf(failure));
    } finally {
      if (alive.current) setBusy(false);
    }
  };

  // At the step boundary, the next code (same reason, same approval) without a reload; the old one stays until it arrives.
  const secondsLeft = useSecondsLeft(shown?.expiresAt ?? null, shown?.offsetMs ?? 0);
  useEffect(() => {
    if (shown === null || secondsLeft === null || secondsLeft > 0) return;
    if (inFlight.current || !reading.current || Date.now() - lastAutoRead.current < 1000) return;
    const stop = (why: string) => {
      setShown(null);
      reading.current = null;
      setStopped(why);
    };
    // Each read under step_up wants its own touch: no prompt every 30 s unasked.
    if (reading.current.stepUp)
      return stop(
        "This credential asks for a passkey touch at each read: show the code again when you need the next one.",
      );
    if (document.hidden)
      return stop("The code expired while this tab was in the background. Show it again when you need it.");
    if (Date.now() - reading.current.since > AUTO_READ_MS)
      return stop(
        "Codes stopped after 10 minutes: each one is a read on the audit log. Show the code again if you still need it.",
      );
    lastAutoRead.current = Date.now();
    void read(reading.current, true);
  });

  // Enter on "Show code", then Enter again copies it.
  useEffect(() => {
    if (focusCopy.current && copyButton.current) {
      focusCopy.current = false;
      copyButton.current.focus();
    }
  });

  usePolledApproval(approval?.status === "pending" ? approval.id : null, setApproval, setError);

  useEffect(() => {
    if (!approval || approval.status === "pending" || !readWhenApproved.current) return;
    readWhenApproved.current = false;
    if (approval.status !== "approved") return;
    reading.current = {
      reason: approval.reason,
      enroll: showNext,
      approvalId: approval.id,
      stepUp: needsStepUp,
      since: Date.now(),
    };
    void read(reading.current, false);
  }, [approval]);

  useEarlierRequest(name, needsApproval, (latest) => {
    if (latest.status === "pending") readWhenApproved.current = true;
    setApproval((known) => known ?? latest);
    setReason((typed) => typed || latest.reason);
  });

  // The first thing to do: give the reason when one is required, else press the button.
  const focused = useRef(false);
  useEffect(() => {
    if (focused.current || !ready) return;
    focused.current = true;
    (needsReason ? reasonInput.current : primaryButton.current)?.focus();
  }, [ready]);

  return {
    reason,
    setReason,
    needsReason,
    mayRead,
    waiting,
    approval,
    shown,
    secondsLeft,
    showNext,
    busy,
    error,
    said,
    stopped,
    submit: () => {
      if (busy || waiting) return;
      if (mayRead) showCode(false);
      else void askApproval();
    },
    showCode,
    showOneCode: () => {
      setShowNext(false);
      if (reading.current) reading.current.enroll = false;
    },
    reasonInput,
    primaryButton,
    copyButton,
  };
}
