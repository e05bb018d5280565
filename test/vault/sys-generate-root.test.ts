import { afterEach, describe, expect, it } from "vitest";
import { startTestServer, type TestServer } from "../support/server.js";
import { makeGpgKey } from "../support/tools.js";
import { CEREMONY_EXTRAS, coreUnsealed, expectVaultBody } from "./vault-shape.js";

/**
 * Vault's http/sys_generate_root_test.go (the server-made OTP flow of Vault ≥ 1.10, and PGP),
 * against breakglass. Vault's older flow, where the client gives the OTP, is refused by breakglass.
 */

let t: TestServer;
afterEach(async () => {
  await t?.close();
});

/** Vault: 26, the length of its own tokens; breakglass's one-time pad is as long as its tokens. */
const otpLength = () => t.server.services.generateRoot.otpLength;

/** Vault's status body of an attempt; `otp` is taken as it comes where Vault's test does so. */
function attemptStatus(fields: Record<string, unknown>) {
  return {
    started: true,
    progress: 0,
    required: 3,
    complete: false,
    encoded_token: "",
    encoded_root_token: "",
    pgp_fingerprint: "",
    otp: "",
    otp_length: otpLength(),
    ...fields,
  };
}

/** Gives every key; checks each answer as Vault's Update tests do, and returns the last. */
async function giveEveryKey(keys: string[], nonce: string, pgpFingerprint: string) {
  let last: Record<string, unknown> = {};
  for (const [i, key] of keys.entries()) {
    const response = await t.call("PUT", "/v1/sys/generate-root/update", { body: { nonce, key } });
    expect(response.status).toBe(200);
    last = response.json;
    const complete = i + 1 === keys.length;
    expect(last.encoded_token === "").toBe(!complete);
    expectVaultBody(
      last,
      {
        complete,
        nonce,
        progress: i + 1,
        required: keys.length,
        started: true,
        pgp_fingerprint: pgpFingerprint,
        otp: "",
        otp_length: 0,
        encoded_token: last.encoded_token,
        encoded_root_token: last.encoded_token,
      },
      CEREMONY_EXTRAS,
    );
  }
  return last;
}

/** Vault's lookup-self of the new token, on the fields breakglass shares with it. */
async function expectRootToken(token: string) {
  const self = await t.call("GET", "/v1/auth/token/lookup-self", { token });
  expect(self.status).toBe(200);
  expect(self.json.data).toMatchObject({ display_name: "root", policies: ["root"], num_uses: 0 });
}

