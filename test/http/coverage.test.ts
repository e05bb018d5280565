import { randomBytes } from "node:crypto";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { dayOf } from "../../src/core/devices.js";
import { Cli } from "../e2e/cli-harness.js";
import { addDevice } from "../support/device-records.js";
import { encodeBase32Upper } from "../support/encodings.js";
import { initAndUnseal, startTestServer, type TestServer } from "../support/server.js";

/** The coverage report through the API and the CLI (issue 7): accounts, factors and flags. */

let t: TestServer;
let root: string;

/** A calendar date `days` from today (the report uses the server's clock). */
const inDays = (days: number) => dayOf(new Date(Date.now() + days * 86_400_000));

beforeAll(async () => {
  t = await startTestServer();
  root = (await initAndUnseal(t)).rootToken;
  for (const [name, issuer] of [
    ["aws-prod-root", "AWS"],
    ["registrar", "Gandi"],
    ["idp-admin", "Okta"],
  ] as const) {
    const url = `otpauth://totp/${issuer}:admin@acme.example?secret=${encodeBase32Upper(randomBytes(20))}&issuer=${issuer}`;
    expect((await t.call("POST", `/v1/totp/keys/${name}`, { token: root, body: { url } })).status).toBe(204);
  }
  // A person's own second factor protects a login, not an account: it is no credential.
  const password = "alice has a long password";
  await t.call("PUT", "/v1/auth/userpass/users/alice", { token: root, body: { password } });
  const login = await t.call("POST", "/v1/auth/userpass/login/alice", { body: { password } });
  const enrolled = await t.call("POST", "/v1/auth/userpass/mfa", {
    token: login.json.auth.client_token,
    body: {},
  });
  expect(enrolled.status).toBe(200);

  await addDevice(t, { protects: ["registrar"], location: "Safe B, Paris", label: "Gandi token" });
  await addDevice(t, { protects: ["registrar", "old-bank"], status: "retired", label: "Retired token" });
  await addDevice(t, { protects: ["bank-portal"], location: "Safe A, London" });
  await addDevice(t, { protects: ["bank-portal"], location: "safe a, london " });
  await addDevice(t, { protects: ["idp-admin"], status: "lost", serial: "LOST-1" });
  await addDevice(t, { protects: ["vpn"], kind: "fido2", location: "Safe B", batteryExpires: inDays(45) });
});
afterAll(async () => {
  await t?.close();
});

async function coverage(query = "") {
  const response = await t.call("GET", `/v1/coverage${query}`, { token: root });
  expect(response.status).toBe(200);
  return response.json.data;
}

const flagsByAccount = (data: { accounts: { account: string; flags: { flag: string }[] }[] }) =>
  Object.fromEntries(
    data.accounts.map((account) => [account.account, account.flags.map((flag) => flag.flag)]),
  );

