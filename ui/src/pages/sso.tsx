import { useEffect, useState } from "preact/hooks";
import { call, messageOf } from "../api.js";
import { ErrorNotice, Page } from "../components/page.js";

/** Where the provider sends the browser back: a route of this app (admins allow it in the role). */
export const SSO_RETURN_PATH = "/oidc/callback";
/** The client_nonce of the sign-in this tab started: only this tab can finish it. */
const NONCE_KEY = "breakglass.oidc.client_nonce";

/**
 * "Sign in with SSO": asks the server for the provider's URL (auth_url, the default role) with a
 * return to this app and a client_nonce kept in this tab's sessionStorage, then goes there.
 */
export function SsoSignIn() {
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<string | null>(null);
  const start = async () => {
    setBusy(true);
    setError(null);
    try {
      const nonce = randomNonce();
      sessionStorage.setItem(NONCE_KEY, nonce);
      const answer = await call<{ data: { auth_url: string } }>("POST", "/v1/auth/oidc/oidc/auth_url", {
        redirect_uri: `${window.location.origin}/ui${SSO_RETURN_PATH}`,
        client_nonce: nonce,
      });
      window.location.assign(answer.body.data.auth_url);
    } catch (failure) {
      setError(messageOf(failure));
      setBusy(false);
    }
  };
  return (
    <div class="sso">
      <button type="button" class="button secondary" disabled={busy} onClick={() => void start()}>
        Sign in with SSO
      </button>
      <ErrorNotice error={error} />
    </div>
  );
}

/** The provider's return: what it sent, with this tab's client_nonce, opens the session. */
export function SsoReturn(props: { onSignedIn: () => void }) {
  const [error, setError] = useState<string | null>(null);
  useEffect(() => {
    const params = Object.fromEntries(new URLSearchParams(window.location.search));
    const clientNonce = sessionStorage.getItem(NONCE_KEY) ?? "";
    sessionStorage.removeItem(NONCE_KEY);
    // The code is spent either way: it leaves the address bar and the history.
    window.history.replaceState(null, "", "/ui/");
    // No sign-in started in this tab: a link from elsewhere, or one finished already. Not sent on,
    // so nobody's sign-in completes in this browser.
    if (!clientNonce)
      return setError("this sign-in was not started in this tab, or is finished already: sign in again");
    call("POST", "/v1/ui/session/oidc", { ...params, client_nonce: clientNonce }).then(
      () => props.onSignedIn(),
      (failure) => setError(messageOf(failure)),
    );
  }, [props.onSignedIn]);
  return (
    <Page title="Signing in">
      {error ? (
        <>
          <ErrorNotice error={error} />
          <p>
            <a href="/ui/">Back to sign in</a>
          </p>
        </>
      ) : (
        <p class="muted">Finishing the sign-in with your identity provider…</p>
      )}
    </Page>
  );
}

function randomNonce(): string {
  const bytes = crypto.getRandomValues(new Uint8Array(24));
  return btoa(String.fromCharCode(...bytes))
    .replace(/\+/g, "-")
    .replace(/\//g, "_")
    .replace(/=+$/, "");
}
