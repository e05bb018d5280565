import { createHash, randomBytes } from "node:crypto";
import {
  type AuthenticationResponseJSON,
  generateAuthenticationOptions,
  generateRegistrationOptions,
  type PublicKeyCredentialCreationOptionsJSON,
  type PublicKeyCredentialRequestOptionsJSON,
  type RegistrationResponseJSON,
  verifyAuthenticationResponse,
  verifyRegistrationResponse,
} from "@simplewebauthn/server";
import { type Clock, isoTime } from "../../core/clock.js";
import { badInput, notFound, permissionDenied } from "../../core/errors.js";
import { checkText } from "../../core/text.js";
import type { PasskeyPurpose, PasskeyRecord, Store } from "../../store/store.js";
import type { AuditLog } from "../audit/audit-log.js";
import type { RequestContext } from "../context.js";
import { challengeOf, type PasskeyChallenges } from "./passkey-challenges.js";

/** How long a registration or login challenge may wait for the authenticator. */
export const CEREMONY_SECONDS = 120;
/** How long a step-up challenge lives: a touch is proof of presence for this one use, now. */
export const STEP_UP_SECONDS = 60;
const RP_NAME = "breakglass";
const MAX_PASSKEYS = 20;
const LOCALHOST = /^localhost(:\d+)?$/;

/** Who the passkeys are for: the site's host (WebAuthn's relying party id) and the page's origin. */
export interface RelyingParty {
  id: string;
  origin: string;
}

/** The relying party of a request, asked for only once the caller is known to be someone who may get an answer. */
export type RelyingPartyOf = () => RelyingParty;

/** A passkey as its owner sees it: never the public key (not secret, but of no use to anyone). */
export interface PasskeyView {
  id: string;
  name: string;
  createdAt: string;
  lastUsedAt: string | null;
  backedUp: boolean;
}

/** An assertion checked: the passkey that signed it, or why it was not accepted (for the log only). */
export type AssertionCheck = { credentialId: string } | { problem: string };

/**
 * People's passkeys (WebAuthn, @simplewebauthn/server): registered, listed, renamed and removed by
 * their owner; reset by an admin; asked for at a password login (a second factor) and for a
 * step-up (step-up.ts). Every challenge is stored (several nodes share the database), bound to the
 * person, its purpose and, for a step-up, the one action it allows; it is taken once, and refused
 * once past its lifetime. Only public keys are stored; attestation objects are never kept or logged.
 */
export class PasskeyService {
  constructor(
    private readonly store: Store,
    private readonly audit: AuditLog,
    private readonly clock: Clock,
    private readonly challenges: PasskeyChallenges,
    /** `passkey_origin` from the server's configuration (docs/passkeys.md); undefined: localhost only. */
    private readonly configuredOrigin?: string,
  ) {}

  /**
   * The relying party of a request: the configured origin; without one, the request's own host,
   * but only `localhost` (development and tests) — elsewhere a Host header is the client's word.
   */
  relyingParty(host: string | undefined, protocol: string): RelyingParty {
    if (this.configuredOrigin) {
      const url = new URL(this.configuredOrigin);
      return { id: url.hostname, origin: url.origin };
    }
    if (host && LOCALHOST.test(host)) return { id: "localhost", origin: `${protocol}://${host}` };
    throw badInput(
      "passkeys are not set up on this server: set passkey_origin in its configuration (docs/passkeys.md)",
    );
  }

  async registrationOptions(
    ctx: RequestContext,
    rpOf: RelyingPartyOf,
  ): Promise<PublicKeyCredentialCreationOptionsJSON> {
    const username = personOf(ctx);
    const rp = rpOf();
    const user = await this.store.findUser(username);
    if (!user) throw permissionDenied();
    const existing = await this.store.passkeys.list(username);
    if (existing.length >= MAX_PASSKEYS)
      throw badInput(`a person has at most ${MAX_PASSKEYS} passkeys: remove one first`);
    const options = await generateRegistrationOptions({
      rpName: RP_NAME,
      rpID: rp.id,
      userName: username,
      userDisplayName: user.displayName || username,
      // The same handle for every passkey of a person, and nothing in it names them.
      userID: createHash("sha256").update(`breakglass passkey user ${username}`).digest().subarray(0, 16),
      challenge: randomBytes(32),
      timeout: CEREMONY_SECONDS * 1000,
      attestationType: "none",
      excludeCredentials: existing.map((p) => ({ id: p.id, transports: p.transports })),
      // Discoverable: a login's options then name no credential, and so say nothing of who has one.
      authenticatorSelection: { residentKey: "required", userVerification: "preferred" },
    });
    await this.challenges.save(options.challenge, username, "register", "", CEREMONY_SECONDS);
    return options;
  }

