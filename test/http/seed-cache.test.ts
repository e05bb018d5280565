import { randomBytes } from "node:crypto";
import { afterAll, beforeAll, describe, expect, it, vi } from "vitest";
import { encodeBase32Upper } from "../support/encodings.js";
import { initAndUnseal, startTestServer, type TestServer } from "../support/server.js";
import { skipOutsidePostgresPass } from "../support/storage.js";
import { oathtoolCode } from "../support/tools.js";

// Code reads keep the seeds they opened (services/seed-cache.ts): these are the promises that makes.

let t: TestServer;
let keys: string[];
let root: string;

beforeAll(async () => {
  t = await startTestServer();
  ({ keys, rootToken: root } = await initAndUnseal(t));
});
afterAll(async () => {
  await t.close();
});

const addKey = (name: string, seed: Buffer, node = t) =>
  node.call("POST", `/v1/totp/keys/${name}`, { token: root, body: { key: encodeBase32Upper(seed) } });
const readCode = (name: string, node = t) =>
  node.call("GET", `/v1/totp/code/${name}?reason=cache`, { token: root });
const oathtoolAt = (seed: Buffer, validFrom: number) =>
  oathtoolCode(seed.toString("hex"), { algorithm: "SHA1", digits: 6, period: 30, unixSeconds: validFrom });

async function unseal(node = t): Promise<void> {
  for (const key of keys.slice(0, 2)) await node.call("PUT", "/v1/sys/unseal", { body: { key } });
}

describe("the seeds a code read keeps", () => {
  it("give oathtool's code for a key deleted and added again with another seed", async () => {
    const first = randomBytes(20);
    expect((await addKey("replaced", first)).status).toBe(204);
    const before = await readCode("replaced");
    expect(before.json.data.code).toBe(oathtoolAt(first, before.json.data.valid_from));

    expect((await t.call("DELETE", "/v1/totp/keys/replaced", { token: root })).status).toBe(204);
    const second = randomBytes(20);
    expect((await addKey("replaced", second)).status).toBe(204);
    const after = await readCode("replaced");
    expect(after.json.data.code).toBe(oathtoolAt(second, after.json.data.valid_from));
  });

  it("are all overwritten with zeros when the vault is sealed", async () => {
    const opened: Buffer[] = [];
    const openSecret = t.server.services.seal.box.openSecret.bind(t.server.services.seal.box);
    const spy = vi.spyOn(t.server.services.seal.box, "openSecret").mockImplementation((...args) => {
      const plaintext = openSecret(...args);
      opened.push(plaintext);
      return plaintext;
    });
    try {
      for (const name of ["wiped-a", "wiped-b", "wiped-c"]) {
        expect((await addKey(name, randomBytes(32))).status).toBe(204);
        expect((await readCode(name)).status).toBe(200);
        expect((await readCode(name)).status).toBe(200);
      }
      expect(opened.length).toBeGreaterThanOrEqual(3);
      expect(opened.some((seed) => seed.some((byte) => byte !== 0))).toBe(true); // held while unsealed

      expect((await t.call("PUT", "/v1/sys/seal", { token: root })).status).toBe(204);
      for (const seed of opened) expect(seed.every((byte) => byte === 0)).toBe(true);
    } finally {
      spy.mockRestore();
      await unseal();
    }
  });

  it("never give a wrong code when the vault is sealed in the middle of concurrent first reads", async () => {
    const seed = randomBytes(20);
    expect((await addKey("raced", seed)).status).toBe(204);
    for (let round = 0; round < 5; round++) {
      const reads = Array.from({ length: 40 }, () => readCode("raced"));
      const sealed = t.call("PUT", "/v1/sys/seal", { token: root });
      const answers = await Promise.all(reads);
      expect((await sealed).status).toBe(204);
      for (const answer of answers) {
        if (answer.status === 200)
          expect(answer.json.data.code).toBe(oathtoolAt(seed, answer.json.data.valid_from));
        else expect(answer.status).toBe(503); // refused whole: sealed before the code was made
      }
      await unseal();
    }
  });
});

describe.skipIf(skipOutsidePostgresPass("seeds kept on several nodes"))("two nodes", () => {
  it("a node that kept a seed gives the new seed's code once another node replaced the key", async () => {
    const other = await startTestServer({ storage: t.storage });
    try {
      await unseal(other);
      const first = randomBytes(20);
      expect((await addKey("replaced-elsewhere", first)).status).toBe(204);
      expect((await readCode("replaced-elsewhere")).json.data.code).toBeDefined();

      expect((await other.call("DELETE", "/v1/totp/keys/replaced-elsewhere", { token: root })).status).toBe(
        204,
      );
      const second = randomBytes(20);
      expect((await addKey("replaced-elsewhere", second, other)).status).toBe(204);
      t.clock.advance(1_500); // this node's row cache lives 1 s
      const after = await readCode("replaced-elsewhere");
      expect(after.json.data.code).toBe(oathtoolAt(second, after.json.data.valid_from));
    } finally {
      await other.close();
    }
  });
});
