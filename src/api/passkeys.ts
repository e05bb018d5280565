import { type Static, Type } from "typebox";
import { oneOf } from "./fields.js";

/**
 * Passkeys (WebAuthn) at auth/passkey/ (docs/passkeys.md): what the browser's
 * navigator.credentials answers, as @simplewebauthn/browser serialises it, and the requests around.
 * Binary values are base64url; nothing here is free text but a passkey's name.
 */

const base64url = (maxLength: number) => Type.String({ pattern: "^[A-Za-z0-9_-]*$", maxLength });

/** A credential id: at most 1023 bytes (WebAuthn), 1364 characters of base64url. */
const credentialId = () => Type.String({ pattern: "^[A-Za-z0-9_-]+$", minLength: 1, maxLength: 1364 });

const clientExtensionResults = Type.Object({}, { description: "as the browser gave them" });

/** An assertion (navigator.credentials.get): proves a passkey was touched for one challenge. */
export const PasskeyAssertion = Type.Object({
  id: credentialId(),
  rawId: credentialId(),
  type: Type.Literal("public-key"),
  response: Type.Object({
    clientDataJSON: base64url(4096),
    authenticatorData: base64url(4096),
    signature: base64url(2048),
    userHandle: Type.Optional(base64url(512)),
  }),
  clientExtensionResults,
  authenticatorAttachment: Type.Optional(oneOf(["platform", "cross-platform"] as const)),
});
export type PasskeyAssertion = Static<typeof PasskeyAssertion>;

/** A new credential (navigator.credentials.create): its public key; the attestation is checked, never kept. */
export const PasskeyAttestation = Type.Object({
  id: credentialId(),
  rawId: credentialId(),
  type: Type.Literal("public-key"),
  response: Type.Object({
    clientDataJSON: base64url(4096),
    attestationObject: base64url(32768),
    authenticatorData: Type.Optional(base64url(8192)),
    transports: Type.Optional(
      Type.Array(oneOf(["ble", "cable", "hybrid", "internal", "nfc", "smart-card", "usb"] as const), {
        maxItems: 8,
      }),
    ),
    publicKeyAlgorithm: Type.Optional(Type.Integer()),
    publicKey: Type.Optional(base64url(8192)),
  }),
  clientExtensionResults,
  authenticatorAttachment: Type.Optional(oneOf(["platform", "cross-platform"] as const)),
});
export type PasskeyAttestation = Static<typeof PasskeyAttestation>;

const passkeyName = (description: string) =>
  Type.String({ minLength: 1, maxLength: 64, "x-text": "line", description });

export const RegisterPasskeyBody = Type.Object({
  credential: PasskeyAttestation,
  name: Type.Optional(passkeyName("what you call it (laptop, YubiKey); default: passkey")),
});
export type RegisterPasskeyBody = Static<typeof RegisterPasskeyBody>;

export const RenamePasskeyBody = Type.Object({ name: passkeyName("the new name") });
export type RenamePasskeyBody = Static<typeof RenamePasskeyBody>;

export const PasskeyIdParams = Type.Object({ id: credentialId() });
export type PasskeyIdParams = Static<typeof PasskeyIdParams>;

export const PasskeyLoginBeginBody = Type.Object({
  username: Type.String({ minLength: 1, maxLength: 64, "x-text": "line" }),
});
export type PasskeyLoginBeginBody = Static<typeof PasskeyLoginBeginBody>;

export const StepUpBeginBody = Type.Object({
  action: oneOf(["totp.code.read", "approval.approve"] as const, {
    description: "what the step-up is for: a code read, or an approver's yes",
  }),
  target: Type.String({
    pattern: "^[A-Za-z0-9][A-Za-z0-9._-]{0,127}$",
    description: "the credential's name (a code read) or the approval's id (an approval)",
  }),
});
export type StepUpBeginBody = Static<typeof StepUpBeginBody>;

/** A passkey as its owner sees it. */
export const PasskeyAnswer = Type.Object({
  id: Type.String(),
  name: Type.String(),
  created_at: Type.String(),
  last_used_at: Type.Union([Type.String(), Type.Null()]),
  backed_up: Type.Boolean({ description: "synced by its provider (a multi-device passkey)" }),
});
export type PasskeyAnswer = Static<typeof PasskeyAnswer>;

/** The header a code read carries its step-up in: the assertion's JSON, base64url (a GET has no body). */
export const STEP_UP_HEADER = "x-breakglass-step-up";
