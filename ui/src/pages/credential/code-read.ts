import { call, errorCodeOf, messageOf } from "../../api.js";
import { passkeyProblem, stepUpAssertion, stepUpHeader } from "../../passkeys.js";

/** `GET /v1/totp/code/:name`. */
interface CodeAnswer {
  code: string;
  next_code?: string;
  period: number;
  expires_at: number;
  server_time: number;
}

/** The code on screen: only ever in the page's state. */
export interface ShownCode {
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
export interface ReadRequest {
  reason: string;
  enroll: boolean;
  approvalId: string | null;
  /** The rule asks for a passkey touch at each read (step_up). */
  stepUp: boolean;
  since: number;
}

/** One read (audited by the server), timed to learn how far this device's clock is from the server's. */
export async function fetchCode(name: string, request: ReadRequest): Promise<ShownCode> {
  const query = new URLSearchParams();
  if (request.reason) query.set("reason", request.reason);
  if (request.enroll) query.set("enroll", "true");
  if (request.approvalId) query.set("approval", request.approvalId);
  // A touch bound to this read, before the clock starts: the prompt may take a while.
  const headers = request.stepUp
    ? { "X-Breakglass-Step-Up": stepUpHeader(await stepUpAssertion("totp.code.read", name)) }
    : undefined;
  const started = Date.now();
  const answer = await call<{ data: CodeAnswer; warnings?: string[] }>(
    "GET",
    `/v1/totp/code/${encodeURIComponent(name)}?${query}`,
    undefined,
    { headers },
  );
  const ended = Date.now();
  const got = answer.body.data;
  return {
    warnings: answer.body.warnings ?? [],
    code: got.code,
    nextCode: got.next_code ?? null,
    period: got.period,
    expiresAt: got.expires_at,
    offsetMs: got.server_time - (started + ended) / 2,
  };
}

/** What a refused read teaches the page: the sentence to show, and a rule it had not known of. */
export interface Refusal {
  message: string;
  learned: "approval" | "reason" | "step-up" | null;
}

/** Read from the server's stable code, never from its wording. */
export function explainRefusal(failure: unknown): Refusal {
  switch (errorCodeOf(failure)) {
    case "APPROVAL_EXPIRED":
      return { learned: "approval", message: "The approval has expired: request a new one." };
    // None held, one still pending, several to choose from, not this reader's, too few votes under
    // the rule now: the server's sentence says which.
    case "APPROVAL_REQUIRED":
    case "APPROVAL_NOT_USABLE":
      return { learned: "approval", message: messageOf(failure) };
    case "REASON_REQUIRED":
      return {
        learned: "reason",
        message: "A reason is required to read this credential: it goes on the audit log.",
      };
    case "STEP_UP_REQUIRED":
      return {
        learned: "step-up",
        message:
          "This credential asks for a passkey touch at each read: show the code again and touch your passkey.",
      };
    default:
      return { learned: null, message: passkeyProblem(failure) ?? messageOf(failure) };
  }
}
