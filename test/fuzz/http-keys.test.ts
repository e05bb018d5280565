import fc from "fast-check";
import * as OTPAuth from "otpauth";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { encodeBase32Upper } from "../support/encodings.js";
import { anyText, FUZZ_TEST_TIMEOUT_MS, fuzzParameters, mutatedBytes, mutationsOf } from "../support/fuzz.js";
import { noise, pngOf, qrPicture, withNoise } from "../support/fuzz-images.js";
import {
  expectCleanAnswer,
  expectNothingStored,
  type FuzzRequest,
  type FuzzServer,
  startFuzzServer,
} from "../support/fuzz-server.js";
import { type KeyModel, keyModel, pastedBase32, servableAccount, uriOf } from "../support/fuzz-totp.js";
import { migrationUri } from "../support/google-export.js";

/**
 * Key creation over HTTP (POST /v1/totp/keys/:name with url, key or qr_image) and the Google
 * Authenticator import: keys from a model must come back as that key (metadata, and a code
 * computed from the model's seed validates); anything else is refused cleanly with nothing
 * stored. Both storage passes, as every HTTP fuzzer (see http-bodies.test.ts).
 */

let fuzz: FuzzServer;

beforeAll(async () => {
  fuzz = await startFuzzServer("unsealed");
});
afterAll(async () => {
  await fuzz?.close();
});

/** A case: the body to send, where, and the key it must give when it comes from a model. */
interface KeyCase {
  path: "keys" | "import";
  body: Record<string, unknown>;
  model?: KeyModel;
  /** For an export from a model: how many accounts it must import. */
  accounts?: number;
}

const asBase64Png = (text: string, changes: [number, number][] = []) =>
  pngOf(withNoise(qrPicture(text), changes)).toString("base64");

const fromModel = keyModel.chain((model) =>
  fc.oneof(
    uriOf(model).map((url): KeyCase => ({ path: "keys", body: { url }, model })),
    pastedBase32(encodeBase32Upper(model.seed)).map(
      (key): KeyCase => ({
        path: "keys",
        body: {
          key,
          issuer: model.issuer,
          account_name: model.accountName,
          algorithm: model.algorithm,
          digits: model.digits,
          period: model.period,
        },
        model,
      }),
    ),
    uriOf(model).map((url): KeyCase => ({ path: "keys", body: { qr_image: asBase64Png(url) }, model })),
  ),
);

const anyImport = fc.record({
  accounts: fc.array(servableAccount, { minLength: 1, maxLength: 4 }),
  prefix: fc.oneof(fc.constant(undefined), fc.stringMatching(/^[a-z0-9][a-z0-9._-]{0,63}$/)),
});

const fromExport = anyImport.map(
  ({ accounts, prefix }): KeyCase => ({
    path: "import",
    body: { url: migrationUri(accounts.map((a) => a.exported)), ...(prefix === undefined ? {} : { prefix }) },
    accounts: accounts.length,
  }),
);

const toKeys = (body: Record<string, unknown>): KeyCase => ({ path: "keys", body });
const toImport = (body: Record<string, unknown>): KeyCase => ({ path: "import", body });

const damaged: fc.Arbitrary<KeyCase> = fc.oneof(
  keyModel
    .chain(uriOf)
    .chain((url) => mutationsOf(url))
    .map((url) => toKeys({ url })),
  anyText().map((url) => toKeys({ url })),
  fc.oneof(anyText(), fc.stringMatching(/^[A-Za-z2-7 =-]{0,200}$/)).map((key) => toKeys({ key })),
  fc
    .tuple(keyModel.chain(uriOf), noise)
    .map(([url, changes]) => toKeys({ qr_image: asBase64Png(url, changes) })),
  keyModel
    .chain(uriOf)
    .chain((url) => mutatedBytes(pngOf(qrPicture(url))))
    .map((png) => toKeys({ qr_image: png.toString("base64") })),
  fc.oneof(anyText(), fc.base64String({ maxLength: 400 })).map((qr) => toKeys({ qr_image: qr })),
  anyImport.chain(({ accounts, prefix }) =>
    mutationsOf(migrationUri(accounts.map((a) => a.exported))).map((url) =>
      toImport({ url, ...(prefix === undefined ? {} : { prefix }) }),
    ),
  ),
  anyImport.map(({ accounts }) =>
    toImport({ qr_image: asBase64Png(migrationUri(accounts.map((a) => a.exported))) }),
  ),
);

