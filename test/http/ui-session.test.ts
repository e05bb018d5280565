import { execFileSync } from "node:child_process";
import { randomBytes } from "node:crypto";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { encodeBase32Upper } from "../support/encodings.js";
import {
  type ApiResponse,
  initAndUnseal,
  RELEASED_CODE,
  startTestServer,
  type TestServer,
} from "../support/server.js";
import { oathtoolCode } from "../support/tools.js";

/** Browser sessions: the token in an HttpOnly cookie, never in the JSON; writes need the CSRF header. */

let t: TestServer;
let root: string;
const passwords = { alice: "alice has a long password", dave: "dave has a long password" };
const SESSION_COOKIE =
  /^bg_session=(bgs\.[A-Za-z0-9_-]+); HttpOnly; Secure; SameSite=Strict; Path=\/; Max-Age=(\d+)$/;
const JSON_TYPE = { "Content-Type": "application/json" };
/** What a browser says of a request made by this server's own page. */
const OWN_PAGE = { "Sec-Fetch-Site": "same-origin" };

beforeAll(async () => {
  t = await startTestServer({ captureLog: true });
  root = (await initAndUnseal(t)).rootToken;
  await t.call("POST", "/v1/totp/keys/aws-prod-root", {
    token: root,
    body: { key: encodeBase32Upper(randomBytes(20)) },
  });
  await t.call("PUT", "/v1/auth/userpass/users/alice", { token: root, body: { password: passwords.alice } });
  await t.call("PUT", "/v1/auth/userpass/users/dave", {
    token: root,
    body: { password: passwords.dave, display_name: "Dave D.", require_mfa: true },
  });
  await t.call("PUT", "/v1/groups/oncall", {
    token: root,
    body: { members: ["alice", "dave"], policies: ["totp-reader"] },
  });
});
afterAll(async () => {
  await t.close();
});

interface Session {
  token: string;
  maxAge: number;
  response: ApiResponse;
  /**
   * Headers for a later call in this session, as our page sends them: the cookie, Sec-Fetch-Site,
   * and the CSRF header unless told otherwise.
   */
  headers(csrf?: string | null): Record<string, string>;
}

async function openSession(body: Record<string, string>): Promise<Session> {
  const response = await t.call("POST", "/v1/ui/session", { body, headers: JSON_TYPE });
  expect(response.status, response.text).toBe(200);
  const match = (response.headers.get("set-cookie") ?? "").match(SESSION_COOKIE);
  expect(match, `Set-Cookie: ${response.headers.get("set-cookie")}`).not.toBeNull();
  const token = match?.[1] as string;
  return {
    token,
    maxAge: Number(match?.[2]),
    response,
    headers: (csrf = response.json.data.csrf_token) => ({
      ...OWN_PAGE,
      Cookie: `bg_session=${token}`,
      ...(csrf === null ? {} : { "X-Breakglass-CSRF": csrf }),
    }),
  };
}

const keyExists = async (name: string) =>
  (await t.call("GET", `/v1/totp/keys/${name}`, { token: root })).status === 200;
const deniedAudits = async (action: string) =>
  (await t.call("GET", `/v1/audit?action=${action}&outcome=denied&limit=100000`, { token: root })).json.data
    .entries;

