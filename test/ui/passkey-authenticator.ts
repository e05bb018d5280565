import type { BrowserContext, CDPSession, Page } from "playwright-core";

/**
 * Passkeys in Chromium without a person: the DevTools protocol's virtual authenticator (a platform
 * authenticator that keeps discoverable credentials, verifies its user and answers at once), and
 * the browser's own navigator.credentials called in the page, as the UI's @simplewebauthn/browser
 * would. Only the browser signs; the server under test verifies with @simplewebauthn/server.
 */

export interface VirtualAuthenticator {
  cdp: CDPSession;
  authenticatorId: string;
  /** The credentials it holds (ids, base64url), for tests that remove one. */
  credentialIds(): Promise<string[]>;
}

export async function addVirtualAuthenticator(
  context: BrowserContext,
  page: Page,
): Promise<VirtualAuthenticator> {
  const cdp = await context.newCDPSession(page);
  await cdp.send("WebAuthn.enable", { enableUI: false });
  const { authenticatorId } = await cdp.send("WebAuthn.addVirtualAuthenticator", {
    options: {
      protocol: "ctap2",
      transport: "internal",
      hasResidentKey: true,
      hasUserVerification: true,
      isUserVerified: true,
      automaticPresenceSimulation: true,
    },
  });
  return {
    cdp,
    authenticatorId,
    async credentialIds() {
      const { credentials } = await cdp.send("WebAuthn.getCredentials", { authenticatorId });
      return credentials.map((c) => Buffer.from(c.credentialId, "base64").toString("base64url"));
    },
  };
}

/** A page of the server under test at http://localhost:PORT: WebAuthn needs a domain, not 127.0.0.1. */
export function localhostUrl(serverUrl: string): string {
  const url = new URL(serverUrl);
  return `http://localhost:${url.port}`;
}

export interface ApiAnswer {
  status: number;
  json: any;
}

/** A call to the API from inside the page (same origin, so the server sees the page's host). */
export function pageApi(
  page: Page,
  method: string,
  path: string,
  options: { token?: string; body?: unknown; headers?: Record<string, string> } = {},
): Promise<ApiAnswer> {
  return page.evaluate(
    async ({ method, path, token, body, headers }) => {
      const response = await fetch(path, {
        method,
        headers: {
          ...(token ? { "X-Vault-Token": token } : {}),
          ...(body === undefined ? {} : { "content-type": "application/json" }),
          ...headers,
        },
        body: body === undefined ? undefined : JSON.stringify(body),
      });
      const text = await response.text();
      let json: unknown = null;
      try {
        json = JSON.parse(text);
      } catch {}
      return { status: response.status, json };
    },
    { method, path, token: options.token, body: options.body, headers: options.headers ?? {} },
  );
}

/** navigator.credentials.create with the server's options; the answer as RegistrationResponseJSON. */
export function createPasskey(page: Page, options: unknown): Promise<any> {
  return page.evaluate(async (options: any) => {
    const bytes = (text: string) =>
      Uint8Array.from(atob(text.replace(/-/g, "+").replace(/_/g, "/")), (c) => c.charCodeAt(0));
    const text = (buffer: ArrayBuffer) =>
      btoa(String.fromCharCode(...new Uint8Array(buffer)))
        .replace(/\+/g, "-")
        .replace(/\//g, "_")
        .replace(/=+$/, "");
    const credential = (await navigator.credentials.create({
      publicKey: {
        ...options,
        challenge: bytes(options.challenge),
        user: { ...options.user, id: bytes(options.user.id) },
        excludeCredentials: (options.excludeCredentials ?? []).map((c: any) => ({ ...c, id: bytes(c.id) })),
      },
    })) as PublicKeyCredential;
    const response = credential.response as AuthenticatorAttestationResponse;
    return {
      id: credential.id,
      rawId: text(credential.rawId),
      type: credential.type,
      response: {
        clientDataJSON: text(response.clientDataJSON),
        attestationObject: text(response.attestationObject),
        transports: response.getTransports(),
      },
      clientExtensionResults: {},
    };
  }, options);
}

/** navigator.credentials.get with the server's options; the answer as AuthenticationResponseJSON. */
export function assertPasskey(page: Page, options: unknown): Promise<any> {
  return page.evaluate(async (options: any) => {
    const bytes = (text: string) =>
      Uint8Array.from(atob(text.replace(/-/g, "+").replace(/_/g, "/")), (c) => c.charCodeAt(0));
    const text = (buffer: ArrayBuffer) =>
      btoa(String.fromCharCode(...new Uint8Array(buffer)))
        .replace(/\+/g, "-")
        .replace(/\//g, "_")
        .replace(/=+$/, "");
    const credential = (await navigator.credentials.get({
      publicKey: {
        ...options,
        challenge: bytes(options.challenge),
        allowCredentials: (options.allowCredentials ?? []).map((c: any) => ({ ...c, id: bytes(c.id) })),
      },
    })) as PublicKeyCredential;
    const response = credential.response as AuthenticatorAssertionResponse;
    return {
      id: credential.id,
      rawId: text(credential.rawId),
      type: credential.type,
      response: {
        clientDataJSON: text(response.clientDataJSON),
        authenticatorData: text(response.authenticatorData),
        signature: text(response.signature),
        ...(response.userHandle ? { userHandle: text(response.userHandle) } : {}),
      },
      clientExtensionResults: {},
    };
  }, options);
}

/** An assertion as the X-Breakglass-Step-Up header carries it. */
export const stepUpHeader = (assertion: unknown) =>
  Buffer.from(JSON.stringify(assertion)).toString("base64url");
