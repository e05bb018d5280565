import { existsSync, mkdirSync } from "node:fs";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { type Browser, type BrowserContext, chromium, type Page, type Response } from "playwright-core";
import { startTestServer, type TestServer } from "../support/server.js";
import { TEST_ENGINE } from "../support/storage.js";

/**
 * The web UI's end-to-end harness: Debian's Chromium driven by playwright-core, against a real
 * server (startTestServer) serving the built UI from dist/ui/. Every page records what a user's
 * developer console would show — console errors and warnings, uncaught exceptions, failed
 * requests, Content-Security-Policy violations — so that each test can assert none occurred.
 */

export const CHROMIUM = "/usr/bin/chromium";
const ROOT = fileURLToPath(new URL("../..", import.meta.url));
/** The built UI. Given to the server explicitly: run from source (as vitest does), its default would be src/ui. */
export const UI_DIRECTORY = join(ROOT, "dist", "ui");
export const UI_INDEX = join(UI_DIRECTORY, "index.html");
export const SCREENSHOTS = join(ROOT, "test-output", "screenshots");

/** The browser's behaviour does not depend on the storage engine: the UI tests run in the SQLite pass only. */
export const SKIP_UI = TEST_ENGINE === "postgres";
export const SKIP_UI_REASON = "web UI tests: skipped in the PostgreSQL pass; they run in the SQLite pass";
if (SKIP_UI) console.warn(SKIP_UI_REASON);

export const DESKTOP = { width: 1280, height: 800 };
export const PHONE = { width: 390, height: 844 };

/** Throws a clear sentence when the UI was not built (the global setup runs `npm run build`). */
export function requireBuiltUi(): void {
  if (!existsSync(UI_INDEX))
    throw new Error(
      `the web UI is not built: ${UI_INDEX} is missing. Run npm run build (vitest's global setup does)`,
    );
  if (!existsSync(CHROMIUM))
    throw new Error(`no Chromium at ${CHROMIUM}: apt-get install chromium (.ci/run does)`);
}

/** A real server on fresh storage serving the built UI from dist/ui/. */
export async function startUiServer(
  options: Omit<Parameters<typeof startTestServer>[0] & {}, "uiDirectory"> = {},
): Promise<TestServer> {
  requireBuiltUi();
  return startTestServer({ ...options, uiDirectory: UI_DIRECTORY });
}

/** One browser per test file. */
export async function launchBrowser(): Promise<Browser> {
  requireBuiltUi();
  return chromium.launch({
    executablePath: CHROMIUM,
    args: ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking"],
    timeout: 90_000, // a first start on a loaded machine (the crash test beside it) can take long
  });
}

export interface OpenedPage {
  context: BrowserContext;
  page: Page;
  /** Everything that went wrong in the browser, one line each; tests expect it empty. */
  problems: string[];
  /**
   * Declares an API refusal the test provokes on purpose (Chromium logs every fetch answering 4xx
   * as a console error): such a status on a matching /v1/ path is then not a problem.
   */
  allowRefusal(status: number, path: RegExp): void;
  close(): Promise<void>;
}

export interface PageOptions {
  dark?: boolean;
  phone?: boolean;
}

interface Watch {
  problems: string[];
  allowed: { status: number; path: RegExp }[];
}

/** A fresh context (no cookies, no storage) and a page in it that records every problem. */
export async function openPage(browser: Browser, options: PageOptions = {}): Promise<OpenedPage> {
  const context = await browser.newContext({
    colorScheme: options.dark ? "dark" : "light",
    viewport: options.phone ? PHONE : DESKTOP,
    deviceScaleFactor: 1,
    isMobile: options.phone ?? false,
    hasTouch: options.phone ?? false,
    reducedMotion: "reduce",
  });
  const state: Watch = { problems: [], allowed: [] };
  // CSP violations, reported from inside the page (the console message's wording changes across versions).
  await context.exposeBinding("__breakglassCspViolation", (_source, text: string) => {
    state.problems.push(`CSP violation: ${text}`);
  });
  await context.addInitScript(`document.addEventListener("securitypolicyviolation", (event) => {
    window.__breakglassCspViolation(event.violatedDirective + " blocked " + (event.blockedURI || "inline") +
      " at " + event.sourceFile + ":" + event.lineNumber);
  });`);
  const page = await context.newPage();
  watch(page, state);
  context.on("page", (other) => watch(other, state));
  return {
    context,
    page,
    problems: state.problems,
    allowRefusal: (status, path) => {
      state.allowed.push({ status, path });
    },
    close: () => context.close(),
  };
}

const REFUSED = /^Failed to load resource: the server responded with a status of (\d+)\b/;

