import { randomBytes } from "node:crypto";
import { expect } from "vitest";
import { verifyChain } from "../../src/core/audit-chain.js";
import { encodeBase32Upper } from "../support/encodings.js";
import { callApi, RELEASED_CODE } from "../support/server.js";
import type { TestStorage } from "../support/storage.js";
import { type ServerProcess, startServerProcess } from "./cli-harness.js";

/**
 * Two `breakglass server` processes on one PostgreSQL database, read from by several concurrent
 * readers each while a test breaks the database under them; then what must hold whatever broke:
 * both up and unsealed, every answer 200 or 503, every code released audited once, one chain.
 */

const CODE_PATH = "/v1/totp/code/aws-prod-root?reason=load";

export interface TwoNodes {
  nodes: [ServerProcess, ServerProcess];
  root: string;
  stop(): Promise<void>;
}

/**
 * Initialises one share on the first of `urls`, unseals every node with it and stores the
 * credential aws-prod-root; returns the root token.
 */
export async function unsealedWithOneCredential(urls: string[]): Promise<string> {
  const init = await callApi(urls[0] as string, "PUT", "/v1/sys/init", {
    body: { secret_shares: 1, secret_threshold: 1 },
  });
  const root = init.json.root_token as string;
  for (const url of urls) await callApi(url, "PUT", "/v1/sys/unseal", { body: { key: init.json.keys[0] } });
  await callApi(urls[0] as string, "POST", "/v1/totp/keys/aws-prod-root", {
    token: root,
    body: { key: encodeBase32Upper(randomBytes(20)) },
  });
  return root;
}

/** Both nodes started on `storage`, initialised on the first, each unsealed, with one credential. */
export async function startTwoUnsealedNodes(storage: TestStorage): Promise<TwoNodes> {
  const nodes: [ServerProcess, ServerProcess] = [
    await startServerProcess(storage),
    await startServerProcess(storage),
  ];
  const root = await unsealedWithOneCredential(nodes.map((node) => node.url));
  return { nodes, root, stop: async () => void (await Promise.all(nodes.map((node) => node.stop()))) };
}

interface Answer {
  node: string;
  startedAt: number;
  /** The HTTP status, or null when the node gave no answer at all (refused or reset). */
  status: number | null;
  requestId: string | null;
  text: string;
}

/** Readers asking both nodes for codes until stopped, every answer kept. */
export class CodeReadLoad {
  readonly answers: Answer[] = [];
  private stopping = false;
  private readonly readers: Promise<void>[];

  constructor(
    private readonly two: TwoNodes,
    readersPerNode: number,
  ) {
    this.readers = two.nodes.flatMap((node) =>
      Array.from({ length: readersPerNode }, () => this.readFrom(node)),
    );
  }

  private async readFrom(node: ServerProcess): Promise<void> {
    while (!this.stopping) {
      const startedAt = Date.now();
      let answer: Answer;
      try {
        const response = await callApi(node.url, "GET", CODE_PATH, { token: this.two.root });
        const requestId = response.headers.get("x-request-id");
        answer = { node: node.url, startedAt, status: response.status, requestId, text: response.text };
      } catch (error) {
        answer = { node: node.url, startedAt, status: null, requestId: null, text: String(error) };
      }
      this.answers.push(answer);
      // A refused reader waits a little, as a client would, rather than spin on the two cores.
      if (answer.status !== 200) await new Promise((resolve) => setTimeout(resolve, 50));
    }
  }

  /**
   * Milliseconds from `since` until every node has answered 200 to a read started after it.
   * Fails at once if a node exited, and after `withinMs`: the nodes must recover by themselves.
   */
  async recoveredAfter(since: number, withinMs = 30_000): Promise<number> {
    const recovered = () =>
      this.two.nodes.every((node) =>
        this.answers.some((a) => a.node === node.url && a.status === 200 && a.startedAt >= since),
      );
    while (!recovered()) {
      const exited = this.two.nodes.find((node) => !node.running());
      if (exited) throw new Error(`node ${exited.url} exited:\n${exited.log().slice(-1500)}`);
      if (Date.now() - since > withinMs)
        throw new Error(`the nodes did not serve codes again within ${withinMs / 1000} s`);
      await new Promise((resolve) => setTimeout(resolve, 25));
    }
    return Date.now() - since;
  }

  async stop(): Promise<void> {
    this.stopping = true;
    await Promise.all(this.readers);
  }

  count(status: number): number {
    return this.answers.filter((a) => a.status === status).length;
  }
}

/**
 * What must hold after the load, whatever the database went through: both processes running and
 * unsealed; every answer 200 or 503 (503 releasing no code); each code released (a 200) has
 * exactly one audit entry, matched by request id; the chain verifies.
 */
export async function expectEveryCodeAuditedOnOneChain(two: TwoNodes, load: CodeReadLoad): Promise<void> {
  for (const node of two.nodes) {
    expect(node.running(), `node ${node.url} exited:\n${node.log().slice(-2000)}`).toBe(true);
    expect(node.log()).not.toContain("internal error");
    const sealStatus = await callApi(node.url, "GET", "/v1/sys/seal-status");
    expect({ status: sealStatus.status, sealed: sealStatus.json?.sealed }).toEqual({
      status: 200,
      sealed: false,
    });
  }
  const unexpected = load.answers.filter((a) => a.status !== 200 && a.status !== 503);
  expect(unexpected.slice(0, 5)).toEqual([]);
  const refused = load.answers.filter((a) => a.status === 503);
  expect(refused.filter((a) => RELEASED_CODE.test(a.text)).slice(0, 5)).toEqual([]);

  const exported = await callApi(two.nodes[1].url, "GET", "/v1/audit/export", { token: two.root });
  expect(exported.status).toBe(200);
  const entries = exported.text
    .trim()
    .split("\n")
    .map((line) => JSON.parse(line));
  expect(verifyChain(entries)).toMatchObject({ count: entries.length, firstProblem: null });
  const verified = await callApi(two.nodes[0].url, "GET", "/v1/audit/verify", { token: two.root });
  expect(verified.json?.data).toMatchObject({ intact: true, problem: null });

  const reads = new Map<string, number>();
  for (const entry of entries)
    if (entry.action === "totp.code.read" && entry.outcome === "allowed")
      reads.set(entry.request_id, (reads.get(entry.request_id) ?? 0) + 1);
  const released = load.answers.filter((a) => a.status === 200);
  const unmatched = released.filter((a) => reads.get(a.requestId as string) !== 1);
  expect(unmatched.slice(0, 5)).toEqual([]);
}
