import { randomBytes } from "node:crypto";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { encodeBase32Upper, hexOfBase32 } from "../support/encodings.js";
import { initAndUnseal, startTestServer, type TestServer } from "../support/server.js";
import { oathtoolCode } from "../support/tools.js";

/**
 * Vault's own tests of its TOTP engine (hashicorp/vault, builtin/logical/totp/backend_test.go),
 * ported case by case and run over HTTP against a real breakglass server, as a Vault client sees it.
 * Each test is named after Vault's test function (and table entry). Vault gives every test a fresh
 * backend and names its key `test`; here one server holds them all, so each key is named after its
 * test. Vault's observation-recorder checks (its telemetry events) have no counterpart here and
 * are left out: breakglass's record of the same events is the audit log, tested elsewhere.
 */

let t: TestServer;
let root: string;

beforeAll(async () => {
  t = await startTestServer();
  root = (await initAndUnseal(t)).rootToken;
});
afterAll(async () => {
  await t.close();
});

type KeyData = Record<string, string | number | boolean>;

interface Expected {
  issuer: string;
  account_name: string;
  digits: number;
  period: number;
  algorithm: string;
  /** The seed as base32 (any case, padding or not), to check the codes served. */
  key?: string;
}

/** Vault's createKey: a 20-byte seed, base32, lower-cased as Vault's test does. */
function createKey(): string {
  return encodeBase32Upper(randomBytes(20)).toLowerCase();
}

/** Vault's testAccStepCreateKey: a refusal stores nothing; a generated key is shown once, as asked. */
async function createKeyStep(name: string, keyData: KeyData, expectFail: boolean) {
  const response = await t.call("POST", `/v1/totp/keys/${name}`, { token: root, body: keyData });
  if (expectFail) {
    expect(response.status).toBe(400);
    expect(response.json.errors).toHaveLength(1);
    return response;
  }
  expect(response.status, response.text).toBeLessThan(300);
  if (!keyData.generate) return response;
  if (keyData.exported === false) {
    expect(response.status).toBe(204);
    expect(response.text).toBe("");
    return response;
  }
  const data = response.json.data;
  if (keyData.qr_size === 0) {
    expect(data).not.toHaveProperty("barcode");
    return response;
  }
  expect(data.barcode).toEqual(expect.any(String));
  expect(data.barcode).not.toBe("");
  expect(data.url).toEqual(expect.any(String));
  const secret = new URL(data.url).searchParams.get("secret") ?? "";
  expect(secret.length).toBe(Math.floor((keyData.key_size as number) / 5) * 8);
  return response;
}

/** Vault's testAccStepReadKey: the key's parameters, or nothing (404) when there is no such key. */
async function readKeyStep(name: string, expected: Expected | null) {
  const response = await t.call("GET", `/v1/totp/keys/${name}`, { token: root });
  if (expected === null) {
    expect(response.status).toBe(404);
    return;
  }
  expect(response.status).toBe(200);
  const { key: _key, ...fields } = expected;
  expect(response.json.data).toMatchObject(fields);
}

/** Vault's testAccStepReadCreds: the code served is valid for the expected seed, one step either side. */
async function readCredsStep(name: string, expected: Expected) {
  const response = await t.call("GET", `/v1/totp/code/${name}`, { token: root });
  expect(response.status).toBe(200);
  const { algorithm, digits, period } = expected;
  const seedHex = hexOfBase32((expected.key as string).toUpperCase().replace(/=+$/, ""));
  const now = Math.floor(Date.now() / 1000);
  const valid = [-1, 0, 1].map((skew) =>
    oathtoolCode(seedHex, { algorithm, digits, period, unixSeconds: now + skew * period }),
  );
  expect(valid).toContain(response.json.data.code);
}

/**
 * Vault's testAccStepValidateCode. `expectError` is Vault's ErrorOk: the request may be refused
 * (400), and whatever the answer, it must not say valid.
 */
async function validateCodeStep(name: string, code: string, valid: boolean, expectError: boolean) {
  const response = await t.call("POST", `/v1/totp/code/${name}`, { token: root, body: { code } });
  if (expectError && response.status === 400) return;
  expect(response.status, response.text).toBe(200);
  expect(response.json.data).toEqual({ valid });
}

async function deleteKeyStep(name: string) {
  expect((await t.call("DELETE", `/v1/totp/keys/${name}`, { token: root })).status).toBe(204);
}