describe("opening a session", () => {
  it("with a password: the cookie is HttpOnly, Secure, SameSite=Strict, for the token's life; the JSON never holds the token", async () => {
    const session = await openSession({ username: "alice", password: passwords.alice });
    expect(session.maxAge).toBeGreaterThan(8 * 3600 - 5);
    expect(session.maxAge).toBeLessThanOrEqual(8 * 3600);
    expect(session.response.text).not.toContain(session.token);
    expect(session.response.text).not.toContain(session.token.slice(4)); // nor its random part
    expect(session.response.json.data).toEqual({
      csrf_token: expect.stringMatching(/^[A-Za-z0-9_-]{43}$/),
      username: "alice",
      display_name: "alice",
      policies: ["totp-reader", "default"],
      expires_at: expect.any(String),
      second_factor: "none",
      require_second_factor: false,
    });
    expect(Date.parse(session.response.json.data.expires_at) - Date.now()).toBeGreaterThan(
      (session.maxAge - 5) * 1000,
    );
    // The cookie holds a real login token (an API client could use it the same way).
    const self = await t.call("GET", "/v1/auth/token/lookup-self", { token: session.token });
    expect(self.json.data.display_name).toBe("userpass-alice");
  });

  it("with an existing token: the cookie carries a child of it for 8 h; signing out ends the child, not the token", async () => {
    const session = await openSession({ token: root });
    expect(session.token).not.toBe(root);
    expect(session.maxAge).toBeGreaterThan(8 * 3600 - 5); // until the child's expiry, counted at answer time
    expect(session.response.text).not.toContain(root);
    expect(session.response.json.data).toMatchObject({
      username: null,
      display_name: "root",
      policies: ["root"],
      second_factor: "none",
      require_second_factor: false,
    });
    expect(Date.parse(session.response.json.data.expires_at) - Date.now()).toBeGreaterThan(
      8 * 3600_000 - 60_000,
    );
    const opened = (await t.call("GET", "/v1/audit?action=ui.session.open&limit=100000", { token: root }))
      .json.data.entries;
    expect(opened.at(-1)).toMatchObject({ outcome: "allowed" });
    const cookie = `bg_session=${session.token}`;
    const csrf = session.response.json.data.csrf_token;
    const out = await t.call("DELETE", "/v1/ui/session", {
      headers: { ...OWN_PAGE, cookie, "x-breakglass-csrf": csrf },
    });
    expect(out.status).toBe(204);
    expect((await t.call("GET", "/v1/ui/session", { headers: { ...OWN_PAGE, cookie } })).json).toEqual({
      data: null,
    });
    expect((await t.call("GET", "/v1/auth/token/lookup-self", { token: root })).status).toBe(200);
  });

  it("with an expiring token: the cookie ends when the token does", async () => {
    const created = await t.call("POST", "/v1/auth/token/create", {
      token: root,
      body: { policies: ["default"], ttl: "90s" },
    });
    const session = await openSession({ token: created.json.auth.client_token });
    expect(session.maxAge).toBeGreaterThan(80);
    expect(session.maxAge).toBeLessThanOrEqual(90);
  });

  it.each([
    [
      "a wrong password",
      { username: "alice", password: "not alice's password" },
      400,
      /^invalid username or password$/,
    ],
    [
      "an unknown user",
      { username: "zed", password: "whatever it may be" },
      400,
      /^invalid username or password$/,
    ],
    ["an unknown token", { token: `bgs.${"A".repeat(43)}` }, 403, /^permission denied$/],
    ["a malformed token", { token: "not a token" }, 403, /^permission denied$/],
    ["neither", {}, 400, /give either username and password/],
    [
      "both",
      { username: "alice", password: passwords.alice, token: `bgs.${"A".repeat(43)}` },
      400,
      /give either/,
    ],
    ["a password without a username", { password: passwords.alice }, 400, /give either/],
    ["a too-long token", { token: "x".repeat(300) }, 400, /body.token must NOT have more than 200/],
  ])("%s is refused with a message and no cookie", async (_what, body, status, message) => {
    const response = await t.call("POST", "/v1/ui/session", { body, headers: JSON_TYPE });
    expect(response.status).toBe(status);
    expect(response.json.errors).toHaveLength(1);
    expect(response.json.errors[0]).toMatch(message);
    expect(response.headers.get("set-cookie")).toBeNull();
    expect(response.text).not.toContain(root);
  });

  it("refuses a body not sent as JSON, so no other site's form can log a browser in", async () => {
    const response = await t.call("POST", "/v1/ui/session", {
      body: { username: "alice", password: passwords.alice },
      headers: { "Content-Type": "text/plain" },
    });
    expect(response.status).toBe(400);
    expect(response.json.errors).toEqual(["send the body as JSON with Content-Type: application/json"]);
    expect(response.headers.get("set-cookie")).toBeNull();
  });
});

