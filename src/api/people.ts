import { type Static, Type } from "typebox";
import { PasskeyAssertion } from "./passkeys.js";

/** People: userpass users and their login (auth/userpass/*), groups, and the web UI's session. */

export const UsernameParams = Type.Object({ username: Type.String({ maxLength: 64, "x-text": "line" }) });
export type UsernameParams = Static<typeof UsernameParams>;

const names = Type.Array(Type.String({ maxLength: 64 }), { maxItems: 64 });

export const PutUserBody = Type.Object({
  password: Type.Optional(Type.String({ maxLength: 1024 })),
  policies: Type.Optional(names),
  token_policies: Type.Optional(names),
  groups: Type.Optional(names),
  display_name: Type.Optional(Type.String({ maxLength: 128, "x-text": "line" })),
  email: Type.Optional(Type.String({ maxLength: 254, "x-text": "line" })),
  require_mfa: Type.Optional(
    Type.Boolean({ description: "until the person enables a second factor, they can only enrol one" }),
  ),
  sso: Type.Optional(
    Type.Boolean({
      description:
        "may sign in with the OpenID provider: the first sign-in then binds their provider account; off, no sign-in is taken for them",
    }),
  ),
  disabled: Type.Optional(
    Type.Boolean({
      description:
        "blocked: every token of theirs ends now, and no login (password or SSO) succeeds until false",
    }),
  ),
});
export type PutUserBody = Static<typeof PutUserBody>;

/** The current code of one's second factor, once enabled; without it a login is refused like a wrong password. */
const SECOND_FACTOR_CODE =
  "the current code of one's second factor, once enabled; without it the login is refused like a wrong password";

export const LoginBody = Type.Object({
  password: Type.String({ maxLength: 1024 }),
  totp: Type.Optional(Type.String({ description: SECOND_FACTOR_CODE })),
  passkey: Type.Optional(PasskeyAssertion),
});
export type LoginBody = Static<typeof LoginBody>;

export const ConfirmSecondFactorBody = Type.Object({ code: Type.String({ pattern: "^[0-9]{6,8}$" }) });
export type ConfirmSecondFactorBody = Static<typeof ConfirmSecondFactorBody>;

export const GroupNameParams = Type.Object({ name: Type.String({ maxLength: 64 }) });
export type GroupNameParams = Static<typeof GroupNameParams>;

export const PutGroupBody = Type.Object({
  members: Type.Array(Type.String({ maxLength: 64 }), { maxItems: 1000 }),
  policies: Type.Optional(Type.Array(Type.String({ maxLength: 64 }), { maxItems: 64 })),
});
export type PutGroupBody = Static<typeof PutGroupBody>;

/** A browser session: username and password (and totp), or a token. */
export const OpenSessionBody = Type.Object({
  username: Type.Optional(Type.String({ minLength: 1, maxLength: 64, "x-text": "line" })),
  password: Type.Optional(Type.String({ maxLength: 1024 })),
  totp: Type.Optional(Type.String({ maxLength: 16, description: SECOND_FACTOR_CODE })),
  passkey: Type.Optional(PasskeyAssertion),
  token: Type.Optional(Type.String({ maxLength: 200, description: "instead of username and password" })),
});
export type OpenSessionBody = Static<typeof OpenSessionBody>;