  async register(
    ctx: RequestContext,
    rpOf: RelyingPartyOf,
    response: RegistrationResponseJSON,
    name: string | undefined,
  ): Promise<PasskeyView> {
    const username = personOf(ctx);
    const rp = rpOf();
    const label = name?.trim() || "passkey";
    checkText(label, "name");
    const refuse = async (problem: string) => {
      await this.audit.record(ctx, {
        action: "people.passkey.register",
        target: `user:${username}`,
        outcome: "denied",
        details: { problem, credential: response.id },
      });
      return badInput(`the passkey was not registered: ${problem}`);
    };
    const taken = await this.challenges.take(challengeOf(response.response.clientDataJSON), {
      username,
      purpose: "register",
      binding: "",
    });
    if ("problem" in taken) throw await refuse(taken.problem);
    let verified: Awaited<ReturnType<typeof verifyRegistrationResponse>>;
    try {
      verified = await verifyRegistrationResponse({
        response,
        expectedChallenge: taken.challenge,
        expectedOrigin: rp.origin,
        expectedRPID: rp.id,
        requireUserVerification: false,
      });
    } catch (error) {
      throw await refuse(describeLibraryRefusal(error));
    }
    if (!verified.verified) throw await refuse("the authenticator's answer did not verify");
    const { credential, credentialDeviceType, credentialBackedUp } = verified.registrationInfo;
    const now = isoTime(this.clock);
    const record: PasskeyRecord = {
      id: credential.id,
      username,
      name: label,
      publicKey: Buffer.from(credential.publicKey).toString("base64url"),
      counter: credential.counter,
      transports: credential.transports ?? response.response.transports ?? [],
      deviceType: credentialDeviceType,
      backedUp: credentialBackedUp,
      createdAt: now,
      lastUsedAt: null,
    };
    if (!(await this.store.passkeys.insert(record))) throw await refuse("this passkey is registered already");
    await this.audit.record(ctx, {
      action: "people.passkey.register",
      target: `user:${username}`,
      outcome: "allowed",
      details: { credential: record.id, name: label, device_type: credentialDeviceType },
    });
    return viewOf(record);
  }

  async list(ctx: RequestContext): Promise<PasskeyView[]> {
    return (await this.store.passkeys.list(personOf(ctx))).map(viewOf);
  }

  async rename(ctx: RequestContext, id: string, name: string): Promise<void> {
    const username = personOf(ctx);
    const label = name.trim();
    if (!label) throw badInput("name must not be empty");
    checkText(label, "name");
    const renamed = await this.store.passkeys.rename(username, id, label);
    await this.audit.record(ctx, {
      action: "people.passkey.rename",
      target: `user:${username}`,
      outcome: renamed ? "allowed" : "failed",
      details: { credential: id, ...(renamed ? { name: label } : { problem: "no such passkey of theirs" }) },
    });
    if (!renamed) throw notFound("you have no passkey with that id");
  }

  async remove(ctx: RequestContext, id: string): Promise<void> {
    const username = personOf(ctx);
    const removed = await this.store.passkeys.remove(username, id);
    await this.audit.record(ctx, {
      action: "people.passkey.remove",
      target: `user:${username}`,
      outcome: removed ? "allowed" : "failed",
      details: { credential: id, ...(removed ? {} : { problem: "no such passkey of theirs" }) },
    });
    if (!removed) throw notFound("you have no passkey with that id");
  }

  /** An admin's reset, for a person who lost every passkey: all are removed, and the team is told. */
  async reset(username: string, ctx: RequestContext): Promise<void> {
    const user = await this.store.findUser(username);
    if (!user) {
      await this.audit.record(ctx, {
        action: "people.passkey.reset",
        target: `user:${username}`,
        outcome: "failed",
        details: { problem: "no such user" },
      });
      throw notFound(`no user named ${username}`);
    }
    const ids = (await this.store.passkeys.list(username)).map((p) => p.id);
    const by = ctx.actor?.owner ?? "anonymous";
    // Recorded (and told) before the rows go: should the delete fail, the log says it was tried.
    await this.audit.record(ctx, {
      action: "people.passkey.reset",
      target: `user:${username}`,
      outcome: "allowed",
      details: { credentials: ids.join(","), count: ids.length },
      notify: {
        type: "passkeys.reset",
        actor: by,
        text: `${by} reset the passkeys of user:${username} (${ids.length} removed): they register new ones at their next login`,
      },
    });
    await this.store.passkeys.removeAll(username);
  }