describe("using a session", () => {
  it("GET /v1/ui/session describes the cookie's session; none, a bogus or an ambiguous cookie is 403", async () => {
    const session = await openSession({ username: "alice", password: passwords.alice });
    const described = await t.call("GET", "/v1/ui/session", { headers: session.headers(null) });
    expect(described.status).toBe(200);
    expect(described.json.data).toEqual(session.response.json.data);
    expect(described.text).not.toContain(session.token);
    for (const cookie of [
      undefined,
      `bg_session=bgs.${"B".repeat(43)}`,
      "bg_session=",
      `bg_session=${session.token}; bg_session=bgs.${"C".repeat(43)}`, // one planted beside ours
      `other=${session.token}`,
    ]) {
      // No session is an answer, not an error: a page load before signing in logs nothing.
      const response = await t.call("GET", "/v1/ui/session", {
        headers: cookie ? { ...OWN_PAGE, Cookie: cookie } : OWN_PAGE,
      });
      expect(response.status, cookie).toBe(200);
      expect(response.json).toEqual({ data: null });
    }
  });

  it("a cookie alone reads (GET) what its token may read, as alice on the audit log (the token beside her)", async () => {
    const session = await openSession({ username: "alice", password: passwords.alice });
    const code = await t.call("GET", "/v1/totp/code/aws-prod-root", { headers: session.headers(null) });
    expect(code.status).toBe(200);
    expect(code.json.data.code).toMatch(/^\d{6}$/);
    const accessor = (await t.call("GET", "/v1/auth/token/lookup-self", { token: session.token })).json.data
      .accessor;
    const reads = (await t.call("GET", "/v1/audit?action=totp.code.read&limit=100000", { token: root })).json
      .data.entries;
    expect(reads.at(-1)).toMatchObject({ actor: "user:alice", token: accessor, outcome: "allowed" });
  });

  it("a write with the cookie but without the CSRF header, or a wrong one, is 403, audited, and changes nothing", async () => {
    const session = await openSession({ token: root });
    const other = await openSession({ username: "alice", password: passwords.alice });
    const before = (await deniedAudits("totp.key.write")).length;
    for (const csrf of [null, "", "wrong", other.response.json.data.csrf_token, session.token]) {
      for (const method of ["POST", "PUT"]) {
        const response = await t.call(method, "/v1/totp/keys/made-by-csrf", {
          headers: session.headers(csrf),
          body: { generate: true, issuer: "x", account_name: "y" },
        });
        expect(response.status, `${method} with ${csrf}`).toBe(403);
        expect(response.json.errors).toEqual(["missing or wrong CSRF token: reload the page"]);
      }
    }
    expect(await keyExists("made-by-csrf")).toBe(false);
    const denials = (await deniedAudits("totp.key.write")).slice(before);
    expect(denials).toHaveLength(10);
    expect(denials[0].details).toEqual({ problem: "no CSRF token" });
    expect(denials[2].details).toEqual({ problem: "no CSRF token" }); // an empty header
    expect(denials[4].details).toEqual({ problem: "wrong CSRF token" });
    expect(
      (await t.call("DELETE", "/v1/totp/keys/aws-prod-root", { headers: session.headers(null) })).status,
    ).toBe(403);
    expect(await keyExists("aws-prod-root")).toBe(true);
  });

  it("with the right CSRF header, the cookie's writes work", async () => {
    const session = await openSession({ token: root });
    const created = await t.call("POST", "/v1/totp/keys/made-in-browser", {
      headers: session.headers(),
      body: { generate: true, exported: false, issuer: "x", account_name: "y" },
    });
    expect(created.status, created.text).toBeLessThan(300);
    expect(await keyExists("made-in-browser")).toBe(true);
    const deleted = await t.call("DELETE", "/v1/totp/keys/made-in-browser", { headers: session.headers() });
    expect(deleted.status).toBe(204);
    expect(await keyExists("made-in-browser")).toBe(false);
  });

  it("API clients with a header token need no CSRF header, and their header wins over any cookie", async () => {
    const alice = await openSession({ username: "alice", password: passwords.alice });
    const created = await t.call("POST", "/v1/totp/keys/made-by-api", {
      token: root,
      headers: { Cookie: `bg_session=${alice.token}` },
      body: { generate: true, exported: false, issuer: "x", account_name: "y" },
    });
    expect(created.status, created.text).toBeLessThan(300);
    const bearer = await t.call("DELETE", "/v1/totp/keys/made-by-api", {
      headers: { Authorization: `Bearer ${root}`, Cookie: `bg_session=${alice.token}` },
    });
    expect(bearer.status).toBe(204);
    // A header that holds no token does not fall back to the cookie.
    const emptyBearer = await t.call("GET", "/v1/auth/token/lookup-self", {
      headers: { Authorization: "Basic eDp5", Cookie: `bg_session=${alice.token}` },
    });
    expect(emptyBearer.status).toBe(403);
  });

  it("every /v1/ answer forbids caching and sniffing; the codes above were never cacheable", async () => {
    for (const response of [
      await t.call("GET", "/v1/totp/code/aws-prod-root", { token: root }),
      await t.call("GET", "/v1/ui/session"),
      await t.call("GET", "/v1/no/such/path"),
    ]) {
      expect(response.headers.get("cache-control")).toBe("no-store");
      expect(response.headers.get("x-content-type-options")).toBe("nosniff");
    }
  });

  it("a code answer carries the server's time in milliseconds, between request and answer", async () => {
    const before = Date.now();
    const response = await t.call("GET", "/v1/totp/code/aws-prod-root", { token: root });
    const after = Date.now();
    const { server_time: serverTime, expires_at: expiresAt, period } = response.json.data;
    expect(serverTime).toBeGreaterThanOrEqual(before);
    expect(serverTime).toBeLessThanOrEqual(after);
    expect(expiresAt * 1000 - serverTime).toBeLessThanOrEqual(period * 1000);
  });
});

