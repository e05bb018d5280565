import { startAuthentication, startRegistration } from "@simplewebauthn/browser";
import type { PasskeyAnswer } from "../../src/api/passkeys.js";
import { call, data } from "./api.js";

/**
 * Passkeys in the browser (docs/passkeys.md): the server's options handed to the browser's WebAuthn
 * through @simplewebauthn/browser, and its answer handed back. The browser asks the person to touch
 * their passkey; nothing secret passes through this page.
 */

export type { PasskeyAnswer };

/** The person's own passkeys. */
export async function listPasskeys(): Promise<PasskeyAnswer[]> {
  return (await data<{ passkeys: PasskeyAnswer[] }>("GET", "/v1/auth/passkey/credentials")).passkeys;
}

/** Registers a new passkey of the signed-in person's (the browser asks them to make one). */
export async function registerPasskey(name: string): Promise<PasskeyAnswer> {
  const optionsJSON = await data<Parameters<typeof startRegistration>[0]["optionsJSON"]>(
    "POST",
    "/v1/auth/passkey/register/begin",
    {},
  );
  const credential = await startRegistration({ optionsJSON });
  return data<PasskeyAnswer>("POST", "/v1/auth/passkey/register/finish", {
    credential,
    ...(name.trim() ? { name: name.trim() } : {}),
  });
}

export async function renamePasskey(id: string, name: string): Promise<void> {
  await call("POST", `/v1/auth/passkey/credentials/${encodeURIComponent(id)}`, { name });
}

export async function removePasskey(id: string): Promise<void> {
  await call("DELETE", `/v1/auth/passkey/credentials/${encodeURIComponent(id)}`);
}

type AssertionOptions = Parameters<typeof startAuthentication>[0]["optionsJSON"];
export type PasskeyAssertion = Awaited<ReturnType<typeof startAuthentication>>;

/** A passkey touch for a password login (the options are the same whoever asks). */
export async function loginAssertion(username: string): Promise<PasskeyAssertion> {
  const optionsJSON = await data<AssertionOptions>("POST", "/v1/auth/passkey/login/begin", { username });
  return startAuthentication({ optionsJSON });
}

/** A passkey touch bound to one action: reading a credential's code, or approving one request. */
export async function stepUpAssertion(
  action: "totp.code.read" | "approval.approve",
  target: string,
): Promise<PasskeyAssertion> {
  const optionsJSON = await data<AssertionOptions>("POST", "/v1/auth/passkey/step-up/begin", {
    action,
    target,
  });
  return startAuthentication({ optionsJSON });
}

/** The X-Breakglass-Step-Up header's value: the assertion's JSON, base64url (it is ASCII). */
export function stepUpHeader(assertion: PasskeyAssertion): string {
  return btoa(JSON.stringify(assertion)).replace(/\+/g, "-").replace(/\//g, "_").replace(/=+$/, "");
}

/** What to say when the browser's passkey prompt ends without an answer (cancelled, timed out, none there). */
export function passkeyProblem(failure: unknown): string | null {
  if (failure instanceof Error && (failure.name === "NotAllowedError" || failure.name === "AbortError"))
    return "No passkey answered: the prompt was cancelled or timed out. Try again, and touch your passkey when asked.";
  if (failure instanceof Error && failure.name === "InvalidStateError")
    return "This authenticator holds one of your passkeys already: use another one, or remove the old passkey first.";
  return null;
}