/** Vault's generateCode: the current code of a base32 seed. */
function generateCode(key: string, period: number, digits: number, algorithm: string): string {
  const unixSeconds = Math.floor(Date.now() / 1000);
  return oathtoolCode(hexOfBase32(key.toUpperCase()), { algorithm, digits, period, unixSeconds });
}

/** The steps most of Vault's tests take: create, read the key back, read a code and check it. */
async function createReadAndCheckCode(name: string, keyData: KeyData, expected: Expected) {
  await createKeyStep(name, keyData, false);
  await readKeyStep(name, expected);
  await readCredsStep(name, expected);
}

/** The steps of Vault's tests of refused input: the create fails, and no key is left behind. */
async function refusedAndNotStored(name: string, keyData: KeyData) {
  await createKeyStep(name, keyData, true);
  await readKeyStep(name, null);
}

describe("TestBackend_KeyName", () => {
  const tests = [
    { name: "without @", keyName: "sample", fail: false },
    { name: "with @ in the beginning", keyName: "@sample.com", fail: true },
    { name: "with @ in the end", keyName: "sample.com@", fail: true },
    { name: "with @ in between", keyName: "sample@sample.com", fail: false },
    { name: "with multiple @", keyName: "sample@sample@@sample.com", fail: false },
  ];
  for (const tc of tests) {
    it(`TestBackend_KeyName › ${tc.name}`, async () => {
      const created = await t.call("POST", `/v1/totp/keys/${tc.keyName}`, {
        token: root,
        body: { generate: true, account_name: "vault", issuer: "hashicorp" },
      });
      if (tc.fail) {
        expect(created.status).toBe(400);
        expect((await t.call("GET", `/v1/totp/keys/${tc.keyName}`, { token: root })).status).toBe(404);
        return;
      }
      expect(created.status, created.text).toBe(200);
      const code = await t.call("GET", `/v1/totp/code/${tc.keyName}`, { token: root });
      expect(code.status, code.text).toBe(200);
      expect(code.json.data.code).toMatch(/^[0-9]{6}$/);
    });
  }
});

describe("reading codes", () => {
  it("TestBackend_readCredentialsDefaultValues", async () => {
    const key = createKey();
    await createReadAndCheckCode(
      "readCredentialsDefaultValues",
      { key, generate: false },
      { issuer: "", account_name: "", digits: 6, period: 30, algorithm: "SHA1", key },
    );
  });

  it("TestBackend_readCredentialsEightDigitsThirtySecondPeriod", async () => {
    const key = createKey();
    await createReadAndCheckCode(
      "readCredentialsEightDigitsThirtySecondPeriod",
      { issuer: "Vault", account_name: "Test", key, digits: 8, generate: false },
      { issuer: "Vault", account_name: "Test", digits: 8, period: 30, algorithm: "SHA1", key },
    );
  });

  it("TestBackend_readCredentialsSixDigitsNinetySecondPeriod", async () => {
    const key = createKey();
    await createReadAndCheckCode(
      "readCredentialsSixDigitsNinetySecondPeriod",
      { issuer: "Vault", account_name: "Test", key, period: 90, generate: false },
      { issuer: "Vault", account_name: "Test", digits: 6, period: 90, algorithm: "SHA1", key },
    );
  });

  it("TestBackend_readCredentialsSHA256", async () => {
    const key = createKey();
    await createReadAndCheckCode(
      "readCredentialsSHA256",
      { issuer: "Vault", account_name: "Test", key, algorithm: "SHA256", generate: false },
      { issuer: "Vault", account_name: "Test", digits: 6, period: 30, algorithm: "SHA256", key },
    );
  });

  it("TestBackend_readCredentialsSHA512", async () => {
    const key = createKey();
    await createReadAndCheckCode(
      "readCredentialsSHA512",
      { issuer: "Vault", account_name: "Test", key, algorithm: "SHA512", generate: false },
      { issuer: "Vault", account_name: "Test", digits: 6, period: 30, algorithm: "SHA512", key },
    );
  });
});