describe("a person with a second factor", () => {
  let seedHex: string;

  it("required but not enabled: the session says so and can enrol it, with the CSRF header", async () => {
    const session = await openSession({ username: "dave", password: passwords.dave });
    expect(session.response.json.data).toMatchObject({
      username: "dave",
      display_name: "Dave D.",
      policies: ["mfa-enrolment"],
      second_factor: "none",
      require_second_factor: true,
    });
    expect(
      (await t.call("POST", "/v1/auth/userpass/mfa", { headers: session.headers(null), body: {} })).status,
    ).toBe(403);
    const enrolment = await t.call("POST", "/v1/auth/userpass/mfa", { headers: session.headers(), body: {} });
    expect(enrolment.status).toBe(200);
    const pending = await t.call("GET", "/v1/ui/session", { headers: session.headers(null) });
    expect(pending.json.data.second_factor).toBe("pending");
    const secret = new URL(enrolment.json.data.url).searchParams.get("secret") as string;
    const python = "import base64,sys; s=sys.argv[1]; print(base64.b32decode(s + '=' * (-len(s) % 8)).hex())";
    seedHex = execFileSync("python3", ["-c", python, secret], { encoding: "utf8" }).trim();
    const code = codeAt(0);
    const confirmed = await t.call("POST", "/v1/auth/userpass/mfa/confirm", {
      headers: session.headers(),
      body: { code },
    });
    expect(confirmed.status).toBe(204);
    const enabled = await t.call("GET", "/v1/ui/session", { headers: session.headers(null) });
    expect(enabled.json.data).toMatchObject({
      second_factor: "enabled",
      policies: ["totp-reader", "default"],
    });
  });

  it("enabled: a session needs its code, refused without it exactly like a wrong password", async () => {
    const noCode = await t.call("POST", "/v1/ui/session", {
      body: { username: "dave", password: passwords.dave },
      headers: JSON_TYPE,
    });
    expect(noCode.status).toBe(400);
    expect(noCode.json.errors).toEqual(["invalid username or password"]);
    expect(noCode.headers.get("set-cookie")).toBeNull();
    const wrongCode = await t.call("POST", "/v1/ui/session", {
      body: { username: "dave", password: passwords.dave, totp: "000000" },
      headers: JSON_TYPE,
    });
    expect(wrongCode.status).toBe(400);
    // The confirmation used this step's code; the next step's is within the skew.
    const session = await openSession({ username: "dave", password: passwords.dave, totp: codeAt(30) });
    expect(session.response.json.data).toMatchObject({
      second_factor: "enabled",
      require_second_factor: true,
    });
  });

  function codeAt(offsetSeconds: number): string {
    return oathtoolCode(seedHex, {
      algorithm: "SHA1",
      digits: 6,
      period: 30,
      unixSeconds: Math.floor(Date.now() / 1000) + offsetSeconds,
    });
  }
});

