import fc from "fast-check";
import * as openpgp from "openpgp";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { anyText, FUZZ_TEST_TIMEOUT_MS, fuzzParameters, skipOutsideSqlitePass } from "../support/fuzz.js";
import { KEY_FORMS, keyLikeText, makeRealKeys, type RealKeys, written } from "../support/fuzz-pgp.js";
import {
  expectCleanAnswer,
  expectNothingStored,
  type FuzzRequest,
  type FuzzServer,
  startFuzzServer,
} from "../support/fuzz-server.js";

/**
 * The seal's parsers over HTTP: unseal and drill with random shares on a sealed vault, and init
 * with random custodian PGP keys on an uninitialised one. Init runs in both storage passes, as
 * every HTTP fuzzer (see http-bodies.test.ts): what a key names goes to the store. A share never
 * does (it is decoded and hashed in memory), so unseal and drill run in the SQLite pass only.
 */

const THRESHOLD = 2;
const SHARE_BYTES = 33;

const json = (method: string, url: string, body: unknown): FuzzRequest => ({
  method,
  url,
  headers: { "content-type": "application/json" },
  payload: JSON.stringify(body),
});

const sharesOnlyInSqlite = skipOutsideSqlitePass(
  "unseal and drill fuzzing",
  "a share is decoded and hashed in memory, never stored",
);

describe.skipIf(sharesOnlyInSqlite)("unseal and drill with random shares (fuzzed)", () => {
  let fuzz: FuzzServer;

  beforeAll(async () => {
    fuzz = await startFuzzServer("sealed");
  });
  afterAll(async () => {
    await fuzz?.close();
  });

  /** A share as typed: of this vault's length (hex or base64, so it counts), of another length, or any text. */
  const shareText = fc.oneof(
    {
      weight: 3,
      arbitrary: fc
        .uint8Array({ minLength: SHARE_BYTES, maxLength: SHARE_BYTES })
        .map((b) => Buffer.from(b).toString("hex")),
    },
    {
      weight: 2,
      arbitrary: fc
        .uint8Array({ minLength: SHARE_BYTES, maxLength: SHARE_BYTES })
        .map((b) => Buffer.from(b).toString("base64")),
    },
    { weight: 1, arbitrary: fc.uint8Array({ maxLength: 80 }).map((b) => Buffer.from(b).toString("hex")) },
    { weight: 1, arbitrary: anyText(100) },
  );

  const request = fc.oneof(
    { weight: 6, arbitrary: shareText.map((key) => json("PUT", "/v1/sys/unseal", { key })) },
    {
      weight: 1,
      arbitrary: fc
        .record({ key: fc.option(shareText), reset: fc.boolean() }, { requiredKeys: [] })
        .map((body) => json("POST", "/v1/sys/unseal", body)),
    },
    { weight: 2, arbitrary: shareText.map((key) => json("PUT", "/v1/sys/custodians/drill", { key })) },
  );

  it(
    "a random share never unseals and never changes what is stored; progress stays below the threshold, and the real shares still unseal",
    async () => {
      const stored = await fuzz.storedState();
      await fc.assert(
        fc.asyncProperty(request, async (sent) => {
          const answer = await fuzz.send(sent);
          expectCleanAnswer(sent, answer);
          // Progress lives in memory until the threshold: even an accepted share stores nothing.
          expectNothingStored(sent, answer, stored, await fuzz.storedState());
          if (answer.status === 200 && sent.url === "/v1/sys/unseal") {
            const status = JSON.parse(answer.body);
            expect(status.sealed).toBe(true);
            expect(status.progress).toBeLessThan(THRESHOLD);
          }
        }),
        // The collected shares move on from case to case, so a shrunk case would not fail alike: report the first.
        { ...fuzzParameters(), endOnFailure: true },
      );
      await fuzz.send(json("PUT", "/v1/sys/unseal", { reset: true }));
      for (const key of fuzz.keys.slice(0, THRESHOLD))
        await fuzz.send(json("PUT", "/v1/sys/unseal", { key }));
      expect(fuzz.test.server.services.seal.isSealed).toBe(false);
    },
    FUZZ_TEST_TIMEOUT_MS,
  );
});

