import { randomBytes, randomInt } from "node:crypto";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { AuditEntry } from "../../src/core/audit-chain.js";
import { type Cli, initialisedServer, type ServerProcess, startServerProcess } from "../e2e/cli-harness.js";
import { encodeBase32Upper } from "../support/encodings.js";
import { seededRandom, wholeNumberFromEnv } from "../support/seeded.js";
import { type ApiResponse, callApi } from "../support/server.js";
import { TEST_ENGINE } from "../support/storage.js";
import { oathtoolCode, tempDir, writeFile } from "../support/tools.js";

/**
 * "Audit before release", tested the hard way: the real server, under concurrent code readers, is
 * killed with SIGKILL at a random moment, round after round, and restarted on the same storage.
 * Every code a client received must be on the chain afterwards, and the chain must verify.
 * BREAKGLASS_CRASH_ROUNDS sets the number of kills; BREAKGLASS_CRASH_SEED replays a run's kill delays.
 */

const ROUNDS = wholeNumberFromEnv("BREAKGLASS_CRASH_ROUNDS", 20);
const SEED = wholeNumberFromEnv("BREAKGLASS_CRASH_SEED", randomInt(2 ** 31));
const READERS = 16;
/** The kill comes this long at most after the round's first code: the load is running by then. */
const MAX_KILL_DELAY_MS = 500;
const KEY = "aws-prod-root";

interface ReceivedCode {
  round: number;
  requestId: string;
  code: string;
  step: number;
}

interface RoundOutcome {
  codes: ReceivedCode[];
  /** Requests in flight when the server died: they failed with a connection error. */
  interrupted: number;
}