describe("a session cookie sent by a page other than ours (a sibling subdomain is the same site)", () => {
  const auditOf = async (action: string) =>
    (await t.call("GET", `/v1/audit?action=${action}&limit=100000`, { token: root })).json.data.entries as {
      outcome: string;
      reason: string | null;
      details: Record<string, unknown> | null;
    }[];

  it.each([
    ["same-site", "same-site"],
    ["cross-site", "cross-site"],
    [undefined, "missing"],
    ["bogus", "unknown"],
  ])(
    "Sec-Fetch-Site %s: a code read (<img src=…?reason=…>) is refused 403 and audited as denied, nothing read",
    async (site, named) => {
      const session = await openSession({ username: "alice", password: passwords.alice });
      const readsBefore = await auditOf("totp.code.read");
      const response = await t.call("GET", "/v1/totp/code/aws-prod-root?reason=planted%20by%20a%20sibling", {
        headers: { Cookie: `bg_session=${session.token}`, ...(site ? { "Sec-Fetch-Site": site } : {}) },
      });
      expect(response.status).toBe(403);
      expect(response.json.errors).toEqual([
        `permission denied: the session cookie is accepted only from this server's own pages (Sec-Fetch-Site: ${named})`,
      ]);
      expect(response.text).not.toMatch(RELEASED_CODE);
      const added = (await auditOf("totp.code.read")).slice(readsBefore.length);
      expect(added).toHaveLength(1);
      expect(added[0]).toMatchObject({
        outcome: "denied",
        details: { problem: `session cookie on a request from another page (Sec-Fetch-Site: ${named})` },
      });
      expect(added.some((entry) => entry.reason === "planted by a sibling")).toBe(false);
    },
  );

  it("a write from a sibling subdomain is refused even with the right CSRF token, and nothing is stored", async () => {
    const session = await openSession({ token: root });
    const response = await t.call("POST", "/v1/totp/keys/made-by-a-sibling", {
      headers: { ...session.headers(), "Sec-Fetch-Site": "same-site" },
      body: { generate: true, exported: false, issuer: "x", account_name: "y" },
    });
    expect(response.status).toBe(403);
    expect(await keyExists("made-by-a-sibling")).toBe(false);
  });

  it("GET /v1/ui/session is refused too, and the cookie is kept (another page cannot sign the person out)", async () => {
    const session = await openSession({ username: "alice", password: passwords.alice });
    const response = await t.call("GET", "/v1/ui/session", {
      headers: { Cookie: `bg_session=${session.token}`, "Sec-Fetch-Site": "same-site" },
    });
    expect(response.status).toBe(403);
    expect(response.text).not.toContain("csrf_token");
    expect(response.headers.get("set-cookie")).toBeNull();
    expect((await t.call("GET", "/v1/ui/session", { headers: session.headers(null) })).status).toBe(200);
  });

  it("our own page (same-origin) and what the person typed or bookmarked (none) read as before", async () => {
    const session = await openSession({ username: "alice", password: passwords.alice });
    for (const site of ["same-origin", "none"]) {
      const response = await t.call("GET", "/v1/totp/code/aws-prod-root?reason=on%20call", {
        headers: { Cookie: `bg_session=${session.token}`, "Sec-Fetch-Site": site },
      });
      expect(response.status, site).toBe(200);
      expect(response.json.data.code).toMatch(/^\d{6}$/);
    }
  });

  it("API clients, which send a token header and no cookie, are not affected whatever Sec-Fetch-Site says", async () => {
    for (const site of ["same-site", "cross-site"])
      expect(
        (
          await t.call("GET", "/v1/totp/code/aws-prod-root?reason=api", {
            token: root,
            headers: { "Sec-Fetch-Site": site },
          })
        ).status,
        site,
      ).toBe(200);
  });
});

