import { useCallback, useEffect, useRef, useState } from "preact/hooks";
import { ApiError, call, useCsrfToken } from "./api.js";
import { ErrorNotice } from "./components/page.js";
import { Login } from "./pages/login.js";
import { SealNow } from "./pages/seal/seal-now.js";
import { SealScreen } from "./pages/seal.js";
import { SSO_RETURN_PATH, SsoReturn } from "./pages/sso.js";
import { APPROVALS_PATH, PendingApprovalsContext, usePendingApprovalCount } from "./pending-approvals.js";
import { currentPath, href, match, navigate, usePath } from "./router.js";
import { ROUTES, type Route } from "./routes.js";
import { holds, type Session, SessionContext } from "./session.js";
import { ThemeToggle } from "./theme.js";

type Stage =
  | { name: "starting" }
  | { name: "unreachable"; error: string }
  | { name: "seal" }
  | { name: "login" }
  | { name: "sso-return" }
  | { name: "ready"; session: Session };

/** Decides what to show: the seal screen until unsealed, then sign-in, then the app. */
export function App() {
  // Back from the identity provider: the sign-in is finished before anything else is asked (its
  // page takes the code out of the address bar first, so this is decided once, at load).
  const returningFromProvider = useRef(currentPath() === SSO_RETURN_PATH);
  const [stage, setStage] = useState<Stage>(
    returningFromProvider.current ? { name: "sso-return" } : { name: "starting" },
  );

  const recheck = useCallback(async () => {
    try {
      const seal = await call<{ initialized: boolean; sealed: boolean }>("GET", "/v1/sys/seal-status");
      if (!seal.body.initialized || seal.body.sealed) return setStage({ name: "seal" });
      const answer = await call<{ data: Session | null }>("GET", "/v1/ui/session");
      const session = answer.body.data;
      if (session === null) {
        useCsrfToken("");
        return setStage({ name: "login" });
      }
      useCsrfToken(session.csrf_token);
      setStage({ name: "ready", session });
    } catch (error) {
      setStage({ name: "unreachable", error: error instanceof ApiError ? error.message : String(error) });
    }
  }, []);

  useEffect(() => {
    if (!returningFromProvider.current) void recheck();
  }, [recheck]);

  const signOut = useCallback(async () => {
    await call("DELETE", "/v1/ui/session", undefined, { accept: [403] });
    useCsrfToken("");
    navigate("/");
    setStage({ name: "login" });
  }, []);

  return (
    <div class="app">
      <a class="skip-link" href="#main">
        Skip to content
      </a>
      {stage.name === "ready" ? (
        <SessionContext.Provider value={{ session: stage.session, refresh: recheck, signOut }}>
          <Shell session={stage.session} signOut={signOut} />
        </SessionContext.Provider>
      ) : (
        <>
          <TopBar />
          <main id="main" class="main narrow">
            {stage.name === "starting" ? <p class="muted">Connecting…</p> : null}
            {stage.name === "unreachable" ? <ErrorNotice error={stage.error} /> : null}
            {stage.name === "seal" ? <SealScreen onUnsealed={recheck} /> : null}
            {stage.name === "login" ? <Login onSignedIn={recheck} /> : null}
            {stage.name === "sso-return" ? <SsoReturn onSignedIn={recheck} /> : null}
          </main>
        </>
      )}
    </div>
  );
}

function TopBar(props: { children?: preact.ComponentChildren }) {
  return (
    <header class="topbar">
      <a class="brand" {...href("/")}>
        breakglass
      </a>
      <div class="topbar-end">
        {props.children}
        <ThemeToggle />
      </div>
    </header>
  );
}

function Shell(props: { session: Session; signOut: () => Promise<void> }) {
  const path = usePath();
  const visible = ROUTES.filter((route) => route.nav && holds(props.session, route.nav));
  const pending = usePendingApprovalCount(
    visible.some((route) => route.path === APPROVALS_PATH),
    path,
  );
  let page: preact.JSX.Element = <p>No such page.</p>;
  for (const route of ROUTES) {
    const params = match(route.path, path);
    if (params) {
      page = <route.page params={params} />;
      break;
    }
  }
  return (
    <PendingApprovalsContext.Provider value={pending}>
      <TopBar>
        <SealNow />
        <span class="who">{props.session.display_name || props.session.username || "token"}</span>
        <button type="button" class="button secondary" onClick={() => void props.signOut()}>
          Sign out
        </button>
      </TopBar>
      <div class="layout">
        <nav class="nav" aria-label="Main">
          {(["main", "admin"] as const).map((section) => {
            const links = visible.filter((route) => route.section === section);
            if (links.length === 0) return null;
            return (
              <ul key={section} aria-label={section === "admin" ? "Administration" : "Everyday"}>
                {links.map((route) => (
                  <li key={route.path}>
                    <NavLink
                      route={route}
                      current={Boolean(match(route.path, path))}
                      pending={pending.count}
                    />
                  </li>
                ))}
              </ul>
            );
          })}
        </nav>
        <main id="main" class="main">
          {page}
        </main>
      </div>
    </PendingApprovalsContext.Provider>
  );
}

/** A navigation link; Approvals carries the number of requests waiting for this person's decision. */
function NavLink(props: { route: Route; current: boolean; pending: number | null }) {
  const count = props.route.path === APPROVALS_PATH && props.pending ? props.pending : 0;
  return (
    <a {...href(props.route.path)} aria-current={props.current ? "page" : undefined}>
      {count ? (
        <>
          {/* Read out as "Approvals, 2 pending": one text, as the hidden span would be set apart. */}
          <span aria-hidden="true">
            {props.route.title}
            <span class="nav-badge" data-testid="pending-approvals">
              {count}
            </span>
          </span>
          <span class="visually-hidden">{`${props.route.title}, ${count} pending`}</span>
        </>
      ) : (
        props.route.title
      )}
    </a>
  );
}
