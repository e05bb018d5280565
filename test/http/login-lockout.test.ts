import { afterEach, describe, expect, it } from "vitest";
import { FREE_FAILURES, lockoutSeconds } from "../../src/core/people.js";
import { type ApiResponse, initAndUnseal, startTestServer, type TestServer } from "../support/server.js";
import { openRawDatabase, TEST_ENGINE } from "../support/storage.js";

/**
 * The lockout under attack: attempts are counted before their password is checked, so parallel
 * guesses cannot all pass one lock, and a person's success does not wipe what their address did
 * (README, "Logins"). Each test has a server of its own: they lock its one address out.
 */

const PASSWORD = "the victim's long passphrase";
const ENOUGH_FOR_A_FLOOD = { login: 100_000 };

let t: TestServer | undefined;
afterEach(async () => {
  await t?.close();
  t = undefined;
});

/** A server with one user, `victim`; returns it and the root token. */
async function serverWithVictim(): Promise<{ server: TestServer; root: string }> {
  const server = await startTestServer({ rateLimits: ENOUGH_FOR_A_FLOOD });
  t = server;
  const { rootToken } = await initAndUnseal(server);
  const created = await server.call("PUT", "/v1/auth/userpass/users/victim", {
    token: rootToken,
    body: { password: PASSWORD },
  });
  expect(created.status).toBe(204);
  return { server, root: rootToken };
}

const login = (server: TestServer, username: string, password: string) =>
  server.call("POST", `/v1/auth/userpass/login/${username}`, { body: { password } });

/** The login entries of the audit chain about `user:NAME`. */
async function loginEntries(server: TestServer, root: string, username: string) {
  const listed = await server.call(
    "GET",
    `/v1/audit?action=auth.userpass.login&target=user:${username}&limit=100000`,
    { token: root },
  );
  expect(listed.status).toBe(200);
  return listed.json.data.entries as { outcome: string; details: { problem?: string } }[];
}

const statusesOf = (answers: ApiResponse[]) => answers.map((answer) => answer.status);
const tally = (statuses: number[]) =>
  statuses.reduce<Record<number, number>>((counts, status) => {
    counts[status] = (counts[status] ?? 0) + 1;
    return counts;
  }, {});

describe("parallel guesses", () => {
  it("100 concurrent logins for one user, 99 wrong then the right one: at most the free attempts and one more have their password checked, the rest and the right password are refused with 429, no 5xx, and every attempt is audited", async () => {
    const { server, root } = await serverWithVictim();
    // The locks these guesses make last a second or two: on a loaded machine the 100 requests take
    // longer than that, and a lock that ends between them would let the right password in.
    server.clock.freeze();
    const wrong = Array.from({ length: 99 }, (_, i) => login(server, "victim", `wrong guess number ${i}`));
    await Promise.race(wrong); // the guesses are under way before the right password comes
    const right = login(server, "victim", PASSWORD);
    const answers = await Promise.all([...wrong, right]);
    const statuses = statusesOf(answers);
    console.log(`100 concurrent logins (${TEST_ENGINE}): statuses ${JSON.stringify(tally(statuses))}`);

    expect(statuses.filter((status) => status !== 400 && status !== 429)).toEqual([]);
    const rightAnswer = answers.at(-1) as ApiResponse;
    expect(rightAnswer.status).toBe(429);
    expect(rightAnswer.text).not.toContain("client_token");
    expect(Number(rightAnswer.headers.get("retry-after"))).toBeGreaterThan(0);

    const entries = await loginEntries(server, root, "victim");
    expect(entries).toHaveLength(100);
    expect(entries.every((entry) => entry.outcome === "denied")).toBe(true);
    const checked = entries.filter((entry) => entry.details.problem === "wrong password");
    const locked = entries.filter((entry) => entry.details.problem === "locked out after repeated failures");
    expect(checked.length).toBeGreaterThanOrEqual(1);
    expect(checked.length).toBeLessThanOrEqual(FREE_FAILURES.user + 1);
    expect(checked.length + locked.length).toBe(100);
    expect(statuses.filter((status) => status === 400)).toHaveLength(checked.length);
  });

  it("once a lock has ended, ten concurrent guesses get one password check between them: the others are refused", async () => {
    const { server, root } = await serverWithVictim();
    const failures = FREE_FAILURES.user + 1;
    for (let i = 0; i < failures; i++)
      expect((await login(server, "victim", `wrong guess number ${i}`)).status).toBe(400);
    const lockedFor = lockoutSeconds(failures, FREE_FAILURES.user);
    server.clock.advance(lockedFor * 1000 + 200);

    const guesses = await Promise.all(
      Array.from({ length: 10 }, (_, i) => login(server, "victim", `a later guess ${i}`)),
    );
    expect(tally(statusesOf(guesses))).toEqual({ 400: 1, 429: 9 });
    const checked = (await loginEntries(server, root, "victim")).filter(
      (entry) => entry.details.problem === "wrong password",
    );
    expect(checked).toHaveLength(FREE_FAILURES.user + 2);
  });
});

describe("an address's failures", () => {
  /** Fails `count` logins from this test's address, each for a different unknown name (no user's own lock is reached). */
  async function failFromThisAddress(server: TestServer, count: number, prefix: string) {
    for (let i = 0; i < count; i++)
      expect((await login(server, `${prefix}-${i}`, "a guess at some password")).status).toBe(400);
  }

  /** Five wrong logins at once, for five different unknown names: how many had their password checked (400). */
  async function checkedOfFiveAtOnce(server: TestServer, prefix: string): Promise<number> {
    const answers = await Promise.all(
      Array.from({ length: 5 }, (_, i) => login(server, `${prefix}-${i}`, "a guess at some password")),
    );
    const statuses = statusesOf(answers);
    expect(statuses.every((status) => status === 400 || status === 429)).toBe(true);
    return statuses.filter((status) => status === 400).length;
  }

  it("a success from an address does not reset the address's count: other accounts behind it stay locked", async () => {
    const { server } = await serverWithVictim();
    await failFromThisAddress(server, FREE_FAILURES.address, "sprayed");
    // The victim's own login succeeds from the same address...
    expect((await login(server, "victim", PASSWORD)).status).toBe(200);
    // ...and the spraying goes on where it was: one more is checked, then the address is locked.
    expect(await checkedOfFiveAtOnce(server, "after-success")).toBe(1);
  });

  it("an address's run of failures starts over once it began a day ago and an hour has passed without an attempt", async () => {
    const { server } = await serverWithVictim();
    await failFromThisAddress(server, FREE_FAILURES.address, "sprayed");
    const raw = await openRawDatabase(server.storage);
    const setRun = (firstAttemptAt: string, lastAttemptAt: string) =>
      raw.run(
        "update login_failures set first_attempt_at = ?, last_attempt_at = ? where subject like 'addr:%'",
        [firstAttemptAt, lastAttemptAt],
      );
    const hoursAgo = (hours: number) => new Date(Date.now() - hours * 3600_000).toISOString();
    try {
      // Quiet for two hours, but the run began only three hours ago: it goes on.
      await setRun(hoursAgo(3), hoursAgo(2));
      expect(await checkedOfFiveAtOnce(server, "same-run")).toBe(1);
      // Quiet for two hours, and the run began 25 hours ago: it starts over, all five are checked.
      await setRun(hoursAgo(25), hoursAgo(2));
      expect(await checkedOfFiveAtOnce(server, "new-run")).toBe(5);
    } finally {
      await raw.close();
    }
  });
});