const keyCase = fc.oneof(
  { weight: 2, arbitrary: fromModel },
  { weight: 1, arbitrary: fromExport },
  { weight: 3, arbitrary: damaged },
);

const SEED = new Uint8Array(20).fill(7);

/** Requests that once broke key creation, tried first in every run. */
const REGRESSIONS: KeyCase[] = [
  // The second account's key name was too long: refused, but the first one was stored already.
  toImport({
    url: migrationUri([
      { secret: SEED, issuer: "a", name: "a:b" },
      { secret: SEED, issuer: "x".repeat(50), name: `${"x".repeat(50)}:${"y".repeat(50)}` },
    ]),
    prefix: "p".repeat(40),
  }),
  // A NUL decoded from the URI's label or the export's names was stored (SQLite) or answered 500 (PostgreSQL).
  toKeys({ url: "otpauth://totp/a%00:b?secret=JBSWY3DPEHPK3PXPJBSWY3DPEHPK3PXP&issuer=a%00" }),
  toImport({ url: migrationUri([{ secret: SEED, issuer: "a\u0000", name: "a\u0000:b" }]) }),
];

/** The code of `model` now, by the otpauth library from the model's own seed. */
const codeOf = (model: KeyModel) =>
  new OTPAuth.TOTP({
    secret: new OTPAuth.Secret({ buffer: Uint8Array.from(model.seed).buffer }),
    algorithm: model.algorithm,
    digits: model.digits,
    period: model.period,
  }).generate();

describe("key creation and Google import with random url, key and qr_image (fuzzed)", () => {
  it(
    "a key from a model comes back as that key, an export imports every account, and anything else is refused with a message and nothing stored",
    async () => {
      let created = 0;
      let stored = await fuzz.storedState();
      await fc.assert(
        fc.asyncProperty(keyCase, async ({ path, body, model, accounts }) => {
          const name = `fuzz-${++created}`;
          const sent: FuzzRequest = {
            method: "POST",
            url: path === "keys" ? `/v1/totp/keys/${name}` : "/v1/totp/import/google-authenticator",
            headers: { "content-type": "application/json" },
            asFuzzer: true,
            payload: JSON.stringify(body),
          };
          const answer = await fuzz.send(sent);
          expectCleanAnswer(sent, answer);
          if (model) {
            expect(answer.status, answer.body).toBe(204);
            // Together, so that their audit entries share one commit.
            const [metadata, validation] = await Promise.all([
              fuzz.send({ method: "GET", url: `/v1/totp/keys/${name}`, asFuzzer: true }),
              fuzz.send({
                ...sent,
                url: `/v1/totp/code/${name}`,
                payload: JSON.stringify({ code: codeOf(model) }),
              }),
            ]);
            expect(JSON.parse(metadata.body).data).toMatchObject({
              issuer: model.issuer,
              account_name: model.accountName,
              algorithm: model.algorithm,
              digits: model.digits,
              period: model.period,
            });
            expect(JSON.parse(validation.body)).toMatchObject({ data: { valid: true } });
          }
          if (accounts !== undefined) {
            expect(answer.status, answer.body).toBe(200);
            expect(JSON.parse(answer.body).data.imported).toHaveLength(accounts);
          }
          if (answer.status >= 400)
            return expectNothingStored(sent, answer, stored, await fuzz.storedState());
          // Accepted: the keys go again, so that the stored state (digested every case) stays small.
          const made =
            path === "keys"
              ? [name]
              : JSON.parse(answer.body).data.imported.map((k: { name: string }) => k.name);
          await Promise.all(
            made.map((key: string) =>
              fuzz.send({ method: "DELETE", url: `/v1/totp/keys/${key}`, asFuzzer: true }),
            ),
          );
          stored = await fuzz.storedState();
        }),
        // Names already taken move on from case to case, so a shrunk case would not fail alike: report the first.
        { ...fuzzParameters(REGRESSIONS.map((regression) => [regression])), endOnFailure: true },
      );
    },
    FUZZ_TEST_TIMEOUT_MS,
  );
});