describe("logging out", () => {
  it("needs the CSRF header, revokes the token, clears the cookie; the replayed cookie no longer works", async () => {
    const session = await openSession({ username: "alice", password: passwords.alice });
    const forged = await t.call("DELETE", "/v1/ui/session", { headers: session.headers(null) });
    expect(forged.status).toBe(403);
    expect((await t.call("GET", "/v1/ui/session", { headers: session.headers(null) })).status).toBe(200);
    const out = await t.call("DELETE", "/v1/ui/session", { headers: session.headers() });
    expect(out.status).toBe(204);
    expect(out.headers.get("set-cookie")).toBe(
      "bg_session=; HttpOnly; Secure; SameSite=Strict; Path=/; Max-Age=0",
    );
    const after = await t.call("GET", "/v1/ui/session", { headers: session.headers(null) });
    expect(after.json).toEqual({ data: null });
    expect(after.headers.get("set-cookie")).toMatch(/^bg_session=; .*Max-Age=0/);
    expect((await t.call("GET", "/v1/auth/token/lookup-self", { token: session.token })).status).toBe(403);
  });

  it("does not end an API client's token: that is revoke-self's job", async () => {
    const token = (
      await t.call("POST", "/v1/auth/userpass/login/alice", { body: { password: passwords.alice } })
    ).json.auth.client_token;
    const response = await t.call("DELETE", "/v1/ui/session", { token });
    expect(response.status).toBe(400);
    expect(response.json.errors[0]).toMatch(/revoke-self/);
    expect((await t.call("GET", "/v1/auth/token/lookup-self", { token })).status).toBe(200);
  });
});

describe("the log", () => {
  it("holds no token and no password", () => {
    const log = t.log();
    expect(log.length).toBeGreaterThan(1000);
    expect(log).not.toContain(root);
    expect(log).not.toContain("bgs.");
    for (const password of Object.values(passwords)) expect(log).not.toContain(password);
  });
});

describe("lockout (last: it locks this address out)", () => {
  it("applies to sessions as to userpass logins, and the right password is refused during it", async () => {
    const statuses: number[] = [];
    for (let i = 0; i < 8; i++)
      statuses.push(
        (
          await t.call("POST", "/v1/ui/session", {
            body: { username: "alice", password: `wrong password number ${i}` },
            headers: JSON_TYPE,
          })
        ).status,
      );
    expect(statuses.slice(0, 4)).toEqual([400, 400, 400, 400]);
    expect(statuses.slice(5).every((status) => status === 429)).toBe(true);
    const right = await t.call("POST", "/v1/ui/session", {
      body: { username: "alice", password: passwords.alice },
      headers: JSON_TYPE,
    });
    expect(right.status).toBe(429);
    expect(right.json.errors[0]).toMatch(
      /^too many failed logins for this user or address: try again in \d+ s$/,
    );
    expect(right.headers.get("set-cookie")).toBeNull();
  });
});
