import { randomBytes } from "node:crypto";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { Cli, type CliResult, initialisedServer, type ServerProcess } from "./cli-harness.js";

const newPassword = (hint: string) => `${hint}-${randomBytes(12).toString("base64url")}`;
const KEY = "aws-prod-root";
const SEED = "JBSWY3DPEHPK3PXP";

describe("approvals: the two-person rule through the CLI", () => {
  let server: ServerProcess;
  /** The operator, holding the root token. */
  let root: Cli;
  let rootToken: string;
  let afterInit = 0;
  /** Each person's own terminal: their own HOME and XDG_CONFIG_HOME, only the token their login saved. */
  const people: Record<string, Cli> = {};
  const passwords = { alice: newPassword("alice"), bob: newPassword("bob"), carol: newPassword("carol") };
  const as = (name: keyof typeof passwords) => people[name] as Cli;

  beforeAll(async () => {
    ({ server, cli: root, rootToken } = await initialisedServer());
    // operator init printed the root token, as it must; everything after is checked below.
    afterInit = root.transcript.length;
    for (const name of Object.keys(passwords)) people[name] = new Cli({ BREAKGLASS_ADDR: server.url });
    expect((await root.run(["totp", "add", KEY, "--secret", "-"], { input: SEED })).code).toBe(0);
  });
  afterAll(async () => {
    await server?.stop();
  });

  it("root sets up groups, users and the access rule", async () => {
    expect((await root.run(["groups", "set", "oncall", "--members", ""])).code).toBe(0);
    expect((await root.run(["groups", "set", "security", "--members", ""])).code).toBe(0);
    const groupsOf: Record<string, string[]> = {
      alice: ["--groups", "oncall"],
      bob: ["--groups", "security"],
    };
    for (const [name, password] of Object.entries(passwords)) {
      const added = await root.run(["users", "add", name, "--password", "-", ...(groupsOf[name] ?? [])], {
        input: `${password}\n`,
      });
      expect(added).toMatchObject({ code: 0, stderr: "" });
    }
    const set = await root.run([
      "access",
      "set",
      KEY,
      "--readers",
      "group:oncall",
      "--approvers",
      "group:security",
      "--approvals",
      "1",
      "--require-reason",
      "--approval-ttl",
      "15m",
    ]);
    expect(set).toMatchObject({ code: 0, stderr: "" });
    expect(set.stdout).toMatch(/^Access rule for aws-prod-root set\.\n/);
    expect(await root.json(["access", "show", KEY])).toMatchObject({
      key: KEY,
      readers: ["group:oncall"],
      approvers: ["group:security"],
      approvals_required: 1,
      require_reason: true,
      approval_ttl: 900,
    });
    const shown = await root.run(["access", "show", KEY]);
    expect(shown.stdout).toMatch(/^Approvers +group:security$/m);
    expect(shown.stdout).toMatch(/^Approval lasts +15m$/m);
  });

  it("access set: usage errors exit 2 with one line", async () => {
    for (const args of [
      ["access", "set", KEY],
      ["access", "set", KEY, "--readers", "group:oncall", "--approvals", "one"],
      ["access", "set", KEY, "--readers", "group:oncall", "--approval-ttl", "soon"],
    ]) {
      const result = await root.run(args);
      expect({ args, code: result.code, lines: result.stderr.trimEnd().split("\n").length }).toEqual({
        args,
        code: 2,
        lines: 1,
      });
    }
  });

  it("each person logs in with their password in their own config directory", async () => {
    for (const [name, password] of Object.entries(passwords)) {
      const login = await (people[name] as Cli).run(
        ["login", "--method", "userpass", "--username", name, "-"],
        { input: `${password}\n` },
      );
      expect(login).toMatchObject({ code: 0, stderr: "" });
      expect(login.stdout).toMatch(new RegExp(`^Logged in as ${name} `));
    }
  });

  it("alice without a reason is refused, saying a reason is required", async () => {
    const result = await as("alice").run(["totp", "code", KEY]);
    expect(result).toMatchObject({ code: 1, stdout: "" });
    expect(result.stderr).toMatch(/^error: .*\breason\b.*\n$/);
  });

  it("alice with a reason but no approval is refused, with a hint how to get one", async () => {
    const result = await as("alice").run(["totp", "code", KEY, "--reason", "INC-1 login"]);
    expect(result).toMatchObject({ code: 1, stdout: "" });
    expect(result.stderr).toMatch(/^error: .*needs 1 approval\(s\).*/);
    expect(result.stderr).toContain(
      `name an approval you hold with --approval ID, or ask for one: breakglass approvals request ${KEY} --reason "…" (or totp code ${KEY} --reason "…" --wait)`,
    );
    expect(result.stderr.trimEnd().split("\n")).toHaveLength(1);
  });

  it("totp code usage errors exit 2", async () => {
    for (const args of [
      ["totp", "code", KEY, "--wait"],
      ["totp", "code", KEY, "--reason", "x", "--wait", "--approval", "abc"],
      ["totp", "code", KEY, "--reason", "x", "--timeout", "60s"],
      ["totp", "code", KEY, "--reason", "x", "--wait", "--timeout", "later"],
    ]) {
      const result = await as("alice").run(args);
      expect({ args, code: result.code, lines: result.stderr.trimEnd().split("\n").length }).toEqual({
        args,
        code: 2,
        lines: 1,
      });
    }
  });

  it("alice waits; bob sees the request and approves it; alice's command prints the code", async () => {
    const waiting: Promise<CliResult> = as("alice").run([
      "totp",
      "code",
      KEY,
      "--reason",
      "INC-2 console",
      "--wait",
      "--timeout",
      "60s",
    ]);
    let pending: { id: string; key: string; requester: string; status: string }[] = [];
    for (let attempt = 0; attempt < 100 && pending.length === 0; attempt += 1) {
      pending = (await as("bob").json(["approvals", "list"])).approvals;
      if (pending.length === 0) await new Promise((wait) => setTimeout(wait, 100));
    }
    expect(pending).toHaveLength(1);
    const [request] = pending as [(typeof pending)[number]];
    expect(request).toMatchObject({ key: KEY, requester: "user:alice", status: "pending" });
    const listed = await as("bob").run(["approvals", "list"]);
    expect(listed.stdout).toContain(request.id);
    expect(listed.stdout).toContain('"INC-2 console"');

    const approved = await as("bob").run(["approvals", "approve", request.id, "--comment", "ok"]);
    expect(approved).toMatchObject({ code: 0, stderr: "" });
    expect(approved.stdout).toMatch(/^Approved \S+: user:alice may read aws-prod-root/);

    const result = await waiting;
    expect(result.code).toBe(0);
    expect(result.stdout).toMatch(/^\d{6} {2}\(valid for \d+s/);
    // Not a terminal: one line while waiting, no spinner.
    expect(result.stderr).toBe(
      `waiting for approval ${request.id}… (waiting for 1 approval(s) from group:security)\napproved by bob: "ok"\n`,
    );

    const shown = await as("alice").json(["approvals", "show", request.id]);
    expect(shown).toMatchObject({
      id: request.id,
      status: "approved",
      votes: [{ approver: "user:bob", decision: "approved", comment: "ok" }],
    });
    // The approval stays usable until its TTL, with --approval, for the reason it was given for.
    const otherReason = await as("alice").run([
      "totp",
      "code",
      KEY,
      "--reason",
      "INC-2",
      "--approval",
      request.id,
    ]);
    expect(otherReason.code).toBe(1);
    expect(otherReason.stderr).toMatch(/was given for "INC-2 console"/);
    const again = await as("alice").run(["totp", "code", KEY, "--approval", request.id]);
    expect(again.code).toBe(0);
    expect(again.stdout).toMatch(/^\d{6} /);
    expect(await as("alice").json(["approvals", "list", "--mine", "--status", "approved"])).toMatchObject({
      approvals: [{ id: request.id }],
    });
    // The approval she holds is used without naming it; the requester sees who approved, and why.
    const held = await as("alice").run(["totp", "code", KEY]);
    expect(held.code).toBe(0);
    expect(held.stdout).toMatch(/^\d{6} /);
    expect((await as("alice").run(["approvals", "show", request.id])).stdout).toMatch(
      /^Decision +approved by bob: "ok"$/m,
    );
    expect((await as("alice").run(["approvals", "list", "--mine"])).stdout).toContain(
      `${request.id}  ${KEY}  user:alice  approved 1/1  "INC-2 console"  approved by bob: "ok"`,
    );
  });

  it("approvals list --mine shows an approval past its use window as expired", async () => {
    const key = "short-lived";
    expect((await root.run(["totp", "add", key, "--secret", "-"], { input: SEED })).code).toBe(0);
    const rule = ["--readers", "group:oncall", "--approvers", "group:security", "--approvals", "1"];
    expect((await root.run(["access", "set", key, ...rule, "--approval-ttl", "1s"])).code).toBe(0);
    const requested = await as("alice").json(["approvals", "request", key, "--reason", "INC-6"]);
    expect((await as("bob").run(["approvals", "approve", requested.id])).code).toBe(0);
    const line = async () =>
      (await as("alice").run(["approvals", "list", "--mine"])).stdout
        .split("\n")
        .find((l) => l.startsWith(requested.id));
    let listed = await line();
    for (let attempt = 0; attempt < 40 && !listed?.includes("  expired  "); attempt += 1) {
      await new Promise((wait) => setTimeout(wait, 100));
      listed = await line();
    }
    expect(listed).toContain(`${requested.id}  ${key}  user:alice  expired  "INC-6"  approved by bob`);
    expect(await as("alice").json(["approvals", "list", "--mine", "--status", "expired"])).toMatchObject({
      approvals: [{ id: requested.id, status: "expired" }],
    });
  });

  it("carol, no approver, may not approve; alice may not approve her own request", async () => {
    const requested = await as("alice").run(["approvals", "request", KEY, "--reason", "INC-3"]);
    expect(requested).toMatchObject({ code: 0, stderr: "" });
    const id = /^Approval (\S+) requested to read aws-prod-root\.$/m.exec(requested.stdout)?.[1] as string;
    expect(id).toBeTruthy();
    expect(requested.stdout).toMatch(/^Waiting for 1 approval\(s\) from group:security/m);

    const carol = await as("carol").run(["approvals", "approve", id]);
    expect(carol).toMatchObject({ code: 1, stdout: "" });
    expect(carol.stderr).toMatch(/^error: .*\n$/);

    const own = await as("alice").run(["approvals", "approve", id]);
    expect(own).toMatchObject({ code: 1, stdout: "" });
    expect(own.stderr).toMatch(/^error: .*own request.*\n$/);

    expect(await as("alice").json(["approvals", "show", id])).toMatchObject({ status: "pending", votes: [] });
  });

  it("a denied wait ends with exit 1 naming who denied it", async () => {
    const waiting = as("alice").run(["totp", "code", KEY, "--reason", "INC-4", "--wait", "--timeout", "60s"]);
    let id: string | undefined;
    for (let attempt = 0; attempt < 100 && !id; attempt += 1) {
      const { approvals } = await as("bob").json(["approvals", "list"]);
      id = approvals.find((a: { reason: string }) => a.reason === "INC-4")?.id;
      if (!id) await new Promise((wait) => setTimeout(wait, 100));
    }
    expect(id).toBeTruthy();
    expect((await as("bob").run(["approvals", "deny", id as string, "--comment", "use staging"])).code).toBe(
      0,
    );
    const result = await waiting;
    expect(result).toMatchObject({ code: 1, stdout: "" });
    expect(result.stderr).toMatch(/error: approval \S+ for aws-prod-root: denied by bob: "use staging"\n$/);
  });

  it("a wait that runs out of time exits 1", async () => {
    const result = await as("alice").run([
      "totp",
      "code",
      KEY,
      "--reason",
      "INC-5",
      "--wait",
      "--timeout",
      "1s",
    ]);
    expect(result).toMatchObject({ code: 1, stdout: "" });
    expect(result.stderr).toMatch(/error: approval \S+ was not decided within 1s/);
  });

  it("no token appears in any CLI output", async () => {
    const transcript = [
      root.transcript.slice(afterInit),
      ...Object.values(people).map((cli) => cli.transcript),
    ]
      .flat()
      .join("\n");
    expect(transcript).not.toContain(rootToken);
    expect(transcript).not.toContain("bgs.");
    for (const cli of Object.values(people))
      expect(transcript).not.toContain(
        readFileSync(join(cli.home, ".config", "breakglass", "token"), "utf8").trim(),
      );
    for (const password of Object.values(passwords)) expect(transcript).not.toContain(password);
  });
});
