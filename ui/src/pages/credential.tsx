import { useEffect, useRef, useState } from "preact/hooks";
import { ApiError, call, data } from "../api.js";
import { ApprovalState, type ApprovalView, hasExpired } from "../components/approval-state.js";
import { CodeView, CopyButton } from "../components/code-view.js";
import { Countdown, useSecondsLeft } from "../components/countdown.js";
import { Field } from "../components/field.js";
import { ErrorNotice, Page } from "../components/page.js";
import { useLoad } from "../hooks.js";
import { href } from "../router.js";
import { approvalSummary, loadCredentials, readersSummary } from "./credentials.js";

/** `GET /v1/totp/code/:name`. */
interface CodeAnswer {
  code: string;
  next_code?: string;
  period: number;
  expires_at: number;
  server_time: number;
}

/** The code on screen: only ever in this component's state. */
interface ShownCode {
  code: string;
  nextCode: string | null;
  period: number;
  expiresAt: number;
  /** Server clock minus local clock, measured on the fetch that brought this code. */
  offsetMs: number;
  /** What the server says with the code (Vault's `warnings`): its clock is wrong, say. */
  warnings: string[];
}

/** What the reader asked for, repeated at each step boundary. */
interface ReadRequest {
  reason: string;
  enroll: boolean;
  approvalId: string | null;
  since: number;
}

/** Each code read is audited and may notify: reading on by itself stops after this long without a click. */
const AUTO_READ_MS = 10 * 60 * 1000;
const APPROVAL_POLL_MS = 2000;
/** A clock further off than this is worth telling the reader about. */
const CLOCK_NOTE_MS = 2000;

export function Credential(props: { params: Record<string, string> }) {
  const name = props.params.name ?? "";
  // A fresh page (no code, no timers) for every credential.
  return <CredentialPage key={name} name={name} />;
}

function messageOf(failure: unknown): string {
  return failure instanceof Error ? failure.message : String(failure);
}