describe("GET /v1/coverage", () => {
  it("lists every protected account, flagged where one loss or one place could lock it out", async () => {
    const data = await coverage();
    expect(data.due_within_days).toBe(30);
    expect(flagsByAccount(data)).toEqual({
      "aws-prod-root": ["single-factor"], // breakglass alone
      "bank-portal": ["one-location"], // two devices, one safe
      "idp-admin": ["single-factor"], // its only device is lost
      registrar: [], // breakglass and a device in another safe
      vpn: ["single-factor"],
    });
    expect(data.flagged).toBe(4);
    const byName = Object.fromEntries(
      data.accounts.map((account: { account: string }) => [account.account, account]),
    );
    expect(byName["aws-prod-root"]).toMatchObject({
      credential: "aws-prod-root",
      credentials: ["aws-prod-root"],
      issuer: "AWS",
    });
    expect(byName["aws-prod-root"].factors).toEqual([
      expect.objectContaining({ kind: "virtual-mfa", location: "breakglass", usable: true, device_id: null }),
    ]);
    expect(byName["aws-prod-root"].flags[0].text).toMatch(
      /one factor only \(the virtual MFA in breakglass\)/,
    );
    expect(byName["bank-portal"]).toMatchObject({ credential: null, credentials: [], issuer: null });
    // The lost device is shown, not counted; the retired one is not there at all.
    expect(byName["idp-admin"].factors.map((factor: { serial: string }) => factor.serial)).toEqual([
      null,
      "LOST-1",
    ]);
    expect(byName["idp-admin"].factors[1]).toMatchObject({ status: "lost", usable: false });
    expect(byName.registrar.factors.map((factor: { label: string }) => factor.label)).not.toContain(
      "Retired token",
    );
  });

  it("counts a battery as due within the window asked for", async () => {
    expect(flagsByAccount(await coverage("?due_within=60d")).vpn).toEqual(["single-factor", "all-due"]);
    const weeks = await coverage("?due_within=8w");
    expect(weeks.due_within_days).toBe(56);
    const vpn = weeks.accounts.find((account: { account: string }) => account.account === "vpn");
    expect(vpn.factors[0].due).toEqual([{ what: "battery", date: inDays(45), days_left: 45 }]);
  });

  it("groups the credentials of one issuer and account name: three for AWS root are one account, one flag", async () => {
    const more = ["aws-prod-root-2", "aws-prod-root-3"];
    for (const name of more) {
      const url = `otpauth://totp/AWS:admin@acme.example?secret=${encodeBase32Upper(randomBytes(20))}&issuer=AWS`;
      expect((await t.call("POST", `/v1/totp/keys/${name}`, { token: root, body: { url } })).status).toBe(
        204,
      );
    }
    try {
      const data = await coverage();
      const aws = data.accounts.filter((account: { issuer: string | null }) => account.issuer === "AWS");
      expect(aws).toHaveLength(1);
      expect(aws[0]).toMatchObject({
        account: "aws-prod-root",
        credential: "aws-prod-root",
        credentials: ["aws-prod-root", ...more],
        account_name: "admin@acme.example",
      });
      expect(aws[0].factors.map((factor: { kind: string }) => factor.kind)).toEqual([
        "virtual-mfa",
        "virtual-mfa",
        "virtual-mfa",
      ]);
      expect(aws[0].flags.map((flag: { flag: string }) => flag.flag)).toEqual(["one-location"]);
      expect(data.flagged).toBe(4);
    } finally {
      for (const name of more) await t.call("DELETE", `/v1/totp/keys/${name}`, { token: root });
    }
  });

  it("refuses a bad window with a clear 400, and callers without devices.read with a 403", async () => {
    for (const bad of ["abc", "30", "-5d", "99999d", "4000d"]) {
      const response = await t.call("GET", `/v1/coverage?due_within=${bad}`, { token: root });
      expect(response.status).toBe(400);
      expect(response.json.errors[0]).toMatch(/due_within must be a number of days or weeks/);
    }
    expect((await t.call("GET", `/v1/coverage?due_within=${"9".repeat(100)}`, { token: root })).status).toBe(
      400,
    );
    expect((await t.call("GET", "/v1/coverage")).status).toBe(403);
  });

  it("is on the audit log", async () => {
    const audit = await t.call("GET", "/v1/audit?action=devices.coverage&outcome=allowed&limit=100", {
      token: root,
    });
    expect(audit.json.data.entries.length).toBeGreaterThan(0);
    expect(audit.json.data.entries.at(-1)).toMatchObject({ target: "coverage", outcome: "allowed" });
  });
});

describe("breakglass coverage", () => {
  it("prints each account with its factors and flags, or the API's JSON", async () => {
    const cli = new Cli({ BREAKGLASS_ADDR: t.server.url, BREAKGLASS_TOKEN: root });
    const human = await cli.run(["coverage", "--due-within", "60d"]);
    expect(human.code).toBe(0);
    expect(human.stdout).toMatch(/^aws-prod-root \(AWS: admin@acme\.example\)$/m);
    expect(human.stdout).toMatch(/! one-location: all 2 devices of bank-portal are in one place/);
    expect(human.stdout).toMatch(/fido2 .*battery due/);
    expect(human.stdout).toMatch(/5 accounts, 4 flagged \(due within 60 days\)\.$/m);
    expect((await cli.json(["coverage"])).flagged).toBe(4);
    const bad = await cli.run(["coverage", "--due-within", "soon"]);
    expect(bad.code).toBe(1);
    expect(bad.stderr).toMatch(/^error: due_within must be a number of days or weeks.*/);
  });
});
