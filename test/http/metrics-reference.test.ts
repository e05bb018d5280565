import { readFileSync } from "node:fs";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { Metrics } from "../../src/http/metrics.js";
import { REPO } from "../e2e/cli-harness.js";
import { startTestServer, type TestServer } from "../support/server.js";

/** The README's metric list is what /metrics exports: names, types and labels. */

let t: TestServer;
beforeAll(async () => {
  t = await startTestServer();
});
afterAll(async () => {
  await t?.close();
});

/** The rows of the metrics table in the README's "Logs and metrics reference": name → type and labels. */
function documentedMetrics(): Map<string, { type: string; labels: string[] }> {
  const readme = readFileSync(join(REPO, "README.md"), "utf8");
  const section = readme.split("\n## Logs and metrics reference\n")[1]?.split("\n## ")[0] ?? "";
  const table = section.split("\n### Metrics")[1] ?? "";
  const rows = [...table.matchAll(/^\| `([a-z_]+)` \| (\w+) \| ([^|]*) \|/gm)];
  return new Map(
    rows.map(([, name, type, labels]) => [
      name as string,
      {
        type: type as string,
        labels: [...(labels as string).matchAll(/`(\w+)`/g)].map((m) => m[1] as string),
      },
    ]),
  );
}

describe("the README's metrics reference", () => {
  it("lists every breakglass_ metric /metrics exports, with its type, and no other", async () => {
    const exported = await t.call("GET", "/metrics");
    const types = new Map(
      [...exported.text.matchAll(/^# TYPE (\S+) (\S+)$/gm)].map(([, name, type]) => [name, type]),
    );
    const ours = [...types].filter(([name]) => name?.startsWith("breakglass_"));
    expect(new Map([...documentedMetrics()].map(([name, { type }]) => [name, type]))).toEqual(new Map(ours));
    // Anything else is prom-client's defaults, which the README names by prefix.
    expect([...types.keys()].filter((name) => !/^(breakglass|process|nodejs)_/.test(name as string))).toEqual(
      [],
    );
  });

  it("gives each metric the labels it has", () => {
    const registered = new Metrics(
      () => true,
      () => null,
    ).registry.getMetricsAsArray();
    for (const [name, { labels }] of documentedMetrics()) {
      const metric = registered.find((m) => m.name === name) as { labelNames?: string[] } | undefined;
      expect({ name, labels: metric?.labelNames ?? [] }).toEqual({ name, labels });
    }
  });
});
