import { execFileSync } from "node:child_process";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { callApi } from "../support/server.js";
import { type Cli, initialisedServer, REPO, type ServerProcess } from "./cli-harness.js";

/**
 * `breakglass audit list` in the terminal (issue 18): a header and aligned columns, newest first,
 * the last 7 days, 50 lines, no housekeeping; filters as people type them; "no entries" said.
 */
describe("audit list", () => {
  let server: ServerProcess;
  let root: Cli;
  let rootToken: string;
  const password = "alice has a long password for the CLI";
  const LONG_REASON = `INC-7 ${"a long explanation of why the root account was needed ".repeat(4)}end`;

  beforeAll(async () => {
    ({ server, cli: root, rootToken } = await initialisedServer());
    for (const name of ["aws-prod-root", "gcp-prod-root"])
      await root.run(["totp", "add", name, "--secret", "-"], { input: "JBSWY3DPEHPK3PXPJBSWY3DP" });
    await root.run(["groups", "set", "oncall", "--policies", "totp-reader"]);
    await root.run(["users", "add", "alice", "--password", "-", "--groups", "oncall"], {
      input: `${password}\n`,
    });
    // Alice's reads through the API: the CLI's `totp code` adds an enrolment read when a step is
    // near its end, and these tests count entries.
    const login = await callApi(server.url, "POST", "/v1/auth/userpass/login/alice", { body: { password } });
    const alice = login.json.auth.client_token as string;
    for (const [name, reason] of [
      ["aws-prod-root", "INC-1 aws"],
      ["gcp-prod-root", LONG_REASON],
    ] as const) {
      const read = await callApi(server.url, "GET", `/v1/totp/code/${name}`, {
        token: alice,
        headers: { "x-breakglass-reason": reason },
      });
      expect(read.status, read.text).toBe(200);
    }
    await callApi(server.url, "GET", "/v1/auth/token/lookup-self", { token: rootToken }); // housekeeping
  });
  afterAll(async () => {
    await server?.stop();
  });

  /** The lines of stdout, split into the header's columns by its offsets. */
  const rowsOf = (stdout: string) => {
    const [header = "", ...lines] = stdout.trimEnd().split("\n");
    const starts = [...header.matchAll(/\S+/g)].map((match) => match.index ?? 0);
    const names = [...header.matchAll(/\S+/g)].map((match) => match[0]);
    const rows = lines
      .filter((line) => !line.startsWith("(more:"))
      .map((line) =>
        Object.fromEntries(
          names.map((name, i) => [name, line.slice(starts[i], starts[i + 1] ?? line.length).trim()]),
        ),
      );
    return { names, rows, more: lines.find((line) => line.startsWith("(more:")) };
  };

  it("prints a header and aligned columns, newest first, without housekeeping; --all shows it", async () => {
    const listed = await root.run(["audit", "list"]);
    expect(listed.code).toBe(0);
    const { names, rows } = rowsOf(listed.stdout);
    expect(names).toEqual(["TIME", "SEQ", "ACTOR", "ACTION", "TARGET", "OUTCOME", "REASON"]);
    expect(rows[0]?.TIME).toMatch(/^\d{4}-\d\d-\d\d \d\d:\d\d:\d\d \S+$/);
    const seqs = rows.map((row) => Number(row.SEQ));
    expect(seqs).toEqual([...seqs].sort((a, b) => b - a));
    expect(rows.find((row) => row.ACTOR === "alice" && row.ACTION === "totp.code.read")).toMatchObject({
      TARGET: "totp/keys/gcp-prod-root",
      OUTCOME: "allowed",
      REASON: LONG_REASON, // piped: whole
    });
    const actions = new Set(rows.map((row) => row.ACTION));
    for (const housekeeping of ["token.lookup-self", "audit.read", "audit.checkpoint"])
      expect(actions.has(housekeeping), housekeeping).toBe(false);
    const all = rowsOf((await root.run(["audit", "list", "--all"])).stdout).rows;
    expect(all.some((row) => row.ACTION === "token.lookup-self")).toBe(true);
    expect(all.some((row) => row.ACTION === "audit.read")).toBe(true);
  });

  it("filters by the person, an action and its descendants, and a target's name", async () => {
    const reads = async (...filter: string[]) =>
      rowsOf((await root.run(["audit", "list", ...filter])).stdout).rows.map(
        (row) => `${row.ACTOR} ${row.ACTION} ${row.TARGET}`,
      );
    const alices = [
      "alice totp.code.read totp/keys/gcp-prod-root",
      "alice totp.code.read totp/keys/aws-prod-root",
    ];
    expect(await reads("--actor", "user:alice", "--action", "totp")).toEqual(alices);
    expect(await reads("--actor", "alice", "--action", "totp")).toEqual(alices);
    expect(await reads("--actor", "alice", "--target", "aws-prod-root")).toEqual([alices[1]]);
    const totp = await reads("--action", "totp");
    expect(totp.some((row) => row.includes(" totp.key.write totp/keys/aws-prod-root"))).toBe(true);
    expect(totp.every((row) => / totp\.(key|code)\.\w+ /.test(row))).toBe(true);
  });

  it("says when nothing matches, and how to widen, exit 0", async () => {
    const none = await root.run(["audit", "list", "--action", "devices.checkout"]);
    expect(none).toMatchObject({ code: 0, stdout: "" });
    const since = none.stderr.match(
      /^no entries \(since (\d{4}-\d\d-\d\dT\S+Z); --since 30d or --all to widen\)\n$/,
    );
    expect(since, none.stderr).not.toBeNull();
    // The default period: the last 7 days (give or take the hour this test may take).
    expect(Math.abs(Date.parse(since?.[1] ?? "") - (Date.now() - 7 * 86_400_000))).toBeLessThan(3_600_000);
    expect((await root.run(["audit", "list", "--since", "2999-01-01"])).code).toBe(0);
    expect((await root.run(["audit", "list", "--since", "30m"])).stdout).toMatch(/^TIME/);
    const bad = await root.run(["audit", "list", "--since", "30"]);
    expect(bad.code).toBe(2);
    expect(bad.stderr).toMatch(/must be an ISO-8601 time .* or how long ago: 30m, 24h, 7d/);
  });

  it("shows 50 by default, then (more: --before SEQ) pages back; --oldest-first from the first entry", async () => {
    for (let read = 0; read < 55; read++) {
      const answer = await callApi(server.url, "GET", `/v1/totp/code/aws-prod-root?reason=batch-${read}`, {
        token: rootToken,
      });
      expect(answer.status).toBe(200);
    }
    const first = rowsOf((await root.run(["audit", "list"])).stdout);
    expect(first.rows).toHaveLength(50);
    expect(first.rows[0]?.REASON).toBe("batch-54");
    const before = Number(first.more?.match(/^\(more: --before (\d+)\)$/)?.[1]);
    expect(before).toBe(Number(first.rows.at(-1)?.SEQ));
    const next = rowsOf((await root.run(["audit", "list", "--before", String(before)])).stdout);
    expect(next.rows[0]?.REASON).toBe("batch-4");
    expect(Number(next.rows[0]?.SEQ)).toBeLessThan(before);

    const oldest = await root.run(["audit", "list", "--oldest-first", "--all", "--limit", "3"]);
    const { rows, more } = rowsOf(oldest.stdout);
    expect(rows.map((row) => row.SEQ)).toEqual(["1", "2", "3"]);
    expect(more).toBe("(more: --after 3)");
    const json = await root.json(["audit", "list", "--limit", "2"]);
    expect(json).toMatchObject({ next_after: null, next_before: expect.any(Number) });
    expect(json.entries).toHaveLength(2);
  });

  it("on a terminal, cuts each line to its width with …", () => {
    const command = `stty cols 120; node ${REPO}/bin/breakglass audit list --action totp.code.read --actor alice`;
    const out = execFileSync("script", ["-qec", command, "/dev/null"], {
      env: { PATH: process.env.PATH ?? "", HOME: root.home, ...root.env },
      encoding: "utf8",
    });
    const lines = out.replace(/\r/g, "").trimEnd().split("\n");
    expect(lines[0]).toMatch(/^TIME +SEQ/);
    expect(lines.every((line) => [...line].length <= 120)).toBe(true);
    expect(lines.some((line) => line.includes("INC-7 a long explanation") && line.endsWith("…"))).toBe(true);
  });
});