describe("generate-root (Vault's sys_generate_root_test.go)", () => {
  it("TestSysGenerateRootAttempt_Status", async () => {
    t = await startTestServer();
    const { token } = await coreUnsealed(t);
    const response = await t.call("GET", "/v1/sys/generate-root/attempt", { token });
    expect(response.status).toBe(200);
    expectVaultBody(response.json, attemptStatus({ started: false, nonce: "" }), CEREMONY_EXTRAS);
  });

  it("TestSysGenerateRootAttempt_Setup_OTP", async () => {
    t = await startTestServer();
    const { token } = await coreUnsealed(t);
    const started = await t.call("PUT", "/v1/sys/generate-root/attempt", { token });
    expect(started.status).toBe(200);
    expect(started.json.nonce).not.toBe("");
    expect(started.json.otp).toHaveLength(otpLength());
    expectVaultBody(
      started.json,
      attemptStatus({ nonce: started.json.nonce, otp: started.json.otp }),
      CEREMONY_EXTRAS,
    );
    const status = await t.call("GET", "/v1/sys/generate-root/attempt", { token });
    expect(status.status).toBe(200);
    expectVaultBody(status.json, attemptStatus({ nonce: started.json.nonce }), CEREMONY_EXTRAS);
  });

  it("TestSysGenerateRootAttempt_Setup_PGP", async () => {
    t = await startTestServer();
    const { token } = await coreUnsealed(t);
    const holder = makeGpgKey("root-holder");
    const started = await t.call("PUT", "/v1/sys/generate-root/attempt", {
      token,
      body: { pgp_key: holder.armoredPublicKey },
    });
    expect(started.status).toBe(200);
    const status = await t.call("GET", "/v1/sys/generate-root/attempt", { token });
    expect(status.status).toBe(200);
    expect(status.json.nonce).not.toBe("");
    expectVaultBody(
      status.json,
      attemptStatus({ nonce: status.json.nonce, pgp_fingerprint: holder.fingerprint.toLowerCase() }),
      CEREMONY_EXTRAS,
    );
    holder.dispose();
  });

  it("TestSysGenerateRootAttempt_Cancel", async () => {
    t = await startTestServer();
    const { token } = await coreUnsealed(t);
    const started = await t.call("PUT", "/v1/sys/generate-root/attempt", { token });
    expect(started.status).toBe(200);
    expectVaultBody(
      started.json,
      attemptStatus({ nonce: started.json.nonce, otp: started.json.otp }),
      CEREMONY_EXTRAS,
    );
    expect((await t.call("DELETE", "/v1/sys/generate-root/attempt", { token })).status).toBe(204);
    const status = await t.call("GET", "/v1/sys/generate-root/attempt");
    expect(status.status).toBe(200);
    expectVaultBody(status.json, attemptStatus({ started: false, nonce: "" }), CEREMONY_EXTRAS);
  });

  it("TestSysGenerateRoot_badKey", async () => {
    t = await startTestServer();
    const { token } = await coreUnsealed(t);
    const response = await t.call("PUT", "/v1/sys/generate-root/update", { token, body: { key: "0123" } });
    expect(response.status).toBe(400);
  });

  it("TestSysGenerateRoot_ReAttemptUpdate", async () => {
    t = await startTestServer();
    const { token } = await coreUnsealed(t);
    const holder = makeGpgKey("root-holder");
    expect((await t.call("PUT", "/v1/sys/generate-root/attempt", { token })).status).toBe(200);
    expect((await t.call("DELETE", "/v1/sys/generate-root/attempt", { token })).status).toBe(204);
    const again = await t.call("PUT", "/v1/sys/generate-root/attempt", {
      token,
      body: { pgp_key: holder.armoredPublicKey },
    });
    expect(again.status).toBe(200);
    holder.dispose();
  });

  it("TestSysGenerateRoot_Update_OTP", async () => {
    t = await startTestServer();
    const { keys, token } = await coreUnsealed(t);
    const started = await t.call("PUT", "/v1/sys/generate-root/attempt", { token, body: {} });
    expect(started.status).toBe(200);
    const otp: string = started.json.otp;
    const done = await giveEveryKey(keys, started.json.nonce, "");
    // Vault's roottoken decoding: unpadded base64, then XOR with the OTP byte by byte.
    const encoded = Buffer.from(done.encoded_token as string, "base64");
    const newRootToken = Buffer.from(encoded.map((byte, i) => byte ^ otp.charCodeAt(i))).toString();
    await expectRootToken(newRootToken);
  });

  it("TestSysGenerateRoot_Update_PGP", async () => {
    t = await startTestServer();
    const { keys, token } = await coreUnsealed(t);
    const holder = makeGpgKey("root-holder");
    const started = await t.call("PUT", "/v1/sys/generate-root/attempt", {
      token,
      body: { pgp_key: holder.armoredPublicKey },
    });
    expect(started.status).toBe(200);
    const status = await t.call("GET", "/v1/sys/generate-root/attempt");
    const done = await giveEveryKey(keys, status.json.nonce, holder.fingerprint.toLowerCase());
    await expectRootToken(holder.decrypt(Buffer.from(done.encoded_token as string, "base64")));
    holder.dispose();
  });
});

describe("generate-root where breakglass differs", () => {
  it("deviation: an OTP given by the client (Vault's flow before 1.10) is refused", async () => {
    t = await startTestServer();
    const { token } = await coreUnsealed(t);
    const otp = Buffer.alloc(16, 7).toString("base64");
    const response = await t.call("PUT", "/v1/sys/generate-root/attempt", { token, body: { otp } });
    expect(response.status).toBe(400);
    expect(response.json.errors[0]).toMatch(/give no otp/);
  });

  it("deviation: otp_length is the length of a breakglass token, not Vault's 26", async () => {
    t = await startTestServer();
    await coreUnsealed(t);
    const status = await t.call("GET", "/v1/sys/generate-root/attempt");
    expect(status.json.otp_length).toBe(t.server.services.tokens.tokenLength);
    expect(status.json.otp_length).not.toBe(26);
  });

  it("reads null and empty fields as absent, as Vault decodes them", async () => {
    t = await startTestServer();
    const { token } = await coreUnsealed(t);
    const started = await t.call("PUT", "/v1/sys/generate-root/attempt", {
      token,
      body: { otp: "", pgp_key: null },
    });
    expect(started.status).toBe(200);
    expect(started.json.otp).toHaveLength(otpLength());
  });
});