describe(`a server killed with SIGKILL during concurrent code reads (${TEST_ENGINE}, ${ROUNDS} rounds, seed ${SEED})`, () => {
  const seed = randomBytes(20);
  const work = tempDir("breakglass-crash-");
  const rounds: RoundOutcome[] = [];
  let server: ServerProcess;
  let cli: Cli;
  let shares: string[];
  let readerToken: string;
  let auditorToken: string;
  let publicKeyFile: string;
  let exportedEntries: AuditEntry[] = [];
  const receivedCodes = () => rounds.flatMap((round) => round.codes);

  beforeAll(async () => {
    console.log(`crash test seed ${SEED}: replay with BREAKGLASS_CRASH_SEED=${SEED}`);
    ({ server, cli, shares } = await initialisedServer({ shares: 1, threshold: 1 }));
    const added = await cli.run(["totp", "add", KEY, "--secret", "-"], { input: encodeBase32Upper(seed) });
    expect(added.code).toBe(0);
    readerToken = await createToken(["totp-reader"]);
    auditorToken = await createToken(["auditor"]);
    publicKeyFile = writeFile(work, "audit.pem", (await cli.run(["audit", "public-key"])).stdout);
  });
  afterAll(async () => {
    await server?.stop();
  });

  async function createToken(policies: string[]): Promise<string> {
    const created = await callApi(server.url, "POST", "/v1/auth/token/create", {
      token: cli.env.BREAKGLASS_TOKEN,
      body: { policies },
    });
    expect(created.status).toBe(200);
    return created.json.auth.client_token;
  }

  /** Runs READERS loops of code reads; SIGKILL comes `killDelayMs` after the first code arrives. */
  async function readUntilKilled(round: number, killDelayMs: number): Promise<RoundOutcome> {
    const outcome: RoundOutcome = { codes: [], interrupted: 0 };
    let killing = false;
    let firstCodeArrived = () => {};
    const firstCode = new Promise<void>((resolve) => (firstCodeArrived = resolve));
    const reader = async () => {
      while (!killing) {
        let response: ApiResponse;
        try {
          response = await callApi(server.url, "GET", `/v1/totp/code/${KEY}?reason=crash-round-${round}`, {
            token: readerToken,
          });
        } catch (error) {
          // fetch fails with a TypeError when the connection dies; before the kill that is a failure.
          if (!killing || !(error instanceof TypeError)) throw error;
          outcome.interrupted += 1;
          continue;
        }
        expect(response.status, response.text).toBe(200);
        const { code, step } = response.json.data;
        outcome.codes.push({ round, requestId: response.headers.get("x-request-id") as string, code, step });
        firstCodeArrived();
      }
    };
    const load = Promise.all(Array.from({ length: READERS }, reader));
    try {
      await Promise.race([firstCode, load]);
      await new Promise((wait) => setTimeout(wait, killDelayMs));
    } finally {
      killing = true;
      await server.kill();
    }
    await load;
    return outcome;
  }

  it(
    "after every kill the server restarts, unseals and its chain is intact (an unsigned tail allowed)",
    async () => {
      const random = seededRandom(SEED);
      for (let round = 1; round <= ROUNDS; round++) {
        rounds.push(await readUntilKilled(round, Math.floor(random() * MAX_KILL_DELAY_MS)));
        server = await startServerProcess(server.storage);
        cli.env.BREAKGLASS_ADDR = server.url;
        // It comes back sealed; the API rather than the CLI unseals it, which saves a process per round.
        const unsealed = await callApi(server.url, "PUT", "/v1/sys/unseal", { body: { key: shares[0] } });
        expect(unsealed.json.sealed, unsealed.text).toBe(false);
        // A crash between checkpoints leaves its last entries unsigned until the next checkpoint.
        const verified = await callApi(server.url, "GET", "/v1/audit/verify", { token: auditorToken });
        expect(verified.json.data, `after round ${round} (seed ${SEED})`).toMatchObject({
          intact: true,
          problem: null,
        });
      }
    },
    ROUNDS * 15_000,
  );

  it("the kills were real: codes came in every round, and in most rounds requests in flight were cut", () => {
    expect(rounds).toHaveLength(ROUNDS);
    for (const [i, round] of rounds.entries())
      expect(round.codes.length, `codes in round ${i + 1}`).toBeGreaterThan(0);
    const cut = rounds.filter((round) => round.interrupted > 0).length;
    expect(cut, `rounds with interrupted requests (seed ${SEED})`).toBeGreaterThan(ROUNDS / 2);
  });

  it("the export after the last restart verifies offline with the CLI, signed to its end (exit 0)", async () => {
    const exported = await cli.run(["audit", "export"], { env: { BREAKGLASS_TOKEN: auditorToken } });
    expect(exported.code, exported.stderr).toBe(0);
    exportedEntries = exported.stdout
      .trimEnd()
      .split("\n")
      .map((line) => JSON.parse(line) as AuditEntry);
    const file = writeFile(work, "audit.jsonl", exported.stdout);
    // The export signs the head first, so the tails the crashes left unsigned are covered: exit 3 fails too.
    const verified = await cli.run(["audit", "verify", "--file", file, "--public-key", publicKeyFile]);
    expect(verified, `audit verify (seed ${SEED})`).toMatchObject({ code: 0, stderr: "" });
  });

  it("every code a client received has one allowed code-read entry in the export, with its request id and step", () => {
    const reads = exportedEntries.filter(
      (entry) =>
        entry.action === "totp.code.read" &&
        entry.outcome === "allowed" &&
        entry.target === `totp/keys/${KEY}`,
    );
    const readsByRequest = new Map<string | null, AuditEntry[]>();
    for (const entry of reads)
      readsByRequest.set(entry.request_id, [...(readsByRequest.get(entry.request_id) ?? []), entry]);
    const received = receivedCodes();
    // Exactly one entry per code: request ids are UUIDs, and a repeated entry would be a fault as well.
    const unaudited = received.filter((code) => {
      const matching = readsByRequest.get(code.requestId) ?? [];
      return matching.length !== 1 || matching[0]?.details.step !== code.step;
    });
    const interrupted = rounds.reduce((sum, round) => sum + round.interrupted, 0);
    console.log(
      `crash test (${TEST_ENGINE}, seed ${SEED}): ${ROUNDS} rounds, ${received.length} codes received, ` +
        `${received.length - unaudited.length} of them audited, ${interrupted} requests interrupted; ` +
        `${reads.length} code reads on the chain (a kill may cut the answer to a committed read)`,
    );
    expect(received.length).toBeGreaterThan(0);
    const inRounds = [...new Set(unaudited.map((code) => code.round))];
    expect(
      unaudited.length,
      `codes released but not audited, in rounds ${inRounds.join(", ")} (seed ${SEED}), e.g. ${JSON.stringify(unaudited.slice(0, 3))}`,
    ).toBe(0);
  });

  it("every code received is oathtool's code for its step", () => {
    const received = receivedCodes();
    const steps = new Set(received.map((code) => code.step));
    const oathtool = new Map(
      [...steps].map((step) => [
        step,
        oathtoolCode(seed.toString("hex"), {
          algorithm: "SHA1",
          digits: 6,
          period: 30,
          unixSeconds: step * 30,
        }),
      ]),
    );
    const wrong = received.filter((code) => code.code !== oathtool.get(code.step));
    expect(wrong).toEqual([]);
  });
});
