import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type Cli, initialisedServer, type ServerProcess } from "./cli-harness.js";

/** The device registry through the real CLI: add, list, due, check-out and check-in, retire. */

/** A calendar day `offset` days from today (UTC). */
const day = (offset: number) => new Date(Date.now() + offset * 86_400_000).toISOString().slice(0, 10);

describe("breakglass devices", () => {
  let server: ServerProcess;
  let root: Cli;
  let token: string;
  let paper: string;

  beforeAll(async () => {
    ({ server, cli: root } = await initialisedServer());
  });
  afterAll(async () => {
    await server?.stop();
  });

  /** `devices add` with a place, a custodian and what it protects; the rest from `args`. */
  const addArgs = (args: string[]) => [
    "devices",
    "add",
    "--location",
    "Safe A, Berlin",
    "--custodian",
    "erin",
    "--protects",
    "aws-prod-root, AWS billing",
    ...args,
  ];
  const add = (args: string[]) => root.json(addArgs(args));

  it("adds devices and lists them as a table", async () => {
    const added = await root.run(
      addArgs([
        "--kind",
        "hardware-totp",
        "--serial",
        "YK-0042",
        "--label",
        "AWS root token",
        "--protects",
        "aws-prod-root",
        "--battery-expires",
        day(12),
      ]),
    );
    expect(added.stderr).toBe("");
    expect(added.code).toBe(0);
    token = /^Device (dev-[0-9a-f]{12}) registered\.$/m.exec(added.stdout)?.[1] as string;
    expect(token).toBeDefined();
    expect(added.stdout).toMatch(/^Battery expires +\d{4}-\d{2}-\d{2}$/m);
    paper = (
      await add([
        "--kind",
        "paper-recovery-codes",
        "--serial",
        "sheet-1",
        "--label",
        "Registrar codes",
        "--review-by",
        day(-3),
      ])
    ).id;
    await add([
      "--kind",
      "fido2",
      "--serial",
      "FIDO-7",
      "--label",
      "Far-off key",
      "--battery-expires",
      day(400),
    ]);

    const listed = await root.run(["devices", "list"]);
    expect(listed.code).toBe(0);
    const lines = listed.stdout.trimEnd().split("\n");
    expect(lines[0]).toMatch(/^ID +KIND +SERIAL +LABEL +STATUS +LOCATION +BATTERY +REVIEW$/);
    expect(lines).toHaveLength(4);
    expect(listed.stdout).toMatch(
      new RegExp(
        `^${token} +hardware-totp +YK-0042 +AWS root token +in-safe +Safe A, Berlin +${day(12)} +-$`,
        "m",
      ),
    );
    expect((await root.json(["devices", "list"])).devices).toHaveLength(3);
    expect(await root.json(["devices", "show", paper])).toMatchObject({
      kind: "paper-recovery-codes",
      protects: ["aws-prod-root", "AWS billing"],
      review_by: day(-3),
    });
  });

  it("due lists what is due in words, overdue first, and leaves out what is not", async () => {
    const due = await root.run(["devices", "due", "--within", "60d"]);
    expect(due.code).toBe(0);
    const lines = due.stdout.trimEnd().split("\n");
    expect(lines).toHaveLength(3);
    expect(lines[1]).toMatch(new RegExp(`^${paper} .* review 3 days overdue \\(${day(-3)}\\)$`));
    expect(lines[2]).toMatch(new RegExp(`^${token} .* battery expires in 12 days \\(${day(12)}\\)$`));
    expect(due.stdout).not.toContain("FIDO-7");
    expect((await root.run(["devices", "list", "--due-within", "60d"])).stdout).toBe(due.stdout);
    const json = await root.json(["devices", "due", "--within", "8w"]);
    expect(json.devices.map((d: { id: string }) => d.id)).toEqual([paper, token]);
    expect(json.devices[0].due).toEqual([{ what: "review", date: day(-3), days_left: -3 }]);
    const none = await root.run(["devices", "due", "--within", "0d"]);
    expect(none.stdout).toMatch(new RegExp(`^${paper} `, "m"));
    const bad = await root.run(["devices", "due", "--within", "soon"]);
    expect(bad).toMatchObject({ code: 1, stdout: "" });
    expect(bad.stderr).toBe("error: due_within must be a number of days or weeks, such as 60d or 8w\n");
  });

  it("checkout without --reason: exit 1 and one clear line, no stack trace; nothing changes", async () => {
    const refused = await root.run(["devices", "checkout", token]);
    expect(refused).toMatchObject({
      code: 1,
      stdout: "",
      stderr: 'error: a reason is required to check a device out — give --reason "…"\n',
    });
    expect((await root.json(["devices", "show", token])).status).toBe("in-safe");
  });

  it("checks a device out and back in; a second check-out is refused with exit 1 naming who has it", async () => {
    const out = await root.run(["devices", "checkout", token, "--reason", "INC-4411 root login"]);
    expect(out.code).toBe(0);
    expect(out.stdout).toMatch(
      /^Checked out AWS root token \(serial YK-0042\) as token:\S+: "INC-4411 root login"\.$/m,
    );
    const again = await root.run(["devices", "checkout", token, "--reason", "me too"]);
    expect(again).toMatchObject({ code: 1, stdout: "" });
    expect(again.stderr).toMatch(
      new RegExp(
        `^error: device ${token} is already checked out by token:\\S+ since \\S+ \\("INC-4411 root login"\\)\\n$`,
      ),
    );
    expect((await root.run(["devices", "list"])).stdout).toMatch(
      new RegExp(`^${token} .* checked out by token:`, "m"),
    );
    const back = await root.run(["devices", "checkin", token, "--reason", "done"]);
    expect(back).toMatchObject({
      code: 0,
      stdout: "AWS root token (serial YK-0042) is back in the safe at Safe A, Berlin.\n",
    });
    const entries = (
      await root.json(["audit", "list", "--action", "devices.checkout", "--outcome", "allowed"])
    ).entries;
    expect(entries[0]).toMatchObject({
      outcome: "allowed",
      reason: "INC-4411 root login",
      details: { serial: "YK-0042" },
    });
  });

  it("updates what is given, and retires a device: kept on record, no longer listed", async () => {
    const updated = await root.json([
      "devices",
      "update",
      paper,
      "--location",
      "Safe B",
      "--review-by",
      day(200),
    ]);
    expect(updated).toMatchObject({ location: "Safe B", review_by: day(200), serial: "sheet-1" });
    expect((await root.run(["devices", "update", paper])).code).toBe(2);
    const retired = await root.run(["devices", "retire", paper, "--reason", "codes regenerated"]);
    expect(retired).toMatchObject({
      code: 0,
      stdout: `Device ${paper} (Registrar codes) retired; it stays on record.\n`,
    });
    expect((await root.json(["devices", "list"])).devices.map((d: { id: string }) => d.id)).not.toContain(
      paper,
    );
    expect(
      (await root.json(["devices", "list", "--status", "retired"])).devices.map((d: { id: string }) => d.id),
    ).toEqual([paper]);
    const checkout = await root.run(["devices", "checkout", paper, "--reason", "x"]);
    expect(checkout.code).toBe(1);
    expect(checkout.stderr).toBe(`error: device ${paper} is retired: it cannot be checked out\n`);
  });

  it("refuses bad input with exit 1 (from the server) or 2 (usage), one line each", async () => {
    const serverRefusals: [string[], RegExp][] = [
      [
        addArgs(["--kind", "fido2", "--serial", "S", "--label", "L", "--battery-expires", "2027-02-30"]),
        /^error: battery_expires must be a date/,
      ],
      [["devices", "show", "dev-000000000000"], /^error: no device dev-000000000000\n$/],
      [["devices", "show", "safe"], /^error: safe is not a device id/],
    ];
    for (const [args, message] of serverRefusals) {
      const result = await root.run(args);
      expect({ args, code: result.code }).toEqual({ args, code: 1 });
      expect(result.stderr).toMatch(message);
    }
    for (const args of [
      ["devices", "add", "--kind", "fido2"],
      addArgs(["--kind", "usb-stick", "--serial", "S", "--label", "L", "--review-by", day(9)]),
      ["devices", "list", "--status", "misplaced"],
    ]) {
      const result = await root.run(args);
      expect({ args, code: result.code, lines: result.stderr.trimEnd().split("\n").length }).toEqual({
        args,
        code: 2,
        lines: 1,
      });
    }
  });
});
