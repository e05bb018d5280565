import { randomBytes } from "node:crypto";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { verifyChain } from "../../src/core/audit-chain.js";
import { parsePublicKey } from "../../src/core/audit-checkpoint.js";
import { encodeBase32Upper } from "../support/encodings.js";
import { initAndUnseal, startTestServer, type TestServer } from "../support/server.js";

/** Checkpoints on a schedule, the public key for anyone, the auditor's narrow rights, and search. */

let t: TestServer;
let root: string;
let keys: string[];

beforeAll(async () => {
  t = await startTestServer({ auditCheckpoints: { everyEntries: 5, everySeconds: 1 } });
  ({ rootToken: root, keys } = await initAndUnseal(t));
  await t.call("POST", "/v1/totp/keys/aws-prod-root", {
    token: root,
    body: { key: encodeBase32Upper(randomBytes(20)) },
  });
});
afterAll(async () => {
  await t.close();
});

const entries = async () =>
  (await t.call("GET", "/v1/audit?limit=100000", { token: root })).json.data.entries;

describe("checkpoints", () => {
  it("are appended after every N entries and signed with the published key", async () => {
    for (let i = 0; i < 6; i++) await t.call("GET", "/v1/totp/code/aws-prod-root", { token: root });
    await new Promise((resolve) => setTimeout(resolve, 100));
    const all = await entries();
    const checkpoints = all.filter((e: { action: string }) => e.action === "audit.checkpoint");
    expect(checkpoints.length).toBeGreaterThanOrEqual(1);
    const publicKey = parsePublicKey((await t.call("GET", "/v1/audit/public-key")).json.data.public_key_pem);
    expect(verifyChain(all, publicKey)).toMatchObject({ firstProblem: null, signaturesChecked: true });
    expect(checkpoints[0]).toMatchObject({
      actor: "system",
      outcome: "allowed",
      details: { key_id: expect.stringMatching(/^[0-9a-f]{16}$/) },
    });
  });

  it("are appended within the configured seconds on a quiet server, so nothing stays unsigned", async () => {
    await t.call("GET", "/v1/totp/code/aws-prod-root", { token: root });
    // Looked at until the configured second (and a margin) has passed: the timer is real time.
    const deadline = Date.now() + 1600;
    let unsigned: number;
    do {
      await new Promise((resolve) => setTimeout(resolve, 100));
      const all = await entries();
      // The list read itself is the one entry after the last checkpoint.
      unsigned =
        all.length - 1 - all.map((e: { action: string }) => e.action).lastIndexOf("audit.checkpoint");
    } while (unsigned > 1 && Date.now() < deadline);
    expect(unsigned).toBeLessThanOrEqual(1);
  });
});

describe("the public key", () => {
  it("is readable with no token, also while sealed, in PEM and OpenSSH forms", async () => {
    const open = await t.call("GET", "/v1/audit/public-key");
    expect(open.status).toBe(200);
    expect(open.json.data.public_key_pem).toMatch(/^-----BEGIN PUBLIC KEY-----/);
    expect(open.json.data.public_key_openssh).toMatch(/^ssh-ed25519 AAAA\S+ breakglass-audit$/);
    await t.call("PUT", "/v1/sys/seal", { token: root });
    const sealed = await t.call("GET", "/v1/audit/public-key");
    expect(sealed.json.data).toEqual(open.json.data);
    for (const key of keys.slice(0, 2)) await t.call("PUT", "/v1/sys/unseal", { body: { key } });
  });

  it("is answered with a clear 400 before init", async () => {
    const fresh = await startTestServer();
    const response = await fresh.call("GET", "/v1/audit/public-key");
    await fresh.close();
    expect(response.status).toBe(400);
    expect(response.json.errors).toEqual(["Vault is not initialized"]);
  });
});

describe("an auditor", () => {
  it("can list, export and read the public key, and nothing else", async () => {
    const auditor = (
      await t.call("POST", "/v1/auth/token/create", { token: root, body: { policies: ["auditor"] } })
    ).json.auth.client_token;
    expect((await t.call("GET", "/v1/audit?limit=5", { token: auditor })).status).toBe(200);
    expect((await t.call("GET", "/v1/audit/export", { token: auditor })).status).toBe(200);
    expect((await t.call("GET", "/v1/audit/public-key", { token: auditor })).status).toBe(200);
    for (const [method, path] of [
      ["GET", "/v1/totp/code/aws-prod-root"],
      ["GET", "/v1/totp/keys?list=true"],
      ["GET", "/v1/totp/keys/aws-prod-root"],
      ["POST", "/v1/auth/token/create"],
      ["PUT", "/v1/sys/seal"],
    ] as const)
      expect(
        (await t.call(method, path, { token: auditor, body: method === "GET" ? undefined : {} })).status,
        `${method} ${path}`,
      ).toBe(403);
  });
});

describe("search", () => {
  it("filters by outcome and by text in the reason (literally, any case), and pages with next_after", async () => {
    await t.call("GET", "/v1/totp/code/aws-prod-root?reason=INC-77%25%20Billing%20LOCKOUT", { token: root });
    await t.call("GET", "/v1/totp/code/nope", { token: root });
    const byText = (await t.call("GET", "/v1/audit?q=billing%20lockout", { token: root })).json.data.entries;
    expect(byText.map((e: { reason: string }) => e.reason)).toEqual(["INC-77% Billing LOCKOUT"]);
    expect((await t.call("GET", "/v1/audit?q=77%25", { token: root })).json.data.entries).toHaveLength(1);
    expect((await t.call("GET", "/v1/audit?q=7_", { token: root })).json.data.entries).toHaveLength(0);
    const failed = (await t.call("GET", "/v1/audit?outcome=failed", { token: root })).json.data.entries;
    expect(failed.length).toBeGreaterThanOrEqual(1);
    expect(failed.every((e: { outcome: string }) => e.outcome === "failed")).toBe(true);

    const seen: number[] = [];
    let after = 0;
    for (let page = 0; page < 100; page++) {
      const data = (
        await t.call("GET", `/v1/audit?limit=7&after=${after}&action=totp.code.read`, { token: root })
      ).json.data;
      seen.push(...data.entries.map((e: { seq: number }) => e.seq));
      if (data.next_after === null) break;
      after = data.next_after;
    }
    const all = (await entries())
      .filter((e: { action: string }) => e.action === "totp.code.read")
      .map((e: { seq: number }) => e.seq);
    expect(seen).toEqual(all);
  });
});
