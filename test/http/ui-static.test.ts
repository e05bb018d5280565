import { mkdirSync, symlinkSync, writeFileSync } from "node:fs";
import { request } from "node:http";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startTestServer, type TestServer } from "../support/server.js";
import { tempDir } from "../support/tools.js";

/**
 * The web UI's files: a temporary directory stands in for dist/ui/. The server is never
 * initialised, so all of this also shows that the UI loads while sealed.
 */

const PAGE = '<!doctype html><script type="module" src="/ui/assets/app-123.js"></script>';
const SCRIPT = "console.log('breakglass');";
const OUTSIDE = "a file outside the UI directory";

let t: TestServer;
let unbuilt: TestServer;

beforeAll(async () => {
  // <tmp>/dist/ui is the UI; files beside and above it are what a traversal would reach.
  const top = tempDir();
  const ui = join(top, "dist", "ui");
  mkdirSync(join(ui, "assets"), { recursive: true });
  writeFileSync(join(ui, "index.html"), PAGE);
  writeFileSync(join(ui, "assets", "app-123.js"), SCRIPT);
  writeFileSync(join(ui, ".env"), OUTSIDE);
  writeFileSync(join(top, "package.json"), OUTSIDE);
  writeFileSync(join(top, "dist", "package.json"), OUTSIDE);
  symlinkSync(join(top, "package.json"), join(ui, "assets", "linked.json"));
  t = await startTestServer({ uiDirectory: ui });
  unbuilt = await startTestServer({ uiDirectory: join(tempDir(), "dist", "ui") });
});
afterAll(async () => {
  await t?.close();
  await unbuilt?.close();
});

interface RawResponse {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  body: string;
}

/** A GET with the path exactly as written: fetch would resolve `..` and `%2e%2e` before sending. */
function rawGet(server: TestServer, path: string): Promise<RawResponse> {
  const { hostname, port } = new URL(server.server.url);
  return new Promise((done, fail) => {
    const outgoing = request({ host: hostname, port, path, method: "GET" }, (response) => {
      const chunks: Buffer[] = [];
      response.on("data", (chunk: Buffer) => chunks.push(chunk));
      response.on("end", () =>
        done({
          status: response.statusCode ?? 0,
          headers: response.headers,
          body: Buffer.concat(chunks).toString("utf8"),
        }),
      );
    });
    outgoing.on("error", fail);
    outgoing.end();
  });
}

const EXPECTED_HEADERS = {
  "content-security-policy":
    "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data: blob:; font-src 'self'; connect-src 'self'; manifest-src 'self'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'",
  "x-content-type-options": "nosniff",
  "referrer-policy": "no-referrer",
  "x-frame-options": "DENY",
  "cross-origin-opener-policy": "same-origin",
};

describe("serving the web UI", () => {
  it("runs sealed: the server under test was never initialised", async () => {
    expect((await t.call("GET", "/v1/sys/seal-status")).json.sealed).toBe(true);
    expect((await t.call("GET", "/v1/totp/keys?list=true")).status).toBe(503);
  });

  it.each(["/", "/ui"])("%s redirects to /ui/", async (path) => {
    const response = await rawGet(t, path);
    expect(response.status).toBe(302);
    expect(response.headers.location).toBe("/ui/");
  });

  it.each(["/ui/", "/ui/credentials/aws", "/ui/credentials/aws.prod-root?tab=audit", "/ui/index.html"])(
    "%s serves index.html with the CSP, the other headers and no caching",
    async (path) => {
      const response = await rawGet(t, path);
      expect(response.status).toBe(200);
      expect(response.body).toBe(PAGE);
      expect(response.headers["content-type"]).toBe("text/html; charset=utf-8");
      expect(response.headers).toMatchObject({ ...EXPECTED_HEADERS, "cache-control": "no-store" });
    },
  );

  it("serves a hashed asset as JavaScript, cached for good", async () => {
    const response = await rawGet(t, "/ui/assets/app-123.js");
    expect(response.status).toBe(200);
    expect(response.body).toBe(SCRIPT);
    expect(response.headers["content-type"]).toBe("text/javascript; charset=utf-8");
    expect(response.headers).toMatchObject({
      ...EXPECTED_HEADERS,
      "cache-control": "public, max-age=31536000, immutable",
    });
  });

  it.each([
    "/ui/../package.json",
    "/ui/../../package.json",
    "/ui/%2e%2e/%2e%2e/package.json",
    "/ui/%2E%2E/package.json",
    "/ui/assets/..%2f..%2fpackage.json",
    "/ui/assets/..%2F..%2F..%2Fpackage.json",
    "/ui/assets/..%5c..%5cpackage.json",
    "/ui/assets/..\\..\\package.json",
    "/ui/assets/app-123.js%00.png",
    "/ui/.env",
    "/ui/assets/linked.json", // a symbolic link out of the directory
  ])("%s is refused with 404 and nothing outside the directory", async (path) => {
    const response = await rawGet(t, path);
    expect(response.status).toBe(404);
    expect(response.body).not.toContain(OUTSIDE);
    expect(response.headers["x-content-type-options"]).toBe("nosniff");
  });

  it("a malformed escape is refused like anywhere else", async () => {
    const response = await rawGet(t, "/ui/%E0%A4%A.js");
    expect(response.status).toBe(400);
    expect(JSON.parse(response.body).errors[0]).toMatch(/not a valid url component/);
  });

  it("a missing file with an extension is 404, not the page", async () => {
    const response = await rawGet(t, "/ui/assets/app-999.js");
    expect(response.status).toBe(404);
    expect(JSON.parse(response.body).errors).toEqual(["no such file in the web UI"]);
  });

  it("the UI routes are not in the API document", async () => {
    const paths = Object.keys((await t.call("GET", "/v1/openapi.json")).json.paths);
    expect(paths.filter((path) => !path.startsWith("/v1/"))).toEqual([]);
  });

  it("an unbuilt UI answers 503 saying how to build it", async () => {
    for (const path of ["/ui/", "/ui/credentials/aws"]) {
      const response = await rawGet(unbuilt, path);
      expect(response.status).toBe(503);
      expect(JSON.parse(response.body).errors).toEqual(["the web UI is not built: run npm run build"]);
      expect(response.headers["content-security-policy"]).toBe(EXPECTED_HEADERS["content-security-policy"]);
    }
    expect((await rawGet(unbuilt, "/ui/assets/app-123.js")).status).toBe(404);
  });
});
