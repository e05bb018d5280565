import { execFileSync } from "node:child_process";
import { randomBytes } from "node:crypto";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { encodeBase32Upper } from "../support/encodings.js";
import { initAndUnseal, startTestServer, type TestServer } from "../support/server.js";
import { oathtoolCode } from "../support/tools.js";

/** A person's own second factor, kept in this very engine and checked through its validate path. */

let t: TestServer;
let root: string;
const password = "dave has a long password";

beforeAll(async () => {
  t = await startTestServer();
  root = (await initAndUnseal(t)).rootToken;
  await t.call("POST", "/v1/totp/keys/aws-prod-root", {
    token: root,
    body: { key: encodeBase32Upper(randomBytes(20)) },
  });
  await t.call("PUT", "/v1/auth/userpass/users/dave", { token: root, body: { password, require_mfa: true } });
  await t.call("PUT", "/v1/groups/oncall", {
    token: root,
    body: { members: ["dave"], policies: ["totp-reader"] },
  });
});
afterAll(async () => {
  await t.close();
});

const login = (body: Record<string, string>) =>
  t.call("POST", "/v1/auth/userpass/login/dave", { body: { password, ...body } });

describe("a second factor required by an admin", () => {
  let seedHex: string;

  it("until enabled, a login can enrol one and do nothing else", async () => {
    const token = (await login({})).json.auth.client_token;
    expect((await t.call("GET", "/v1/totp/code/aws-prod-root", { token })).status).toBe(403);
    expect((await t.call("GET", "/v1/auth/token/lookup-self", { token })).json.data.policies).toEqual([
      "mfa-enrolment",
    ]);
    const enrolment = await t.call("POST", "/v1/auth/userpass/mfa", { token, body: {} });
    expect(enrolment.status).toBe(200);
    const secret = new URL(enrolment.json.data.url).searchParams.get("secret") as string;
    const python = "import base64,sys; s=sys.argv[1]; print(base64.b32decode(s + '=' * (-len(s) % 8)).hex())";
    seedHex = execFileSync("python3", ["-c", python, secret], { encoding: "utf8" }).trim();
    expect(
      (await t.call("POST", "/v1/auth/userpass/mfa/confirm", { token, body: { code: "000000" } })).status,
    ).toBe(400);
    const now = Math.floor(Date.now() / 1000);
    const code = oathtoolCode(seedHex, { algorithm: "SHA1", digits: 6, period: 30, unixSeconds: now });
    expect((await t.call("POST", "/v1/auth/userpass/mfa/confirm", { token, body: { code } })).status).toBe(
      204,
    );
    expect((await t.call("GET", "/v1/auth/userpass/users/dave", { token: root })).json.data).toMatchObject({
      mfa: "enabled",
      require_mfa: true,
    });
  });

  it("then every login needs its current code, each code once, with the same answer as a wrong password", async () => {
    const noCode = await login({});
    expect(noCode.status).toBe(400);
    expect(noCode.json.errors).toEqual(["invalid username or password"]);
    // The confirmation used this step's code; the next step's is within the skew.
    const next = oathtoolCode(seedHex, {
      algorithm: "SHA1",
      digits: 6,
      period: 30,
      unixSeconds: Math.floor(Date.now() / 1000) + 30,
    });
    const withCode = await login({ totp: next });
    expect(withCode.status).toBe(200);
    expect(withCode.json.auth.policies).toEqual(["totp-reader", "default"]);
    expect(
      (await t.call("GET", "/v1/totp/code/aws-prod-root", { token: withCode.json.auth.client_token })).status,
    ).toBe(200);
    expect((await login({ totp: next })).status).toBe(400); // the same code twice
  });

  it("nobody reads a person's second factor, not even root", async () => {
    const response = await t.call("GET", "/v1/totp/code/userpass-mfa.dave", { token: root });
    expect(response.status).toBe(403);
    expect(response.json.errors[0]).toMatch(/validated, never read/);
  });
});
