import { randomBytes } from "node:crypto";
import { readFileSync, statSync } from "node:fs";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { findSeedLeaks } from "../support/encodings.js";
import { callApi } from "../support/server.js";
import { storedBytes } from "../support/storage.js";
import { Cli, initialisedServer, type ServerProcess } from "./cli-harness.js";

const newPassword = (hint: string) => `${hint}-${randomBytes(12).toString("base64url")}`;
const savedTokenOf = (cli: Cli) =>
  readFileSync(join(cli.home, ".config", "breakglass", "token"), "utf8").trim();

describe("people: users, groups and password logins through the CLI", () => {
  let server: ServerProcess;
  /** The operator, holding the root token. */
  let root: Cli;
  /** Each person's own terminal: their own HOME, no BREAKGLASS_TOKEN, only what their login saves. */
  const people: Record<string, Cli> = {};
  const passwords = { alice: newPassword("alice"), bob: newPassword("bob"), carol: newPassword("carol") };
  /** Every password typed in this file, right or wrong: none may be printed, logged or stored. */
  const typed: string[] = Object.values(passwords);
  /** The failed logins made below, each of which the audit chain must show. */
  let failedLogins = 0;
  let bobFailures = 0;

  const loginAs = (name: string, password: string) => {
    typed.push(password);
    return (people[name] as Cli).run(["login", "--method", "userpass", "--username", name, "-"], {
      input: `${password}\n`,
    });
  };

  beforeAll(async () => {
    ({ server, cli: root } = await initialisedServer());
    for (const name of ["alice", "bob", "carol", "nobody"])
      people[name] = new Cli({ BREAKGLASS_ADDR: server.url });
    const added = await root.run(["totp", "add", "aws-root", "--secret", "-"], { input: "JBSWY3DPEHPK3PXP" });
    expect(added.code).toBe(0);
  });
  afterAll(async () => {
    await server?.stop();
  });

  it("root creates groups, then users in them, one short line each", async () => {
    expect(await root.run(["groups", "set", "oncall", "--policies", "totp-reader"])).toMatchObject({
      code: 0,
      stdout: "Group oncall created.\n",
    });
    expect(await root.run(["groups", "set", "security", "--members", ""])).toMatchObject({
      code: 0,
      stdout: "Group security created.\n",
    });
    const groupsOf: Record<string, string[]> = {
      alice: ["--groups", "oncall"],
      bob: ["--groups", "security"],
    };
    for (const [name, password] of Object.entries(passwords)) {
      const added = await root.run(["users", "add", name, "--password", "-", ...(groupsOf[name] ?? [])], {
        input: `${password}\n`,
      });
      expect(added).toMatchObject({ code: 0, stdout: `User ${name} created.\n`, stderr: "" });
    }
    expect(await root.run(["users", "list"])).toMatchObject({ code: 0, stdout: "alice\nbob\ncarol\n" });
    expect(await root.json(["groups", "list"])).toEqual({ keys: ["oncall", "security"] });
    expect(await root.json(["groups", "show", "oncall"])).toMatchObject({
      name: "oncall",
      members: ["alice"],
      policies: ["totp-reader"],
    });
  });

  it("users show lists a user's groups and roles, and nothing of the password", async () => {
    const shown = await root.run(["users", "show", "alice"]);
    expect(shown.code).toBe(0);
    expect(shown.stdout).toMatch(/^Username +alice$/m);
    expect(shown.stdout).toMatch(/^Groups +oncall$/m);
    const data = await root.json(["users", "show", "alice"]);
    expect(data).toMatchObject({
      username: "alice",
      groups: ["oncall"],
      token_policies: [],
      locked_until: null,
    });
    expect(JSON.stringify(data)).not.toMatch(/password|hash|argon/i);
    expect(await root.json(["users", "show", "carol"])).toMatchObject({ groups: [] });
  });

  it("users set and groups set change only what is given", async () => {
    const set = await root.run([
      "users",
      "set",
      "bob",
      "--email",
      "bob@example.com",
      "--display-name",
      "Bob B",
    ]);
    expect(set).toMatchObject({ code: 0, stdout: "User bob updated.\n" });
    expect(await root.json(["users", "show", "bob"])).toMatchObject({
      email: "bob@example.com",
      display_name: "Bob B",
      groups: ["security"],
      token_policies: [],
    });
    expect(await root.run(["groups", "set", "security", "--members", "bob,carol"])).toMatchObject({
      code: 0,
      stdout: "Group security updated.\n",
    });
    expect(await root.run(["groups", "set", "security", "--policies", "auditor"])).toMatchObject({ code: 0 });
    expect(await root.json(["groups", "show", "security"])).toMatchObject({
      members: ["bob", "carol"],
      policies: ["auditor"],
    });
    expect(await root.json(["users", "show", "carol"])).toMatchObject({ groups: ["security"] });
    expect(await root.run(["users", "set", "carol", "--groups", ""])).toMatchObject({ code: 0 });
    expect(await root.json(["groups", "show", "security"])).toMatchObject({ members: ["bob"] });
  });

  it("alice logs in with her password on stdin: the token is saved 0600 and neither is printed", async () => {
    const login = await loginAs("alice", passwords.alice);
    expect(login.stderr).toBe("");
    expect(login.code).toBe(0);
    expect(login.stdout).toMatch(
      /^Logged in as alice \(policies: [^)]*\btotp-reader\b[^)]*\), token expires in \d+[dhms]\S*\.\nToken saved to \S+\.\n$/,
    );
    const alice = people.alice as Cli;
    expect(login.stdout).not.toContain(savedTokenOf(alice));
    expect(statSync(join(alice.home, ".config", "breakglass", "token")).mode & 0o777).toBe(0o600);
  });

  it("with her saved token alice may do what her group's totp-reader role allows, and no more", async () => {
    const alice = people.alice as Cli;
    expect(await alice.run(["totp", "list"])).toMatchObject({ code: 0, stdout: "aws-root\n" });
    const code = await alice.run(["totp", "code", "aws-root"]);
    expect(code.code).toBe(0);
    expect(code.stdout).toMatch(/^\d{6} {2}\(valid for \d+s/);
    const add = await alice.run(["totp", "add", "mine", "--secret", "-"], { input: "JBSWY3DPEHPK3PXP" });
    expect(add.code).toBe(1);
    expect(add.stderr).toMatch(/^error: .*\n$/);
    const users = await alice.run(["users", "list"]);
    expect(users.code).toBe(1);
    expect(users.stderr).toMatch(/^error: [^\n]*\n$/);
  });

  it("carol, in no group and with no role, may read no code", async () => {
    expect((await loginAs("carol", passwords.carol)).stdout).toMatch(
      /^Logged in as carol \(policies: [^)]*\)/,
    );
    const code = await (people.carol as Cli).run(["totp", "code", "aws-root"]);
    expect(code.code).toBe(1);
    expect(code.stderr).toMatch(/^error: [^\n]*\n$/);
  });

  it("a new password ends the tokens made with the old one; the new one logs in", async () => {
    const carol = people.carol as Cli;
    const before = savedTokenOf(carol);
    expect((await callApi(server.url, "GET", "/v1/auth/token/lookup-self", { token: before })).status).toBe(
      200,
    );
    passwords.carol = newPassword("carol-new");
    typed.push(passwords.carol);
    const set = await root.run(["users", "set", "carol", "--password", "-"], { input: passwords.carol });
    expect(set).toMatchObject({ code: 0, stdout: "User carol updated.\n" });
    expect((await callApi(server.url, "GET", "/v1/auth/token/lookup-self", { token: before })).status).toBe(
      403,
    );
    expect((await loginAs("carol", passwords.carol)).code).toBe(0);
    expect(savedTokenOf(carol)).not.toBe(before);
  });

  it("a wrong password, or an unknown user: exit 1, Vault's message, and the saved token stays", async () => {
    for (const name of ["alice", "nobody"]) {
      const refused = await loginAs(name, newPassword("wrong"));
      failedLogins += 1;
      expect(refused).toMatchObject({
        code: 1,
        stdout: "",
        stderr: "error: invalid username or password\n",
      });
    }
    expect((await (people.alice as Cli).run(["totp", "list"])).code).toBe(0);
  });

  it("usage errors exit 2; refusals exit 1; each with one line on stderr", async () => {
    const usage = [
      ["login", "--method", "userpass", "-"],
      ["login", "--method", "kerberos", "-"],
      ["login", "--username", "alice", "-"],
      ["users", "set", "bob"],
      ["users", "add"],
      ["groups", "set", "oncall"],
      ["users", "add", "dave", "--password", "x", "--password-prompt"],
    ];
    for (const args of usage) {
      const result = await root.run(args, { input: "" });
      expect({ args, code: result.code, lines: result.stderr.trimEnd().split("\n").length }).toEqual({
        args,
        code: 2,
        lines: 1,
      });
    }
    const short = "short-pw";
    typed.push(short);
    const refusals: [string[], RegExp][] = [
      [["users", "add", "dave", "--password", "-"], /^error: password must be at least 12 characters\n$/],
      [["users", "add", "alice", "--password", "-"], /^error: user alice already exists: /],
      [["users", "add", "dave", "--password", "-", "--groups", "nope"], /^error: no group named nope.*\n$/],
      [["users", "add", "dave", "--password", "-", "--policies", "superuser"], /^error: [^\n]*\n$/],
      [["users", "show", "nobody"], /^error: .*\n$/],
      [["users", "set", "nobody", "--email", "n@example.com"], /^error: no user named nobody/],
      [["groups", "show", "nope"], /^error: .*\n$/],
      [["groups", "set", "oncall", "--members", "alice,ghost"], /^error: no user named ghost\n$/],
    ];
    for (const [args, message] of refusals) {
      const result = await root.run(args, { input: short });
      expect({ args, code: result.code, stdout: result.stdout }).toEqual({ args, code: 1, stdout: "" });
      expect(result.stderr).toMatch(message);
    }
    expect((await root.json(["users", "list"])).keys).toEqual(["alice", "bob", "carol"]);
    expect(await root.json(["groups", "show", "oncall"])).toMatchObject({ members: ["alice"] });
  });

  // After every other login: the lock may hold for the address as well as the user.
  it("after 20 wrong passwords in a row the right one is refused: 429, too many failed logins", async () => {
    /** A wrong guess at bob's password through the API; when locked out, for how many seconds. */
    const guess = async () => {
      const password = newPassword("guess");
      typed.push(password);
      const reply = await callApi(server.url, "POST", "/v1/auth/userpass/login/bob", { body: { password } });
      failedLogins += 1;
      bobFailures += 1;
      return { status: reply.status, lockedFor: Number(/try again in (\d+) s/.exec(reply.text)?.[1] ?? 0) };
    };
    const guesses = [];
    for (let attempt = 0; attempt < 20; attempt += 1) guesses.push(await guess());
    expect(guesses[0]?.status).toBe(400);
    expect(guesses.at(-1)?.status).toBe(429);
    expect(guesses.filter(({ status }) => status !== 400 && status !== 429)).toEqual([]);
    // Attempts while locked out do not lengthen the lock; outwait short ones, failing again each
    // time, until it holds long enough for the CLI (a new process) to still meet it.
    let lockedFor = guesses.at(-1)?.lockedFor ?? 0;
    for (let round = 0; round < 5 && lockedFor < 4; round += 1) {
      await new Promise((wait) => setTimeout(wait, lockedFor * 1000 + 100));
      expect((await guess()).status).toBe(400);
      lockedFor = (await guess()).lockedFor;
    }
    expect(lockedFor).toBeGreaterThanOrEqual(4);
    const refused = await loginAs("bob", passwords.bob);
    failedLogins += 1;
    bobFailures += 1;
    expect(refused.code).toBe(1);
    expect(refused.stderr).toMatch(
      /^error: too many failed logins for this user or address: try again in \d+ s\n$/,
    );
    expect((await root.json(["users", "show", "bob"])).locked_until).toEqual(expect.any(String));
  });

  it("every failed login is in the audit chain as auth.userpass.login, denied", async () => {
    const { entries } = await root.json([
      "audit",
      "list",
      "--action",
      "auth.userpass.login",
      "--outcome",
      "denied",
    ]);
    expect(entries).toHaveLength(failedLogins);
    expect(entries.filter((entry: { target: string }) => /\bbob\b/.test(entry.target))).toHaveLength(
      bobFailures,
    );
    const listed = await root.run([
      "audit",
      "list",
      "--action",
      "auth.userpass.login",
      "--outcome",
      "denied",
    ]);
    expect(listed.stdout.trimEnd().split("\n")).toHaveLength(1 + failedLogins); // the header, and a line each
  });

  it("users delete ends the user's saved token at once, and takes them out of their groups", async () => {
    expect(await root.run(["users", "delete", "alice"])).toMatchObject({ code: 0 });
    const after = await (people.alice as Cli).run(["totp", "list"]);
    expect(after.code).toBe(1);
    expect(after.stderr).toMatch(/^error: .*\n$/);
    expect((await root.run(["users", "show", "alice"])).code).toBe(1);
    expect(await root.json(["groups", "show", "oncall"])).toMatchObject({ members: [] });
    expect(await root.run(["groups", "delete", "security"])).toMatchObject({
      code: 0,
      stdout: "Group security deleted.\n",
    });
    expect(await root.run(["groups", "list"])).toMatchObject({ code: 0, stdout: "oncall\n" });
  });

  // Last on purpose: it inspects everything the tests above printed, logged and stored.
  it("no password appears in any CLI output, the server log, or anything stored", async () => {
    expect(typed.length).toBeGreaterThan(25);
    const places = [
      {
        where: "CLI output",
        content: [root, ...Object.values(people)].flatMap((cli) => cli.transcript).join("\n"),
      },
      { where: "server log", content: server.log() },
      ...storedBytes(server.storage),
    ];
    expect(
      findSeedLeaks(
        typed.map((password) => Buffer.from(password)),
        places,
      ),
    ).toEqual([]);
  });
});