describe("key life cycle", () => {
  it("TestBackend_keyCrudDefaultValues", async () => {
    const name = "keyCrudDefaultValues";
    const key = createKey();
    await createKeyStep(name, { issuer: "Vault", account_name: "Test", key, generate: false }, false);
    await readKeyStep(name, {
      issuer: "Vault",
      account_name: "Test",
      digits: 6,
      period: 30,
      algorithm: "SHA1",
    });
    const code = generateCode(key, 30, 6, "SHA1");
    await validateCodeStep(name, code, true, false);
    // The same code again, padded or not, is refused: it was used.
    await validateCodeStep(name, `${code} `, false, true);
    await validateCodeStep(name, `  ${code}`, false, true);
    await validateCodeStep(name, code, false, true);
    await validateCodeStep(name, "12345678", false, false);
    await deleteKeyStep(name);
    await readKeyStep(name, null);
  });
});

describe("refused keys", () => {
  it("TestBackend_createKeyMissingKeyValue", async () => {
    await refusedAndNotStored("createKeyMissingKeyValue", {
      issuer: "Vault",
      account_name: "Test",
      generate: false,
    });
  });

  it("TestBackend_createKeyInvalidKeyValue", async () => {
    await refusedAndNotStored("createKeyInvalidKeyValue", {
      issuer: "Vault",
      account_name: "Test",
      key: "1",
      generate: false,
    });
  });

  it("TestBackend_createKeyInvalidAlgorithm", async () => {
    await refusedAndNotStored("createKeyInvalidAlgorithm", {
      issuer: "Vault",
      account_name: "Test",
      key: createKey(),
      algorithm: "BADALGORITHM",
      generate: false,
    });
  });

  it("TestBackend_createKeyInvalidPeriod", async () => {
    await refusedAndNotStored("createKeyInvalidPeriod", {
      issuer: "Vault",
      account_name: "Test",
      key: createKey(),
      period: -1,
      generate: false,
    });
  });

  it("TestBackend_createKeyInvalidDigits", async () => {
    await refusedAndNotStored("createKeyInvalidDigits", {
      issuer: "Vault",
      account_name: "Test",
      key: createKey(),
      digits: 20,
      generate: false,
    });
  });
});

describe("generated keys", () => {
  const generatedDefaults = {
    issuer: "Vault",
    account_name: "Test",
    digits: 6,
    period: 30,
    algorithm: "SHA1",
  };

  it("TestBackend_generatedKeyDefaultValues", async () => {
    const name = "generatedKeyDefaultValues";
    const keyData = {
      issuer: "Vault",
      account_name: "Test",
      generate: true,
      key_size: 20,
      exported: true,
      qr_size: 200,
    };
    await createKeyStep(name, keyData, false);
    await readKeyStep(name, generatedDefaults);
  });

  it("TestBackend_generatedKeyDefaultValuesNoQR", async () => {
    await createKeyStep(
      "generatedKeyDefaultValuesNoQR",
      { issuer: "Vault", account_name: "Test", generate: true, key_size: 20, exported: true, qr_size: 0 },
      false,
    );
  });

  it("TestBackend_generatedKeyNonDefaultKeySize", async () => {
    const name = "generatedKeyNonDefaultKeySize";
    const keyData = {
      issuer: "Vault",
      account_name: "Test",
      generate: true,
      key_size: 10,
      exported: true,
      qr_size: 200,
    };
    await createKeyStep(name, keyData, false);
    await readKeyStep(name, generatedDefaults);
  });

  it("TestBackend_generatedKeyInvalidSkew", async () => {
    await refusedAndNotStored("generatedKeyInvalidSkew", {
      issuer: "Vault",
      account_name: "Test",
      skew: "2",
      generate: true,
    });
  });

  it("TestBackend_generatedKeyInvalidQRSize", async () => {
    await refusedAndNotStored("generatedKeyInvalidQRSize", {
      issuer: "Vault",
      account_name: "Test",
      qr_size: "-100",
      generate: true,
    });
  });

  it("TestBackend_generatedKeyInvalidKeySize", async () => {
    await refusedAndNotStored("generatedKeyInvalidKeySize", {
      issuer: "Vault",
      account_name: "Test",
      key_size: "-100",
      generate: true,
    });
  });

  it("TestBackend_generatedKeyMissingAccountName", async () => {
    await refusedAndNotStored("generatedKeyMissingAccountName", { issuer: "Vault", generate: true });
  });

  it("TestBackend_generatedKeyMissingIssuer", async () => {
    await refusedAndNotStored("generatedKeyMissingIssuer", {
      account_name: "test@email.com",
      generate: true,
    });
  });

  it("TestBackend_generatedKeyExportedFalse", async () => {
    const name = "generatedKeyExportedFalse";
    await createKeyStep(
      name,
      { issuer: "Vault", account_name: "test@email.com", generate: true, exported: false },
      false,
    );
    await readKeyStep(name, { ...generatedDefaults, account_name: "test@email.com" });
  });
});

