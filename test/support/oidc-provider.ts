import { createServer, type IncomingMessage, type Server, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";
import { decodeJwt, exportJWK, generateKeyPair, type JWK, SignJWT } from "jose";
import Provider from "oidc-provider";

/**
 * A real OpenID provider for the tests: oidc-provider (the certified Node.js implementation)
 * on a loopback port, with discovery, JWKS, PKCE, refresh tokens and interactive login pages (a
 * plain HTML form, as a provider's own would be). Its people can be disabled, its signing key
 * rotated, and its token endpoint's answers altered in flight (`alterTokens`), to test refusals of
 * tampered, expired or misdirected ID tokens.
 */

export interface ProviderPerson {
  password: string;
  /** Becomes preferred_username. */
  username: string;
  email?: string;
  name?: string;
  groups?: string[];
  /** A disabled person cannot log in, and the provider refuses their refresh tokens. */
  disabled?: boolean;
}

export interface TestProvider {
  issuer: string;
  clientId: string;
  clientSecret: string;
  /** People by `sub`. */
  people: Map<string, ProviderPerson>;
  /** Signs with a new key from now on; the old one is gone from the JWKS. */
  rotateKey(): Promise<void>;
  /** The kid of the key signing now. */
  currentKid(): string;
  /** Alters the token endpoint's next answers (the parsed JSON); null to stop. */
  alterTokens(alter: ((body: Record<string, unknown>) => Promise<Record<string, unknown>>) | null): void;
  /** Re-signs an ID token with the provider's own key after changing its claims. */
  resign(idToken: string, change: Record<string, unknown>): Promise<string>;
  close(): Promise<void>;
}

export const PROVIDER_SCOPES = ["openid", "profile", "email", "groups", "offline_access"];

export async function startTestProvider(options: {
  redirectUris: string[];
  people: Record<string, ProviderPerson>;
}): Promise<TestProvider> {
  const people = new Map(Object.entries(options.people));
  const clientId = "breakglass";
  const clientSecret = "provider-client-secret-for-tests";
  let alter: ((body: Record<string, unknown>) => Promise<Record<string, unknown>>) | null = null;
  let signing = await newKey();
  let provider: Provider;

  const server: Server = createServer((request, response) => {
    handle(request, response).catch((error) => {
      response.statusCode = 500;
      response.end(String(error));
    });
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const issuer = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;

  const makeProvider = () => {
    const made = new Provider(issuer, {
      clients: [
        {
          client_id: clientId,
          client_secret: clientSecret,
          redirect_uris: options.redirectUris,
          grant_types: ["authorization_code", "refresh_token"],
          response_types: ["code"],
          token_endpoint_auth_method: "client_secret_basic",
        },
      ],
      jwks: { keys: [signing.privateJwk] },
      cookies: { keys: ["cookie-key-for-tests"] },
      scopes: PROVIDER_SCOPES,
      claims: {
        openid: ["sub"],
        profile: ["name", "preferred_username"],
        email: ["email"],
        groups: ["groups"],
      },
      conformIdTokenClaims: false,
      features: { devInteractions: { enabled: false } },
      pkce: { required: () => true },
      issueRefreshToken: async (_ctx, client) => client.grantTypeAllowed("refresh_token"),
      expiresWithSession: async () => false,
      interactions: { url: (_ctx, interaction) => `/interaction/${interaction.uid}` },
      async loadExistingGrant(ctx) {
        const session = ctx.oidc.session;
        const client = ctx.oidc.client;
        if (!session?.accountId || !client) return undefined;
        const grant = new ctx.oidc.provider.Grant({
          clientId: client.clientId,
          accountId: session.accountId,
        });
        grant.addOIDCScope(PROVIDER_SCOPES.join(" "));
        await grant.save();
        return grant;
      },
      async findAccount(_ctx, sub) {
        const person = people.get(sub);
        if (!person || person.disabled) return undefined;
        return {
          accountId: sub,
          async claims() {
            return {
              sub,
              preferred_username: person.username,
              ...(person.name ? { name: person.name } : {}),
              ...(person.email ? { email: person.email } : {}),
              groups: person.groups ?? [],
            };
          },
        };
      },
    });
    made.on("server_error", () => {});
    return made;
  };
  provider = makeProvider();

  async function handle(request: IncomingMessage, response: ServerResponse): Promise<void> {
    const url = new URL(request.url ?? "/", issuer);
    if (url.pathname === "/favicon.ico") return void response.writeHead(204).end();
    const interaction = url.pathname.match(/^\/interaction\/([^/]+)(\/login)?$/);
    if (interaction) return interact(request, response, interaction[2] !== undefined);
    if (url.pathname === "/token" && alter) return altered(request, response, alter);
    return provider.callback()(request, response);
  }

  async function interact(request: IncomingMessage, response: ServerResponse, submitted: boolean) {
    const details = await provider.interactionDetails(request, response);
    if (!submitted) {
      response.writeHead(200, { "content-type": "text/html" });
      response.end(`<!doctype html><title>Test provider sign-in</title>
<form method="post" action="/interaction/${details.uid}/login">
<label>Username <input name="login" autocomplete="username"></label>
<label>Password <input name="password" type="password"></label>
<button type="submit">Sign in</button></form>`);
      return;
    }
    const form = new URLSearchParams(await readBody(request));
    const entry = [...people.entries()].find(
      ([, person]) => person.username === form.get("login") && person.password === form.get("password"),
    );
    if (!entry || entry[1].disabled) {
      response.writeHead(401, { "content-type": "text/html" });
      response.end("<!doctype html><p>Wrong username or password.</p>");
      return;
    }
    await provider.interactionFinished(
      request,
      response,
      { login: { accountId: entry[0] } },
      { mergeWithLastSubmission: false },
    );
  }

  /** The token endpoint's answer, as the provider gave it, then altered. */
  async function altered(
    request: IncomingMessage,
    response: ServerResponse,
    change: (body: Record<string, unknown>) => Promise<Record<string, unknown>>,
  ) {
    const chunks: Buffer[] = [];
    const end = response.end.bind(response);
    response.write = ((chunk: Buffer | string) => {
      chunks.push(Buffer.from(chunk));
      return true;
    }) as typeof response.write;
    response.end = ((chunk?: Buffer | string | (() => void)) => {
      if (chunk && typeof chunk !== "function") chunks.push(Buffer.from(chunk));
      const original = Buffer.concat(chunks).toString("utf8");
      void change(JSON.parse(original)).then((body) => {
        const text = JSON.stringify(body);
        response.setHeader("content-length", Buffer.byteLength(text));
        end(text);
      });
      return response;
    }) as typeof response.end;
    return provider.callback()(request, response);
  }

  return {
    issuer,
    clientId,
    clientSecret,
    people,
    async rotateKey() {
      signing = await newKey();
      provider = makeProvider();
    },
    currentKid: () => signing.kid,
    alterTokens(next) {
      alter = next;
    },
    async resign(idToken, change) {
      const claims = { ...decodeJwt(idToken), ...change };
      return new SignJWT(claims)
        .setProtectedHeader({ alg: "RS256", kid: signing.kid })
        .sign(signing.privateKey);
    },
    async close() {
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}

let keys = 0;
async function newKey() {
  const { privateKey } = await generateKeyPair("RS256", { extractable: true });
  const kid = `test-key-${++keys}-${Date.now()}`;
  const privateJwk: JWK = { ...(await exportJWK(privateKey)), kid, alg: "RS256", use: "sig" };
  return { privateKey, privateJwk, kid };
}

function readBody(request: IncomingMessage): Promise<string> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    request.on("data", (chunk: Buffer) => chunks.push(chunk));
    request.on("end", () => resolve(Buffer.concat(chunks).toString("utf8")));
    request.on("error", reject);
  });
}

/**
 * Signs in at the provider as a browser would, over HTTP: follows its redirects with its cookies,
 * submits the login form, and stops at the first redirect that leaves the provider (to the
 * redirect_uri), which it returns.
 */
export async function signInAtProvider(authUrl: string, username: string, password: string): Promise<URL> {
  const jar = new Map<string, string>();
  const origin = new URL(authUrl).origin;
  const send = async (url: string, init: RequestInit = {}) => {
    const response = await fetch(url, {
      ...init,
      redirect: "manual",
      headers: {
        ...(init.headers as Record<string, string>),
        cookie: [...jar].map(([k, v]) => `${k}=${v}`).join("; "),
      },
    });
    for (const line of response.headers.getSetCookie()) {
      const [pair] = line.split(";");
      const at = pair?.indexOf("=") ?? -1;
      if (pair && at > 0) jar.set(pair.slice(0, at), pair.slice(at + 1));
    }
    return response;
  };
  let url = authUrl;
  let submitted = false;
  for (let hop = 0; hop < 12; hop++) {
    const response = await send(url);
    const location = response.headers.get("location");
    if (location) {
      const next = new URL(location, url);
      if (next.origin !== origin) return next;
      url = next.href;
      continue;
    }
    const page = await response.text();
    const action = page.match(/action="([^"]+)"/)?.[1];
    if (!action || submitted)
      throw new Error(`the provider stopped at ${url} (${response.status}): ${page.slice(0, 200)}`);
    submitted = true;
    const posted = await send(new URL(action, url).href, {
      method: "POST",
      headers: { "content-type": "application/x-www-form-urlencoded" },
      body: new URLSearchParams({ login: username, password }).toString(),
    });
    const after = posted.headers.get("location");
    if (!after)
      throw new Error(
        `the provider refused the login (${posted.status}): ${(await posted.text()).slice(0, 200)}`,
      );
    const next = new URL(after, url);
    if (next.origin !== origin) return next;
    url = next.href;
  }
  throw new Error("the provider redirected too many times");
}