/** The 3 a.m. path: a reason, "Show code", the code with its countdown, the next one at the boundary. */
function CredentialPage({ name }: { name: string }) {
  const directory = useLoad(loadCredentials);
  const info = directory.value?.find((entry) => entry.name === name) ?? null;

  const [reason, setReason] = useState("");
  const [shown, setShown] = useState<ShownCode | null>(null);
  const [showNext, setShowNext] = useState(
    () => new URLSearchParams(window.location.search).get("enroll") === "true",
  );
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<string | null>(null);
  /** Announced to screen readers only ("Code shown"); `stopped` says visibly why no code is shown any more. */
  const [said, setSaid] = useState("");
  const [stopped, setStopped] = useState<string | null>(null);
  const [approval, setApproval] = useState<ApprovalView | null>(null);
  // Learned from the server's refusals, for when the rule is not in the list (or changed since).
  const [reasonRequired, setReasonRequired] = useState(false);
  const [approvalRequired, setApprovalRequired] = useState(false);

  const needsReason = reasonRequired || info?.require_reason === true;
  const needsApproval = approvalRequired || (info?.approvals_required ?? 0) > 0;
  const usableApproval = approval?.status === "approved" && !hasExpired(approval) ? approval : null;
  const mayRead = !needsApproval || usableApproval !== null;

  const alive = useRef(true);
  const reading = useRef<ReadRequest | null>(null);
  const inFlight = useRef(false);
  const lastAutoRead = useRef(0);
  const readWhenApproved = useRef(false);
  const focusCopy = useRef(false);
  const reasonInput = useRef<HTMLInputElement>(null);
  const primaryButton = useRef<HTMLButtonElement>(null);
  const copyButton = useRef<HTMLButtonElement>(null);

  useEffect(
    () => () => {
      alive.current = false;
    },
    [],
  );

  const explain = (failure: unknown) => {
    const message = messageOf(failure);
    if (failure instanceof ApiError && failure.status === 403 && /approv/i.test(message)) {
      setApprovalRequired(true);
      setApproval((current) => (current?.status === "pending" ? current : null));
      if (/needs \d+ approval/.test(message))
        return setError(`Reading ${name} needs approval first: give the reason and request approval.`);
      if (/has expired/.test(message)) return setError("The approval has expired: request a new one.");
      return setError(message);
    }
    if (failure instanceof ApiError && failure.status === 400 && /reason is required/i.test(message)) {
      setReasonRequired(true);
      reasonInput.current?.focus();
      return setError("A reason is required to read this credential: it goes on the audit log.");
    }
    setError(message);
  };

  const read = async (request: ReadRequest, automatic: boolean) => {
    inFlight.current = true;
    setBusy(true);
    const query = new URLSearchParams();
    if (request.reason) query.set("reason", request.reason);
    if (request.enroll) query.set("enroll", "true");
    if (request.approvalId) query.set("approval", request.approvalId);
    const started = Date.now();
    try {
      const answer = await call<{ data: CodeAnswer; warnings?: string[] }>(
        "GET",
        `/v1/totp/code/${encodeURIComponent(name)}?${query}`,
      );
      const ended = Date.now();
      if (!alive.current) return;
      const got = answer.body.data;
      setShown({
        warnings: answer.body.warnings ?? [],
        code: got.code,
        nextCode: got.next_code ?? null,
        period: got.period,
        expiresAt: got.expires_at,
        offsetMs: got.server_time - (started + ended) / 2,
      });
      setError(null);
      setSaid(automatic ? "Next code shown" : "Code shown");
      if (!automatic) focusCopy.current = true;
    } catch (failure) {
      if (!alive.current) return;
      setShown(null);
      reading.current = null;
      explain(failure);
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
      since: Date.now(),
    };
    void read(reading.current, false);
  };

  const requestApproval = async () => {
    const why = reason.trim();
    if (!why) {
      setError("Give a reason first: the approvers see it.");
      reasonInput.current?.focus();
      return;
    }
    setBusy(true);
    try {
      const view = await data<ApprovalView>("POST", "/v1/approvals", { key: name, reason: why });
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
    if (document.hidden)
      return stop("The code expired while this tab was in the background. Show it again when you need it.");
    if (Date.now() - reading.current.since > AUTO_READ_MS)
      return stop(
        "Codes stopped after 10 minutes: each one is a read on the audit log. Show the code again if you still need it.",
      );
    lastAutoRead.current = Date.now();
    void read(reading.current, true);
  });

  useEffect(() => {
    if (focusCopy.current && copyButton.current) {
      focusCopy.current = false;
      copyButton.current.focus();
    }
  });

  // Someone asking for approval is told within 2 s, and sees the code as soon as it is approved.
  const pendingId = approval?.status === "pending" ? approval.id : null;
  useEffect(() => {
    if (!pendingId) return;
    let stopped = false;
    let timer: ReturnType<typeof setTimeout>;
    const poll = async () => {
      try {
        const view = await data<ApprovalView>("GET", `/v1/approvals/${encodeURIComponent(pendingId)}`);
        if (!stopped) setApproval(view);
      } catch (failure) {
        if (!stopped) setError(messageOf(failure));
      } finally {
        if (!stopped) timer = setTimeout(poll, APPROVAL_POLL_MS);
      }
    };
    timer = setTimeout(poll, APPROVAL_POLL_MS);
    return () => {
      stopped = true;
      clearTimeout(timer);
    };
  }, [pendingId]);

  useEffect(() => {
    if (!approval || approval.status === "pending" || !readWhenApproved.current) return;
    readWhenApproved.current = false;
    if (approval.status !== "approved") return;
    reading.current = {
      reason: approval.reason,
      enroll: showNext,
      approvalId: approval.id,
      since: Date.now(),
    };
    void read(reading.current, false);
  }, [approval]);

  // A request made earlier (before a reload, or from the CLI) is picked up rather than asked again.
  useEffect(() => {
    if (!needsApproval) return;
    let current = true;
    data<{ approvals: ApprovalView[] }>("GET", "/v1/approvals?mine=true").then(
      ({ approvals }) => {
        if (!current) return;
        const latest = approvals
          .filter(
            (a) => a.key === name && (a.status === "pending" || (a.status === "approved" && !hasExpired(a))),
          )
          .sort((a, b) => b.created_at.localeCompare(a.created_at))[0];
        if (!latest) return;
        if (latest.status === "pending") readWhenApproved.current = true;
        setApproval((known) => known ?? latest);
        setReason((typed) => typed || latest.reason);
      },
      () => undefined, // only a convenience: the page works without it
    );
    return () => {
      current = false;
    };
  }, [needsApproval]);

  // The first thing to do: give the reason when one is required, else press the button.
  const focused = useRef(false);
  useEffect(() => {
    if (focused.current || directory.loading) return;
    focused.current = true;
    (needsReason ? reasonInput.current : primaryButton.current)?.focus();
  }, [directory.loading]);

  const clockNote =
    shown && Math.abs(shown.offsetMs) > CLOCK_NOTE_MS
      ? `This device's clock is ${Math.round(Math.abs(shown.offsetMs) / 1000)} s ${shown.offsetMs > 0 ? "behind" : "ahead of"} the server's: the countdown follows the server.`
      : null;
  const waiting = approval?.status === "pending";

  return (
    <Page title={name}>
      <p class="back">
        <a {...href("/")}>← Back to the list</a>
      </p>
      {info ? (
        <dl class="facts">
          {info.issuer ? (
            <>
              <dt>Issuer</dt>
              <dd>{info.issuer}</dd>
            </>
          ) : null}
          {info.account_name ? (
            <>
              <dt>Account</dt>
              <dd>{info.account_name}</dd>
            </>
          ) : null}
          <dt>Who may read</dt>
          <dd>{readersSummary(info)}</dd>
          <dt>Approval</dt>
          <dd>{approvalSummary(info)}</dd>
        </dl>
      ) : null}

      <form
        class="read-form"
        onSubmit={(event) => {
          event.preventDefault();
          if (busy || waiting) return;
          if (mayRead) showCode(false);
          else void requestApproval();
        }}
      >
        <Field
          label="Reason"
          hint={
            needsReason
              ? "Required: why you need the code (an incident or ticket). It goes on the audit log."
              : "Optional: why you need the code. It goes on the audit log."
          }
          value={reason}
          onValue={setReason}
          inputRef={reasonInput}
          required={needsReason}
          maxLength={500}
          autocomplete="off"
        />
        <div class="actions">
          {mayRead ? (
            <>
              <button type="submit" class="button button-big" ref={primaryButton} disabled={busy}>
                Show code
              </button>
              {showNext && shown?.nextCode ? (
                <button
                  type="button"
                  class="button secondary"
                  onClick={() => {
                    setShowNext(false);
                    if (reading.current) reading.current.enroll = false;
                  }}
                >
                  Show one code
                </button>
              ) : (
                <button type="button" class="button secondary" disabled={busy} onClick={() => showCode(true)}>
                  Enrolment: show two codes
                </button>
              )}
            </>
          ) : waiting ? null : (
            <button type="submit" class="button button-big" ref={primaryButton} disabled={busy}>
              Request approval
            </button>
          )}
        </div>
      </form>

      {approval ? <ApprovalState approval={approval} /> : null}
      <ErrorNotice error={error} />

      {shown ? (
        <section class="code-panel" aria-label="Code">
          <div class="code-row">
            <CodeView code={shown.code} label="Current code" testId="totp-code" />
            {secondsLeft !== null ? (
              <Countdown secondsLeft={secondsLeft} period={shown.period} expiresAt={shown.expiresAt} />
            ) : null}
          </div>
          <div class="actions">
            <CopyButton text={shown.code} buttonRef={copyButton} />
          </div>
          {showNext && shown.nextCode ? (
            <>
              <CodeView
                code={shown.nextCode}
                label="Next code (for enrolment)"
                testId="next-code"
                secondary
              />
              <div class="actions">
                <CopyButton text={shown.nextCode} label="Copy next code" />
              </div>
            </>
          ) : null}
          {busy && secondsLeft !== null && secondsLeft <= 0 ? (
            <p class="muted">Fetching the next code…</p>
          ) : null}
          {clockNote ? <p class="hint">{clockNote}</p> : null}
          {shown.warnings.map((warning) => (
            <p class="notice notice-warning" role="alert" key={warning}>
              The server warns: {warning}
            </p>
          ))}
        </section>
      ) : null}
      {stopped ? <p class="notice">{stopped}</p> : null}
      <p class="visually-hidden" role="status">
        {said}
      </p>
    </Page>
  );
}