describe("keys from an otpauth URL", () => {
  const secret = "HXDMVJECJJWSRB3HWIZR4IFUGFTMXBOZ";
  const fromUrl = { digits: 6, period: 60, algorithm: "SHA512", key: secret };

  it("TestBackend_urlPassedNonGeneratedKeyInvalidPeriod", async () => {
    await refusedAndNotStored("urlPassedNonGeneratedKeyInvalidPeriod", {
      url: `otpauth://totp/Vault:test@email.com?secret=${secret}&algorithm=SHA512&digits=6&period=AZ`,
      generate: false,
    });
  });

  it("TestBackend_urlPassedNonGeneratedKeyInvalidDigits", async () => {
    await refusedAndNotStored("urlPassedNonGeneratedKeyInvalidDigits", {
      url: `otpauth://totp/Vault:test@email.com?secret=${secret}&algorithm=SHA512&digits=Q&period=60`,
      generate: false,
    });
  });

  it("TestBackend_urlPassedNonGeneratedKeyIssuerInFirstPosition", async () => {
    await createReadAndCheckCode(
      "urlPassedNonGeneratedKeyIssuerInFirstPosition",
      {
        url: `otpauth://totp/Vault:test@email.com?secret=${secret}&algorithm=SHA512&digits=6&period=60`,
        generate: false,
      },
      { issuer: "Vault", account_name: "test@email.com", ...fromUrl },
    );
  });

  it("TestBackend_urlPassedNonGeneratedKeyIssuerInQueryString", async () => {
    await createReadAndCheckCode(
      "urlPassedNonGeneratedKeyIssuerInQueryString",
      {
        url: `otpauth://totp/test@email.com?secret=${secret}&algorithm=SHA512&digits=6&period=60&issuer=Vault`,
        generate: false,
      },
      { issuer: "Vault", account_name: "test@email.com", ...fromUrl },
    );
  });

  it("TestBackend_urlPassedNonGeneratedKeyMissingIssuer", async () => {
    await createReadAndCheckCode(
      "urlPassedNonGeneratedKeyMissingIssuer",
      {
        url: `otpauth://totp/test@email.com?secret=${secret}&algorithm=SHA512&digits=6&period=60`,
        generate: false,
      },
      { issuer: "", account_name: "test@email.com", ...fromUrl },
    );
  });

  it("TestBackend_urlPassedNonGeneratedKeyMissingAccountName", async () => {
    await createReadAndCheckCode(
      "urlPassedNonGeneratedKeyMissingAccountName",
      { url: `otpauth://totp/Vault:?secret=${secret}&algorithm=SHA512&digits=6&period=60`, generate: false },
      { issuer: "Vault", account_name: "", ...fromUrl },
    );
  });

  it("TestBackend_urlPassedNonGeneratedKeyMissingAccountNameandIssuer", async () => {
    await createReadAndCheckCode(
      "urlPassedNonGeneratedKeyMissingAccountNameandIssuer",
      { url: `otpauth://totp/?secret=${secret}&algorithm=SHA512&digits=6&period=60`, generate: false },
      { issuer: "", account_name: "", ...fromUrl },
    );
  });

  it("TestBackend_urlPassedNonGeneratedKeyMissingAccountNameandIssuerandPadding", async () => {
    await createReadAndCheckCode(
      "urlPassedNonGeneratedKeyMissingAccountNameandIssuerandPadding",
      {
        url: "otpauth://totp/?secret=GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQGEZAU&algorithm=SHA512&digits=6&period=60",
        generate: false,
      },
      { issuer: "", account_name: "", ...fromUrl, key: "GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQGEZAU===" },
    );
  });

  it("TestBackend_invalidURLValue", async () => {
    await refusedAndNotStored("invalidURLValue", { url: "notaurl", generate: false });
  });

  it("TestBackend_urlAndGenerateTrue", async () => {
    await refusedAndNotStored("urlAndGenerateTrue", {
      url: `otpauth://totp/Vault:test@email.com?secret=${secret}&algorithm=SHA512&digits=6&period=60`,
      generate: true,
    });
  });

  it("TestBackend_keyAndGenerateTrue", async () => {
    await refusedAndNotStored("keyAndGenerateTrue", { key: secret, generate: true });
  });
});
