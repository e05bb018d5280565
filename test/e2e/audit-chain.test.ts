import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { openRawDatabase, type RawDatabase } from "../support/storage.js";
import { tempDir, writeFile } from "../support/tools.js";
import {
  type Cli,
  initialisedServer,
  type ServerProcess,
  startServerProcess,
  unsealWith,
} from "./cli-harness.js";

describe("verifying the audit chain with the CLI", () => {
  let server: ServerProcess;
  let cli: Cli;
  let shares: string[];
  const work = tempDir("breakglass-e2e-audit-");

  /** Stops the server, lets `tamper` edit its database as an intruder would, starts and unseals it again. */
  async function restartAfter(tamper: (db: RawDatabase) => Promise<void>): Promise<void> {
    expect(await server.stop()).toBe(0);
    const db = await openRawDatabase(server.storage);
    try {
      await tamper(db);
    } finally {
      await db.close();
    }
    server = await startServerProcess(server.storage);
    cli.env.BREAKGLASS_ADDR = server.url;
    await unsealWith(cli, shares.slice(0, 2));
  }

  beforeAll(async () => {
    ({ server, cli, shares } = await initialisedServer());
    await cli.run(["totp", "add", "audited", "--secret", "-"], { input: "JBSWY3DPEHPK3PXPJBSWY3DPEHPK3PXP" });
    await cli.run(["totp", "code", "audited", "--reason", "quarterly check"]);
    await cli.run(["totp", "list"]);
  });
  afterAll(async () => {
    await server?.stop();
  });

  it("audit list shows a header and one line per entry: time seq actor action target outcome reason", async () => {
    const result = await cli.run(["audit", "list", "--action", "totp.code.read"]);
    expect(result.code).toBe(0);
    expect(result.stdout).toMatch(
      /^TIME +SEQ +ACTOR +ACTION +TARGET +OUTCOME +REASON\n\d{4}-\d\d-\d\d \d\d:\d\d:\d\d \S+ {2}\d+ +token:\S+ {2}totp\.code\.read {2}totp\/keys\/audited {2}allowed {2}quarterly check\n$/,
    );
  });

  it("audit verify passes on an untouched chain, signed to its head, and names the head", async () => {
    const result = await cli.run(["audit", "verify"]);
    expect(result.code).toBe(0);
    expect(result.stdout).toMatch(
      /^audit chain: (\d+) entries, head seq \1 hash [0-9a-f]{64}\nlast signed checkpoint: entry \1 .*\nverified: every entry intact and signed\n$/,
    );
  });

  it("audit verify --file names the line of an export that is not JSON", async () => {
    const exported = (await cli.run(["audit", "export"])).stdout.split("\n");
    exported.splice(2, 0, "{not json");
    const file = writeFile(work, "malformed.jsonl", exported.join("\n"));
    const result = await cli.run(["audit", "verify", "--file", file]);
    expect(result.code).toBe(1);
    expect(result.stderr).toBe("error: audit export line 3 is not valid JSON\n");
  });

  it("audit export > file, then audit verify --file checks it offline, with the server stopped", async () => {
    const exported = await cli.run(["audit", "export"]);
    expect(exported.code).toBe(0);
    const file = writeFile(work, "audit.jsonl", exported.stdout);
    const publicKey = writeFile(work, "audit.pub", (await cli.run(["audit", "public-key"])).stdout);
    const lines = exported.stdout.trim().split("\n");
    expect(lines.length).toBeGreaterThanOrEqual(7);

    expect(await server.stop()).toBe(0);
    expect((await cli.run(["audit", "verify"])).stderr).toMatch(/^error: cannot reach breakglass/);
    const verified = await cli.run(["audit", "verify", "--file", file, "--public-key", publicKey]);
    expect(verified).toMatchObject({ code: 0, stderr: "" });
    expect(verified.stdout).toContain(`audit chain: ${lines.length} entries`);
  });

  let originalReason: string | null;
  it("an audit row edited in the database makes audit verify fail, naming that entry", async () => {
    await restartAfter(async (db) => {
      const [row] = await db.rows<{ reason: string | null }>(
        "select reason from audit_entries where seq = 5",
      );
      originalReason = row?.reason ?? null;
      await db.run("update audit_entries set reason = 'nothing to see' where seq = 5");
      expect(await db.rows("select seq from audit_entries where reason = 'nothing to see'")).toHaveLength(1);
    });
    const result = await cli.run(["audit", "verify"]);
    expect(result.code).toBe(1);
    expect(result.stderr).toMatch(/^error: audit chain BROKEN at entry 5: entry 5 was altered/);
  });

  it("an audit row deleted from the database makes audit verify fail, naming the missing entry", async () => {
    await restartAfter(async (db) => {
      await db.run("update audit_entries set reason = ? where seq = 5", [originalReason]);
      await db.run("delete from audit_entries where seq = 4");
      expect(await db.rows("select seq from audit_entries where seq = 4")).toHaveLength(0);
    });
    const result = await cli.run(["audit", "verify", "--json"]);
    expect(result.code).toBe(1);
    expect(JSON.parse(result.stdout)).toMatchObject({ verified: false, problem: { seq: 4 } });
    expect(result.stderr).toMatch(/^error: audit chain BROKEN at entry 4: entry 4 is missing/);
  });
});