describe("init with random custodian PGP keys (fuzzed)", () => {
  let fuzz: FuzzServer;
  let keys: RealKeys;

  beforeAll(async () => {
    [fuzz, keys] = await Promise.all([startFuzzServer("uninitialized"), makeRealKeys()]);
  }, 60_000);
  afterAll(async () => {
    await fuzz?.close();
  });

  it("real keys in every accepted form get each its share, encrypted so that only its holder reads it", async () => {
    const pgpKeys = KEY_FORMS.map((form, i) =>
      written(keys.publicKeys[i] as (typeof keys.publicKeys)[number], form),
    );
    const answer = await fuzz.send(
      json("PUT", "/v1/sys/init", { secret_shares: 3, secret_threshold: 2, pgp_keys: pgpKeys }),
    );
    expect(answer.status, answer.body).toBe(200);
    const shares: string[] = JSON.parse(answer.body).keys;
    for (const [i, share] of shares.entries()) {
      const message = await openpgp.readMessage({ binaryMessage: Buffer.from(share, "hex") });
      const decryptionKeys = await openpgp.readPrivateKey({
        armoredKey: (keys.privateKeys[i] as { armored: string }).armored,
      });
      const { data } = await openpgp.decrypt({ message, decryptionKeys });
      expect(data).toMatch(/^[0-9a-f]{66}$/);
    }
    await fuzz.close();
    fuzz = await startFuzzServer("uninitialized");
  });

  // Found by hand while writing these fuzzers: the user ID became the custodian's name, and
  // PostgreSQL refused the NUL in it (500) after the root token was stored.
  it("a key whose user ID holds a NUL gets its share, for a custodian named by number", async () => {
    const { publicKey } = await openpgp.generateKey({
      type: "ecc",
      curve: "curve25519Legacy",
      userIDs: [{ name: "Carol\u0000Mallory" }],
      format: "armored",
    });
    const stored = await fuzz.storedState();
    const sent = json("PUT", "/v1/sys/init", {
      secret_shares: 1,
      secret_threshold: 1,
      pgp_keys: [publicKey],
    });
    const answer = await fuzz.send(sent);
    expectCleanAnswer(sent, answer);
    if (answer.status >= 400) expectNothingStored(sent, answer, stored, await fuzz.storedState());
    expect(JSON.parse(answer.body)).toMatchObject({ custodians: ["custodian 1"] });
    await fuzz.close();
    fuzz = await startFuzzServer("uninitialized");
  });

  it(
    "random and mutated keys are refused with a message and nothing stored; a key that still reads gets a share",
    async () => {
      const request = fc
        .record({
          pgpKeys: fc.array(keyLikeText(keys), { minLength: 1, maxLength: 4 }),
          extraShares: fc.constantFrom(0, 0, 0, 1),
          rootTokenKey: fc.option(keyLikeText(keys), { freq: 5 }),
        })
        .map(({ pgpKeys, extraShares, rootTokenKey }) =>
          json("PUT", "/v1/sys/init", {
            secret_shares: pgpKeys.length + extraShares,
            secret_threshold: pgpKeys.length + extraShares === 1 ? 1 : 2,
            pgp_keys: pgpKeys,
            ...(rootTokenKey === null ? {} : { root_token_pgp_key: rootTokenKey }),
          }),
        );
      let stored = await fuzz.storedState();
      await fc.assert(
        fc.asyncProperty(request, async (sent) => {
          const answer = await fuzz.send(sent);
          expectCleanAnswer(sent, answer);
          if (answer.status >= 400)
            return expectNothingStored(sent, answer, stored, await fuzz.storedState());
          // A mutation that left a valid key (armor headers, say): the vault is made; start afresh.
          expect(JSON.parse(answer.body).keys).toHaveLength(JSON.parse(sent.payload as string).secret_shares);
          await fuzz.close();
          fuzz = await startFuzzServer("uninitialized");
          stored = await fuzz.storedState();
        }),
        { ...fuzzParameters(), endOnFailure: true },
      );
    },
    FUZZ_TEST_TIMEOUT_MS,
  );
});