  /** Whether the person has a passkey (then a password login needs one). */
  async hasPasskeys(username: string): Promise<boolean> {
    return (await this.store.passkeys.list(username)).length > 0;
  }

  /**
   * A login's options, the same for every name — a person with passkeys, one without, nobody — so
   * they say nothing of who exists: no credential is named (passkeys are discoverable).
   */
  async loginOptions(username: string, rp: RelyingParty): Promise<PublicKeyCredentialRequestOptionsJSON> {
    const options = await generateAuthenticationOptions({
      rpID: rp.id,
      challenge: randomBytes(32),
      timeout: CEREMONY_SECONDS * 1000,
      userVerification: "preferred",
    });
    await this.challenges.save(options.challenge, username, "login", "", CEREMONY_SECONDS);
    return options;
  }

  /** At a password login: whether the assertion is a fresh one of the person's passkeys (each challenge once). */
  async checkAtLogin(
    username: string,
    assertion: AuthenticationResponseJSON,
    rp: RelyingParty,
    ctx: RequestContext,
  ): Promise<boolean> {
    const check = await this.verifyAssertion(username, "login", "", assertion, rp);
    await this.audit.record(ctx, {
      action: "people.passkey.check",
      target: `user:${username}`,
      outcome: "credentialId" in check ? "allowed" : "denied",
      details: "credentialId" in check ? { credential: check.credentialId } : { problem: check.problem },
    });
    return "credentialId" in check;
  }

  /** Options for a step-up of the person: their passkeys named, the challenge bound to `binding`. */
  async stepUpOptions(username: string, binding: string, rp: RelyingParty) {
    const passkeys = await this.store.passkeys.list(username);
    if (passkeys.length === 0)
      throw badInput(
        "you have no passkey: register one first (the passkeys page, or POST /v1/auth/passkey/register/begin)",
      );
    const options = await generateAuthenticationOptions({
      rpID: rp.id,
      challenge: randomBytes(32),
      timeout: STEP_UP_SECONDS * 1000,
      userVerification: "preferred",
      allowCredentials: passkeys.map((p) => ({ id: p.id, transports: p.transports })),
    });
    await this.challenges.save(options.challenge, username, "step-up", binding, STEP_UP_SECONDS);
    return options;
  }

  /**
   * Checks an assertion against the challenge it answers, which is taken first (so a failed check
   * uses it up too): it must be this person's, for this purpose and binding, and not expired; the
   * signature must verify with one of the person's passkeys.
   */
  async verifyAssertion(
    username: string,
    purpose: PasskeyPurpose,
    binding: string,
    assertion: AuthenticationResponseJSON,
    rp: RelyingParty,
  ): Promise<AssertionCheck> {
    const taken = await this.challenges.take(challengeOf(assertion.response.clientDataJSON), {
      username,
      purpose,
      binding,
    });
    if ("problem" in taken) return taken;
    const passkey = await this.store.passkeys.find(assertion.id);
    if (!passkey || passkey.username !== username) return { problem: "not a passkey of this person" };
    try {
      const verified = await verifyAuthenticationResponse({
        response: assertion,
        expectedChallenge: taken.challenge,
        expectedOrigin: rp.origin,
        expectedRPID: rp.id,
        credential: {
          id: passkey.id,
          publicKey: Buffer.from(passkey.publicKey, "base64url"),
          counter: passkey.counter,
          transports: passkey.transports as never,
        },
        requireUserVerification: false,
      });
      if (!verified.verified) return { problem: "the signature did not verify" };
      await this.store.passkeys.recordUse(
        passkey.id,
        verified.authenticationInfo.newCounter,
        isoTime(this.clock),
      );
      return { credentialId: passkey.id };
    } catch (error) {
      return { problem: describeLibraryRefusal(error) };
    }
  }
}

/** The library's refusal in a line: its message names what did not match, never a key. */
function describeLibraryRefusal(error: unknown): string {
  const message = error instanceof Error ? error.message : String(error);
  return message.replace(/\s+/g, " ").slice(0, 200);
}

function viewOf(passkey: PasskeyRecord): PasskeyView {
  return {
    id: passkey.id,
    name: passkey.name,
    createdAt: passkey.createdAt,
    lastUsedAt: passkey.lastUsedAt,
    backedUp: passkey.backedUp,
  };
}

/** The person behind the request; a token with none (a machine's) has no passkeys. */
export function personOf(ctx: RequestContext): string {
  const username = ctx.actor?.username;
  if (!username)
    throw permissionDenied("permission denied: passkeys belong to people; this token has no person");
  return username;
}
