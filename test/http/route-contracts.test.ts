import { Type } from "typebox";
import { afterAll, beforeAll, describe, expect, it, vi } from "vitest";
import { startTestServer, type TestServer } from "../support/server.js";

/**
 * Every route's contract, walked route by route: what the compiler cannot check. Handlers read
 * their request through the types of their schemas (src/api, TypeBox), so reading a field that is
 * not declared does not compile; this test checks the rest: every route has a schema, each path
 * parameter is declared in it, each request part is a TypeBox schema (so its type is the schema),
 * and the OpenAPI document lists every parameter and body field declared.
 */

/** What the test reads of a route's options. */
interface RecordedRoute {
  method: string | string[];
  url: string;
  schema?: unknown;
}

const routes = vi.hoisted(() => [] as RecordedRoute[]);

// Records each route as it is registered, with the options it was given: Fastify keeps no list.
vi.mock("fastify", async (importOriginal) => {
  const fastify = await importOriginal<typeof import("fastify")>();
  const create = fastify.default as unknown as (options: unknown) => {
    addHook(name: "onRoute", hook: (route: RecordedRoute) => void): void;
  };
  const recording = (options: unknown) => {
    const app = create(options);
    app.addHook("onRoute", (route) => {
      routes.push(route);
    });
    return app;
  };
  return { ...fastify, default: recording };
});

const REQUEST_PARTS = ["params", "querystring", "body", "headers"] as const;

interface ObjectSchema {
  properties?: Record<string, unknown>;
  required?: string[];
}

interface OpenApiOperation {
  parameters?: { in: string; name: string }[];
  requestBody?: { content: Record<string, { schema: ObjectSchema }> };
}

let t: TestServer;
let openapi: { paths: Record<string, Record<string, OpenApiOperation>> };

beforeAll(async () => {
  t = await startTestServer();
  openapi = (await t.call("GET", "/v1/openapi.json")).json as typeof openapi;
});
afterAll(async () => {
  await t?.close();
});

/** The API's routes, one per method: Fastify adds HEAD beside GET on its own. */
function apiRoutes(): { method: string; url: string; route: RecordedRoute }[] {
  return routes
    .filter((route) => route.url.startsWith("/v1/"))
    .flatMap((route) =>
      [route.method].flat().map((method) => ({ method: method.toLowerCase(), url: route.url, route })),
    )
    .filter(({ method }) => method !== "head");
}

const pathParameters = (url: string) => [...url.matchAll(/:(\w+)/g)].map((match) => match[1] as string);
const openApiPath = (url: string) => url.replace(/:(\w+)/g, "{$1}");
const schemaPart = (route: RecordedRoute, part: (typeof REQUEST_PARTS)[number]) =>
  (route.schema as Record<string, ObjectSchema | undefined> | undefined)?.[part];
/** Built by TypeBox (an object, or a hand-typed Unsafe one), so that its type is the schema's; a bare JSON schema has none. */
const isTypeBoxSchema = (schema: object) => Type.IsObject(schema) || Type.IsUnsafe(schema);

describe("route contracts", () => {
  it("walks the API's routes", () => {
    expect(apiRoutes().length).toBeGreaterThan(80);
  });

  it("every route has a schema", () => {
    const without = apiRoutes().filter(({ route }) => route.schema === undefined);
    expect(without.map(({ method, url }) => `${method} ${url}`)).toEqual([]);
  });

  it("every path parameter is declared, and required, in the route's params schema", () => {
    const undeclared: string[] = [];
    for (const { method, url, route } of apiRoutes()) {
      const params = schemaPart(route, "params");
      for (const name of pathParameters(url))
        if (params?.properties?.[name] === undefined || !params.required?.includes(name))
          undeclared.push(`${method} ${url}: ${name}`);
    }
    expect(undeclared).toEqual([]);
  });

  it("every request part a route declares is a TypeBox schema, the type its handler reads", () => {
    const untyped: string[] = [];
    for (const { method, url, route } of apiRoutes())
      for (const part of REQUEST_PARTS) {
        const schema = schemaPart(route, part);
        if (schema !== undefined && !isTypeBoxSchema(schema)) untyped.push(`${method} ${url}: ${part}`);
      }
    expect(untyped).toEqual([]);
  });

  it("the OpenAPI document lists every path and query parameter and every body field a route declares", () => {
    const missing: string[] = [];
    for (const { method, url, route } of apiRoutes()) {
      if ((route.schema as { hide?: boolean } | undefined)?.hide) continue;
      const operation = openapi.paths[openApiPath(url)]?.[method];
      if (operation === undefined) {
        missing.push(`${method} ${url}: the operation`);
        continue;
      }
      const listed = (where: string) =>
        new Set(operation.parameters?.filter((p) => p.in === where).map((p) => p.name));
      for (const [part, where] of [
        ["params", "path"],
        ["querystring", "query"],
        ["headers", "header"],
      ] as const)
        for (const name of Object.keys(schemaPart(route, part)?.properties ?? {}))
          if (!listed(where).has(name)) missing.push(`${method} ${url}: ${where} ${name}`);
      const bodyFields = Object.keys(schemaPart(route, "body")?.properties ?? {});
      const documented = operation.requestBody?.content["application/json"]?.schema.properties ?? {};
      for (const name of bodyFields)
        if (!(name in documented)) missing.push(`${method} ${url}: body ${name}`);
    }
    expect(missing).toEqual([]);
  });

  it("lists the fields found read but never declared before the contracts moved to src/api", () => {
    const query = openapi.paths["/v1/totp/code/{name}"]?.get?.parameters?.map((p) => `${p.in} ${p.name}`);
    expect(query).toEqual(expect.arrayContaining(["path name", "query approval"]));
    const login = openapi.paths["/v1/auth/userpass/login/{username}"]?.post?.requestBody;
    expect(Object.keys(login?.content["application/json"]?.schema.properties ?? {})).toContain("totp");
  });
});
