import { useEffect, useRef, useState } from "preact/hooks";
import type { ErrorCode } from "../../../src/core/errors.js";
import { call, errorCodeOf, messageOf } from "../api.js";
import { Field } from "../components/field.js";
import { ErrorNotice, Page } from "../components/page.js";
import { loginAssertion, passkeyProblem } from "../passkeys.js";
import { SsoSignIn } from "./sso.js";

type Method = "password" | "token";

/** Refusals of a username and password after which the second factor's code is offered. */
const ASKS_SECOND_FACTOR = new Set<ErrorCode | undefined>(["SECOND_FACTOR_REQUIRED", "LOGIN_FAILED"]);

/**
 * Sign-in: username and password (and, for a person who enabled one, the second factor's code),
 * or a token. The server answers a missing second factor exactly like a wrong password (no oracle),
 * so after a refusal the code field is offered rather than announced. A person with passkeys signs
 * in with "Sign in with a passkey": the password, then a touch of one of their passkeys.
 */
export function Login(props: { onSignedIn: () => void }) {
  const [method, setMethod] = useState<Method>("password");
  const [username, setUsername] = useState("");
  const [password, setPassword] = useState("");
  const [secondFactor, setSecondFactor] = useState("");
  const [askSecondFactor, setAskSecondFactor] = useState(false);
  const [token, setToken] = useState("");
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<string | null>(null);
  const firstInput = useRef<HTMLInputElement>(null);
  const secondFactorInput = useRef<HTMLInputElement>(null);

  useEffect(() => firstInput.current?.focus(), [method]);
  useEffect(() => {
    if (askSecondFactor) secondFactorInput.current?.focus();
  }, [askSecondFactor]);

  const submit = async (withPasskey = false) => {
    setBusy(true);
    setError(null);
    try {
      const body =
        method === "token"
          ? { token: token.trim() }
          : {
              username: username.trim(),
              password,
              ...(withPasskey
                ? { passkey: await loginAssertion(username.trim()) }
                : secondFactor.trim()
                  ? { totp: secondFactor.trim() }
                  : {}),
            };
      await call("POST", "/v1/ui/session", body);
      setPassword("");
      setToken("");
      props.onSignedIn();
    } catch (failure) {
      setError(passkeyProblem(failure) ?? messageOf(failure));
      setSecondFactor("");
      if (method === "password" && ASKS_SECOND_FACTOR.has(errorCodeOf(failure))) setAskSecondFactor(true);
    } finally {
      setBusy(false);
    }
  };

  return (
    <Page title="Sign in">
      <form
        onSubmit={(event) => {
          event.preventDefault();
          void submit();
        }}
      >
        {method === "password" ? (
          <>
            <Field
              label="Username"
              value={username}
              onValue={setUsername}
              inputRef={firstInput}
              autocomplete="username"
              autocapitalize="off"
              spellcheck={false}
              required
            />
            <Field
              label="Password"
              type="password"
              value={password}
              onValue={setPassword}
              autocomplete="current-password"
              required
            />
            {askSecondFactor ? (
              <Field
                label="Second factor code"
                value={secondFactor}
                onValue={setSecondFactor}
                inputRef={secondFactorInput}
                inputMode="numeric"
                autocomplete="one-time-code"
                spellcheck={false}
                maxLength={16}
                hint="If your account has a second factor, the code your authenticator shows now. Otherwise leave it empty and check the username and password."
              />
            ) : null}
          </>
        ) : (
          <Field
            label="Token"
            type="password"
            value={token}
            onValue={setToken}
            inputRef={firstInput}
            autocomplete="off"
            spellcheck={false}
            required
            hint="An API token (bgs.…), e.g. the root token from the key ceremony. The browser keeps it in an HttpOnly cookie; this page never stores it."
          />
        )}
        <ErrorNotice error={error} />
        <div class="actions">
          <button type="submit" class="button" disabled={busy}>
            Sign in
          </button>
          {method === "password" ? (
            <button
              type="button"
              class="button secondary"
              disabled={busy || !username.trim() || !password}
              onClick={() => void submit(true)}
            >
              Sign in with a passkey
            </button>
          ) : null}
          {/* A link, not a button: "Sign in" stays the only button of that name. */}
          <a
            class="switch-method"
            href={method === "password" ? "#token" : "#password"}
            onClick={(event) => {
              event.preventDefault();
              setMethod(method === "password" ? "token" : "password");
              setError(null);
            }}
          >
            {method === "password" ? "Sign in with a token instead" : "Sign in with a username instead"}
          </a>
        </div>
      </form>
      <SsoSignIn />
    </Page>
  );
}
