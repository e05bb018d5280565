import { randomBytes } from "node:crypto";
import { existsSync, readFileSync } from "node:fs";
import { expect } from "vitest";
import { encodeBase32Upper } from "./encodings.js";
import { type Received, sleep } from "./receivers.js";
import { callApi } from "./server.js";

/**
 * For the delivery tests (issue 19) on `breakglass server` processes: init and unseal through the
 * API, code reads, and what each kind of receiver got, by audit seq.
 */

export const SMTP_FROM = "breakglass@example.com";
export const TEAM = "security-team@example.com";

/** Initialises through node `url` (k of n); returns the shares and the root token. Unseals nothing. */
export async function initVault(
  url: string,
  shares: number,
  threshold: number,
): Promise<{ keys: string[]; root: string }> {
  const init = await callApi(url, "PUT", "/v1/sys/init", {
    body: { secret_shares: shares, secret_threshold: threshold },
  });
  expect(init.status, init.text).toBe(200);
  return { keys: init.json.keys, root: init.json.root_token };
}

/** Gives `keys` to node `url` until it is unsealed. */
export async function unsealNode(url: string, keys: string[]): Promise<void> {
  for (const key of keys) {
    const answer = await callApi(url, "PUT", "/v1/sys/unseal", { body: { key } });
    expect(answer.status, answer.text).toBe(200);
    if (answer.json.sealed === false) return;
  }
  throw new Error(`node ${url} is still sealed after ${keys.length} shares`);
}

/** Adds a TOTP key with a random seed. */
export async function addTotpKey(url: string, root: string, name: string): Promise<void> {
  const added = await callApi(url, "POST", `/v1/totp/keys/${name}`, {
    token: root,
    body: { key: encodeBase32Upper(randomBytes(20)) },
  });
  expect(added.status, added.text).toBeLessThan(300);
}

/** One code read; returns its request id (the audit entry's, and the event's). */
export async function readCode(url: string, token: string, key: string, reason: string): Promise<string> {
  const answer = await callApi(url, "GET", `/v1/totp/code/${key}?reason=${encodeURIComponent(reason)}`, {
    token,
  });
  expect(answer.status, answer.text).toBe(200);
  return answer.headers.get("x-request-id") as string;
}

/** The audit seq of each code read named by its request id, read from the chain through `url`. */
export async function seqsOfCodeReads(
  url: string,
  token: string,
  requestIds: string[],
): Promise<Map<string, number>> {
  const wanted = new Set(requestIds);
  const seqs = new Map<string, number>();
  let after = 0;
  for (;;) {
    const page = await callApi(url, "GET", `/v1/audit?action=totp.code.read&after=${after}&limit=1000`, {
      token,
    });
    expect(page.status, page.text).toBe(200);
    const entries = page.json.data.entries as { seq: number; request_id: string | null }[];
    if (entries.length === 0) break;
    for (const entry of entries)
      if (entry.request_id !== null && wanted.has(entry.request_id)) seqs.set(entry.request_id, entry.seq);
    after = Math.max(after, ...entries.map((entry) => entry.seq));
  }
  expect(
    [...wanted].filter((id) => !seqs.has(id)),
    "code reads not on the chain",
  ).toEqual([]);
  return seqs;
}

/** A notification webhook's POST, parsed. */
export interface WebhookEvent {
  seq: number;
  type: string;
  requestId: string | null;
  text: string;
  /** The `X-Breakglass-Event-Id` header, which must be the seq. */
  eventIdHeader: string | undefined;
  answered: boolean;
}

export function webhookEvents(requests: Received[]): WebhookEvent[] {
  return requests.map((request) => {
    const body = JSON.parse(request.body);
    return {
      seq: body.event?.seq,
      type: body.event?.type,
      requestId: body.event?.request_id ?? null,
      text: body.text,
      eventIdHeader: request.headers["x-breakglass-event-id"] as string | undefined,
      answered: request.answered,
    };
  });
}

/** The seqs of the entries a file sink has written so far (none before the file exists). */
export function fileSinkSeqs(path: string): number[] {
  if (!existsSync(path)) return [];
  return readFileSync(path, "utf8")
    .split("\n")
    .filter((line) => line.trim() !== "")
    .map((line) => (JSON.parse(line) as { seq: number }).seq);
}

/** The seqs of the entries a sink webhook has received, from each POST's `{"entries": […]}`. */
export function sinkWebhookSeqs(requests: Received[], onlyAnswered = false): number[] {
  return requests
    .filter((request) => !onlyAnswered || request.answered)
    .flatMap((request) => (JSON.parse(request.body).entries as { seq: number }[]).map((entry) => entry.seq));
}

/** `expected` less what is in `got`. */
export function missingFrom(expected: Iterable<number>, got: Iterable<number>): number[] {
  const have = new Set(got);
  return [...expected].filter((seq) => !have.has(seq));
}

/** Calls `read` until `done` holds for its answer, or `timeoutMs` has passed; returns the last answer. */
export async function pollUntil<T>(
  read: () => Promise<T>,
  done: (value: T) => boolean,
  timeoutMs = 30_000,
): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  let value = await read();
  while (!done(value) && Date.now() < deadline) {
    await sleep(50);
    value = await read();
  }
  return value;
}