function watch(page: Page, state: Watch): void {
  const { problems } = state;
  const allowed = (status: number, url: string) => {
    const path = new URL(url, "http://x").pathname;
    return path.startsWith("/v1/") && state.allowed.some((a) => a.status === status && a.path.test(path));
  };
  page.on("console", (message) => {
    const type = message.type();
    if (type !== "error" && type !== "warning") return;
    const url = message.location().url;
    const refused = REFUSED.exec(message.text());
    if (refused && allowed(Number(refused[1]), url)) return;
    problems.push(`console ${type}: ${message.text()}${url ? ` (${url})` : ""}`);
  });
  page.on("pageerror", (error) => problems.push(`uncaught exception: ${error.stack ?? error.message}`));
  page.on("requestfailed", (request) => {
    const failure = request.failure()?.errorText ?? "failed";
    // A fetch cancelled on purpose (AbortController on unmount, or the test navigating away
    // while the page polls) is not a fault; a failed document, script, style or image is.
    if (failure === "net::ERR_ABORTED" && request.resourceType() === "fetch") return;
    problems.push(`request failed: ${request.method()} ${request.url()}: ${failure}`);
  });
}

/** Opens a UI path (e.g. "/", "/audit"), checks the navigation came with the CSP, and returns its response. */
export async function openUi(page: Page, baseUrl: string, path = "/"): Promise<Response> {
  const response = await page.goto(`${baseUrl}/ui${path === "/" ? "/" : path}`, { waitUntil: "load" });
  if (!response) throw new Error(`no response opening ${path}`);
  // Every page of the UI comes under the policy, not only the first one a test looks at.
  const policy = response.headers()["content-security-policy"] ?? "";
  if (!policy.includes("default-src 'none'") || !policy.includes("script-src 'self'"))
    throw new Error(`/ui${path} came without the strict Content-Security-Policy: ${JSON.stringify(policy)}`);
  return response;
}

/**
 * Signs a context in without the login screen (for tests of other screens): opens the session
 * with the API as the page would, and gives the browser the cookie the server set.
 */
export async function signInByApi(
  context: BrowserContext,
  baseUrl: string,
  credentials: { token: string } | { username: string; password: string },
): Promise<void> {
  const response = await fetch(`${baseUrl}/v1/ui/session`, {
    method: "POST",
    headers: { "content-type": "application/json" },
    body: JSON.stringify(credentials),
  });
  if (response.status !== 200)
    throw new Error(`POST /v1/ui/session answered ${response.status}: ${await response.text()}`);
  const setCookie = response.headers.get("set-cookie") ?? "";
  const [pair] = setCookie.split(";");
  const equals = pair?.indexOf("=") ?? -1;
  if (!pair || equals < 0) throw new Error(`no session cookie in ${JSON.stringify(setCookie)}`);
  await context.addCookies([
    {
      name: pair.slice(0, equals),
      value: pair.slice(equals + 1),
      url: baseUrl,
      httpOnly: true,
      secure: true,
      sameSite: "Strict",
    },
  ]);
}

/** A PNG of the page into test-output/screenshots/NAME.png (full page unless told otherwise). */
export async function screenshot(
  page: Page,
  name: string,
  options: { fullPage?: boolean } = {},
): Promise<string> {
  mkdirSync(SCREENSHOTS, { recursive: true });
  const path = join(SCREENSHOTS, `${name}.png`);
  // Let transitions and the caret settle so a screenshot does not catch a half-drawn frame.
  await page.evaluate("document.activeElement && document.activeElement.blur()");
  await page.screenshot({ path, fullPage: options.fullPage ?? true, animations: "disabled", caret: "hide" });
  return path;
}

/** Everything the page's scripts could have kept: localStorage, sessionStorage and document.cookie. */
export async function browserStorage(page: Page): Promise<string> {
  return page.evaluate(
    `JSON.stringify({ local: { ...localStorage }, session: { ...sessionStorage }, cookie: document.cookie })`,
  );
}

/** Sets a marker on window: if it is still there later, the page was not reloaded in between. */
export async function setMarker(page: Page): Promise<string> {
  const marker = `marker-${Math.random().toString(36).slice(2)}`;
  await page.evaluate(`window.__marker = ${JSON.stringify(marker)}`);
  return marker;
}

export async function markerOf(page: Page): Promise<string | undefined> {
  return page.evaluate("window.__marker");
}

/** How long a test waits for something on screen before failing (a missing label fails fast). */
export const UI_TIMEOUT_MS = 8_000;

/**
 * The pages a test opened: `open` makes one, `finish` closes them all and returns every problem
 * they recorded (call it in afterEach and expect it empty).
 */
export function pageTracker(browser: () => Browser) {
  const opened: OpenedPage[] = [];
  return {
    async open(options: PageOptions = {}): Promise<OpenedPage> {
      const made = await openPage(browser(), options);
      made.context.setDefaultTimeout(UI_TIMEOUT_MS);
      opened.push(made);
      return made;
    },
    /** Problems so far, across every page of the test. */
    problems(): string[] {
      return opened.flatMap((made) => made.problems);
    },
    async finish(): Promise<string[]> {
      const problems = opened.flatMap((made) => made.problems);
      await Promise.all(opened.map((made) => made.close().catch(() => undefined)));
      opened.length = 0;
      return problems;
    },
  };
}
