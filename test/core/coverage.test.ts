import { describe, expect, it } from "vitest";
import { type CoverageCredential, coverageOf } from "../../src/core/coverage.js";
import type { DeviceRecord } from "../../src/core/devices.js";
import { deviceRecord as device } from "../support/device-records.js";

const NOW = new Date("2031-05-20T12:00:00Z");

const credential = (name: string): CoverageCredential => ({ name, issuer: "AWS", accountName: "root" });

const flagsOf = (credentials: CoverageCredential[], devices: DeviceRecord[], windowDays = 30) =>
  Object.fromEntries(
    coverageOf(credentials, devices, NOW, windowDays).map((account) => [
      account.account,
      account.flags.map((flag) => flag.flag),
    ]),
  );

describe("which accounts the coverage report lists", () => {
  it("every credential, and every name a device protects; a credential's name is its own account", () => {
    const report = coverageOf(
      [credential("aws-prod-root")],
      [device({ protects: ["aws-prod-root", "registrar", "registrar"] })],
      NOW,
      30,
    );
    expect(report.map((account) => account.account)).toEqual(["aws-prod-root", "registrar"]);
    const aws = report[0];
    expect(aws?.credentials).toEqual([credential("aws-prod-root")]);
    expect(aws?.factors.map((factor) => [factor.kind, factor.location])).toEqual([
      ["virtual-mfa", "breakglass"],
      ["hardware-totp", "Safe A, London"],
    ]);
    // A name given twice by one device is one factor, not two.
    expect(report[1]?.credentials).toEqual([]);
    expect(report[1]?.factors).toHaveLength(1);
  });

  it("one account per issuer and account name: three credentials for AWS root are one account, three factors", () => {
    const aws = (name: string, issuer = "AWS", accountName = "root@acme.example") => ({
      name,
      issuer,
      accountName,
    });
    const report = coverageOf(
      [
        aws("aws-root-3"),
        aws("aws-root-1"),
        aws("aws-root-2", " aws", "Root@acme.example "),
        aws("gcp-root", "GCP"),
        // Without an issuer an account name says nothing of the service: each is its own account.
        aws("bare-1", ""),
        aws("bare-2", ""),
      ],
      [device({ protects: ["aws-root-2", "aws-root-3"], location: "Safe B, Paris", label: "AWS token" })],
      NOW,
      30,
    );
    expect(report.map((account) => [account.account, account.credentials.map((c) => c.name)])).toEqual([
      ["aws-root-1", ["aws-root-1", "aws-root-2", "aws-root-3"]],
      ["bare-1", ["bare-1"]],
      ["bare-2", ["bare-2"]],
      ["gcp-root", ["gcp-root"]],
    ]);
    // Three virtual MFAs and one device (named twice, through two of the credentials): four factors, no flag.
    expect(report[0]?.factors.map((factor) => [factor.kind, factor.label])).toEqual([
      ["virtual-mfa", "aws-root-1"],
      ["virtual-mfa", "aws-root-2"],
      ["virtual-mfa", "aws-root-3"],
      ["hardware-totp", "AWS token"],
    ]);
    expect(report[0]?.flags).toEqual([]);
  });

  it("leaves retired devices out altogether, also the accounts only they named", () => {
    const report = coverageOf(
      [credential("aws-prod-root")],
      [device({ status: "retired", protects: ["aws-prod-root", "old-bank"] })],
      NOW,
      30,
    );
    expect(report.map((account) => account.account)).toEqual(["aws-prod-root"]);
    expect(report[0]?.factors).toHaveLength(1);
  });
});

describe("coverage flags", () => {
  it("single-factor: protected by breakglass alone, or by one device alone", () => {
    expect(flagsOf([credential("aws")], [device({ protects: ["registrar"] })])).toEqual({
      aws: ["single-factor"],
      registrar: ["single-factor"],
    });
  });

  it("no flags for breakglass plus a device, or two devices in different places", () => {
    expect(
      flagsOf(
        [credential("aws")],
        [
          device({ protects: ["aws"] }),
          device({ protects: ["bank"], location: "Safe A, London" }),
          device({ protects: ["bank"], location: "Safe B, Paris" }),
        ],
      ),
    ).toEqual({ aws: [], bank: [] });
  });

  it("one-location: two or more devices in the same place, whatever the case and spaces", () => {
    const text = coverageOf(
      [credential("aws")],
      [
        device({ protects: ["aws"], location: "Safe A, London" }),
        device({ protects: ["aws"], location: " safe a,  london " }),
      ],
      NOW,
      30,
    )[0]?.flags;
    expect(text?.map((flag) => flag.flag)).toEqual(["one-location"]);
    expect(text?.[0]?.text).toMatch(/all 2 devices of aws are in one place \(Safe A, London\)/);
  });

  it("one-location: several credentials of one account and no device are all in breakglass: one flag", () => {
    const report = coverageOf(
      ["aws-1", "aws-2", "aws-3"].map((name) => credential(name)),
      [],
      NOW,
      30,
    );
    expect(report.map((account) => [account.account, account.flags.map((flag) => flag.flag)])).toEqual([
      ["aws-1", ["one-location"]],
    ]);
    expect(report[0]?.flags[0]?.text).toMatch(/all 3 factors of aws-1 are virtual MFAs in breakglass/);
  });

  it("a lost device is listed but not counted: not a second factor, not in a place", () => {
    const report = coverageOf(
      [credential("aws")],
      [
        device({ protects: ["aws"], status: "lost" }),
        device({ protects: ["bank"], status: "lost" }),
        device({ protects: ["bank"], status: "lost" }),
      ],
      NOW,
      30,
    );
    expect(report.map((account) => [account.account, account.flags.map((flag) => flag.flag)])).toEqual([
      ["aws", ["single-factor"]],
      ["bank", ["no-factor"]],
    ]);
    expect(report[0]?.factors.map((factor) => factor.usable)).toEqual([true, false]);
    expect(report[1]?.flags[0]?.text).toMatch(/nothing usable protects bank \(2 lost devices\)/);
  });

  it("all-due: every usable factor due within the window; breakglass's own factor never is", () => {
    const soon = { batteryExpires: "2031-06-01" };
    const devices = [
      device({ protects: ["bank"], location: "Safe A", ...soon }),
      device({ protects: ["bank"], location: "Safe B", reviewBy: "2031-05-10" }),
      device({ protects: ["aws"], ...soon }),
      device({ protects: ["idp"], ...soon }),
      device({ protects: ["idp"], location: "Safe B" }),
    ];
    expect(flagsOf([credential("aws")], devices)).toEqual({ aws: [], bank: ["all-due"], idp: [] });
    // Twelve days away is not due within a ten-day window.
    expect(flagsOf([credential("aws")], devices, 10).bank).toEqual([]);
  });

  it("a single device that is due is flagged twice: one factor, and due", () => {
    expect(
      flagsOf([], [device({ protects: ["bank"], status: "checked-out", reviewBy: "2031-05-01" })]),
    ).toEqual({ bank: ["single-factor", "all-due"] });
  });
});
