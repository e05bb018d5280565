import { execFileSync } from "node:child_process";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type AuditEntry, auditLine, chainEntries, checkpointMessageOf } from "../support/audit-lines.js";
import { tempDir, writeFile } from "../support/tools.js";
import { type Cli, initialisedServer, type ServerProcess } from "./cli-harness.js";

/**
 * An auditor holds an export and the public key, and nothing else: no server, no secret.
 * Every way of quietly changing the log is caught and the entry named.
 */
describe("verifying an export offline with the public key", () => {
  let server: ServerProcess;
  let cli: Cli;
  let lines: string[];
  const work = tempDir("breakglass-e2e-offline-");
  let pem: string;
  let openssh: string;

  beforeAll(async () => {
    ({ server, cli } = await initialisedServer());
    await cli.run(["totp", "add", "aws-prod-root", "--secret", "-"], {
      input: "JBSWY3DPEHPK3PXPJBSWY3DPEHPK3PXP",
    });
    for (const reason of ["INC-1 billing", "INC-2 support case", "INC-3 drill"])
      await cli.run(["totp", "code", "aws-prod-root", "--reason", reason]);
    await cli.run(["audit", "export"]); // leaves a checkpoint in the middle of the chain
    await cli.run(["totp", "code", "aws-prod-root", "--reason", "INC-4 after the first checkpoint"]);
    await cli.run(["totp", "list"]);
    pem = writeFile(work, "audit.pem", (await cli.run(["audit", "public-key"])).stdout);
    openssh = writeFile(
      work,
      "audit.ssh",
      (await cli.run(["audit", "public-key", "--format", "openssh"])).stdout,
    );
    lines = (await cli.run(["audit", "export"])).stdout.trimEnd().split("\n");
    await server.stop(); // from here on, no server
  });
  afterAll(async () => {
    await server?.stop();
  });

  const entries = () => lines.map((line) => JSON.parse(line) as AuditEntry);
  const verify = async (exportLines: string[], key = pem) =>
    cli.run([
      "audit",
      "verify",
      "--file",
      writeFile(work, "log.jsonl", `${exportLines.join("\n")}\n`),
      "--public-key",
      key,
    ]);

  it("an untouched export verifies with the PEM key and with the OpenSSH key, signed to its end", async () => {
    const checkpoints = entries().filter((e) => e.action === "audit.checkpoint");
    expect(checkpoints.length).toBeGreaterThanOrEqual(2);
    expect(lines.at(-1)).toContain('"action":"audit.checkpoint"');
    for (const key of [pem, openssh]) {
      const result = await verify(lines, key);
      expect(result.code).toBe(0);
      expect(result.stdout).toContain("verified: every entry intact and signed");
    }
  });

  it("every export line is canonical JSON: keys sorted, no spaces", () => {
    for (const line of lines) expect(auditLine(JSON.parse(line))).toBe(line);
  });

  it("the signature checks with OpenSSL, from the message as the README describes it", () => {
    const checkpoint = entries()
      .filter((e) => e.action === "audit.checkpoint")
      .at(-1) as AuditEntry;
    const message = writeFile(work, "message.txt", checkpointMessageOf(checkpoint));
    const signature = writeFile(
      work,
      "signature.bin",
      Buffer.from(String(checkpoint.details.signature), "base64"),
    );
    const output = execFileSync(
      "openssl",
      ["pkeyutl", "-verify", "-pubin", "-inkey", pem, "-rawin", "-in", message, "-sigfile", signature],
      {
        encoding: "utf8",
      },
    );
    expect(output).toContain("Signature Verified Successfully");
    expect(execFileSync("ssh-keygen", ["-l", "-f", openssh], { encoding: "utf8" })).toMatch(
      /^256 SHA256:\S+ breakglass-audit \(ED25519\)/,
    );
  });

  it("one changed character in any line is caught, naming that entry", async () => {
    for (const index of [0, 3, Math.floor(lines.length / 2), lines.length - 1]) {
      const entry = entries()[index] as AuditEntry;
      // Change one character inside the time (the JSON stays valid): 2026… → 2027…
      const changed = [...lines];
      changed[index] = (lines[index] as string).replace(
        /"time":"(\d)/,
        (_, digit) => `"time":"${(Number(digit) + 1) % 10}`,
      );
      expect(changed[index]).not.toBe(lines[index]);
      const result = await verify(changed);
      expect(result.code).toBe(1);
      expect(result.stderr).toContain(`BROKEN at entry ${entry.seq}: entry ${entry.seq} was altered`);
    }
  });

  it("a deleted line is caught, naming the missing entry", async () => {
    const result = await verify(lines.filter((_, i) => i !== 4));
    expect(result.code).toBe(1);
    expect(result.stderr).toContain("BROKEN at entry 5: entry 5 is missing");
  });

  it("two swapped lines are caught", async () => {
    const swapped = [...lines];
    [swapped[2], swapped[3]] = [swapped[3] as string, swapped[2] as string];
    const result = await verify(swapped);
    expect(result.code).toBe(1);
    expect(result.stderr).toContain("BROKEN at entry 3");
  });

  it("a chain re-hashed after an edit, by someone without the signing key, fails at the next checkpoint, naming it and the range", async () => {
    const original = entries();
    const firstCheckpoint = original.find((e) => e.action === "audit.checkpoint") as AuditEntry;
    const edited = original.map((e) => (e.seq === 3 ? { ...e, reason: "nothing to see" } : e));
    // The attacker's tool: recompute every hash from entry 3 on, keeping the old checkpoint details.
    const rehashed = [...edited.slice(0, 2), ...chainEntries(edited[1] ?? null, edited.slice(2))];
    const result = await verify(rehashed.map(auditLine));
    expect(result.code).toBe(1);
    expect(result.stderr).toContain(
      `BROKEN at entry ${firstCheckpoint.seq}: checkpoint at entry ${firstCheckpoint.seq}`,
    );
    expect(result.stderr).toContain(
      `entries 1 to ${firstCheckpoint.seq - 1} were changed after they were signed`,
    );

    // Pointing the checkpoint at the new hash does not help without the key: its signature fails.
    const forged = [
      ...edited.slice(0, 2),
      ...chainEntries(
        edited[1] ?? null,
        edited
          .slice(2)
          .map((e) =>
            e.seq === firstCheckpoint.seq
              ? (previous) => ({ ...e, details: { ...e.details, signed_hash: previous?.hash ?? "" } })
              : e,
          ),
      ),
    ];
    const forgedResult = await verify(forged.map(auditLine));
    expect(forgedResult.code).toBe(1);
    expect(forgedResult.stderr).toContain(`checkpoint at entry ${firstCheckpoint.seq} has a bad signature`);
  });

  it("a chain cut after its last checkpoint is reported as an unsigned tail, not as valid", async () => {
    const result = await verify(lines.slice(0, -1));
    const lastCheckpoint = entries()
      .filter((e) => e.action === "audit.checkpoint")
      .at(-2) as AuditEntry;
    expect(result.code).toBe(3);
    expect(result.stderr).toBe(
      `error: unsigned tail: entries ${lastCheckpoint.seq + 1} to ${lines.length - 1} are not covered by a signed checkpoint\n`,
    );
  });

  it("entries dated before the one they follow are named, and the file is not called verified (exit 3)", async () => {
    const original = entries();
    const before = original.at(-1) as AuditEntry; // the last checkpoint
    const read = original.filter((e) => e.action === "totp.code.read").at(-1) as AuditEntry;
    // An entry written after it by a clock set back an hour (as breakglass did before it kept
    // times in order); it is an unsigned tail too, so exit 3 gives both reasons.
    const setBack = new Date(Date.parse(before.time) - 3_600_000).toISOString();
    const [last] = chainEntries(before, [{ ...read, time: setBack }]) as [AuditEntry];
    const relinked = [...original, last];
    const result = await verify(relinked.map(auditLine));
    expect(result.code).toBe(3);
    expect(result.stdout).toContain(
      `time runs backwards: entry ${last.seq} is dated ${setBack}, before entry ${before.seq} (${before.time})`,
    );
    expect(result.stdout).not.toContain("verified:");
    expect(result.stderr).toContain("time runs backwards at 1 entry: the clock that wrote them was set back");
    const json = await cli.run([
      "audit",
      "verify",
      "--json",
      "--file",
      writeFile(work, "set-back.jsonl", `${relinked.map(auditLine).join("\n")}\n`),
      "--public-key",
      pem,
    ]);
    expect(JSON.parse(json.stdout).time_backwards).toEqual({
      count: 1,
      first: [{ seq: last.seq, time: setBack, previous_time: before.time }],
    });
  });

  it("without the public key, the signatures are not claimed as checked", async () => {
    const result = await cli.run([
      "audit",
      "verify",
      "--file",
      writeFile(work, "plain.jsonl", `${lines.join("\n")}\n`),
    ]);
    expect(result.code).toBe(3);
    expect(result.stderr).toContain("signatures not checked");
  });

  it("a key that is not the vault's is refused on the first checkpoint", async () => {
    const other = writeFile(
      work,
      "other.pem",
      execFileSync("openssl", ["pkey", "-pubout"], {
        input: execFileSync("openssl", ["genpkey", "-algorithm", "ed25519"]),
      }),
    );
    const result = await verify(lines, other);
    expect(result.code).toBe(1);
    expect(result.stderr).toMatch(
      /checkpoint at entry \d+ is signed by key [0-9a-f]{16}, not by the key given/,
    );
  });
});
