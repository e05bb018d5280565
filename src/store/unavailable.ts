import { BreakglassError } from "../core/errors.js";
import type { Store, StoreEvents } from "./store.js";

/**
 * A busy or unreachable database is a fault of the moment, not a bug: every store call that fails
 * for that reason reads as STORE_UNAVAILABLE (503), on both engines, and its cause goes to
 * `events.unavailable`. The store's methods, and those of its nested stores, are wrapped once here
 * when it is opened; a call costs one function call and a `catch` on its promise.
 */
export function reportingUnavailableStorage(store: Store, events: StoreEvents = {}): Store {
  const translate = (error: unknown): never => {
    if (!isStorageUnavailable(error)) throw error;
    events.unavailable?.(error);
    throw storageUnavailable();
  };
  wrapMethods(store, translate);
  for (const name of Object.keys(NESTED_STORES) as NestedStoreName[]) wrapMethods(store[name], translate);
  return store;
}

/** The properties of Store that are stores themselves. */
type NestedStoreName = {
  [K in keyof Store]: Store[K] extends (...args: never[]) => unknown
    ? never
    : Store[K] extends object
      ? K
      : never;
}[keyof Store];

/** Every nested store, so that one added to Store without a line here does not compile. */
const NESTED_STORES: Record<NestedStoreName, true> = {
  approvals: true,
  devices: true,
  notifications: true,
  secrets: true,
  backup: true,
  tokens: true,
  secondFactors: true,
  passkeys: true,
  delivery: true,
  oidc: true,
};

/** Replaces each method of `target` (its own and its class's, up the prototype chain) by an own property that translates failures. */
function wrapMethods(target: object, translate: (error: unknown) => never): void {
  const methods = target as Record<string, (...args: unknown[]) => unknown>;
  for (const name of methodNames(target)) {
    const method = methods[name] as (...args: unknown[]) => unknown;
    methods[name] = (...args: unknown[]) => {
      let result: unknown;
      try {
        result = method.apply(target, args);
      } catch (error) {
        return translate(error);
      }
      return result instanceof Promise ? result.catch(translate) : result;
    };
  }
}

function methodNames(target: object): Set<string> {
  const names = new Set<string>();
  for (let proto: object | null = target; proto && proto !== Object.prototype; ) {
    for (const name of Object.getOwnPropertyNames(proto))
      if (name !== "constructor" && typeof Object.getOwnPropertyDescriptor(proto, name)?.value === "function")
        names.add(name);
    proto = Object.getPrototypeOf(proto);
  }
  return names;
}

/** Node's words for a network that does not reach the database server. */
const NETWORK_ERROR_CODES = new Set([
  "ECONNREFUSED",
  "ECONNRESET",
  "ETIMEDOUT",
  "EPIPE",
  "ENOTFOUND",
  "EHOSTUNREACH",
]);

/**
 * PostgreSQL SQLSTATEs that mean "not now" rather than "wrong": 53300 too many connections, 55000
 * (as when the database is not accepting connections: ALTER DATABASE … ALLOW_CONNECTIONS false),
 * 57P01-57P05 (terminated by an administrator or a shutdown, crashed, cannot connect now —
 * starting up or shutting down —, database dropped, idle session ended). Class 08 is every
 * connection exception.
 */
const POSTGRES_UNAVAILABLE = /^(08...|53300|55000|57P0[1-5])$/;
/** SQLite's busy and locked results with their extended codes (SQLITE_BUSY_SNAPSHOT, SQLITE_LOCKED_SHAREDCACHE…), as better-sqlite3 names them. */
const SQLITE_UNAVAILABLE = /^SQLITE_(BUSY|LOCKED)(_[A-Z]+)?$/;
/**
 * What pg and pg-pool say, without a code, when a connection drops ("Connection terminated
 * unexpectedly"), cannot be had in time (every connection in use: "timeout exceeded when trying
 * to connect"), is used again after it dropped ("Client has encountered a connection error and is
 * not queryable", as a transaction's rollback after its connection died); and what pg-pool and
 * Kysely say once the pool is closed (a call still running during shutdown).
 */
const CONNECTION_MESSAGES =
  /^(Connection terminated|timeout exceeded when trying to connect|Client has encountered a connection error and is not queryable|Client was closed and is not queryable|Cannot use a pool after calling end on the pool|driver has already been destroyed)/;

export function isStorageUnavailable(error: unknown): boolean {
  if (!(error instanceof Error)) return false;
  const code = (error as { code?: unknown }).code;
  if (
    typeof code === "string" &&
    (NETWORK_ERROR_CODES.has(code) || POSTGRES_UNAVAILABLE.test(code) || SQLITE_UNAVAILABLE.test(code))
  )
    return true;
  return CONNECTION_MESSAGES.test(error.message);
}

function storageUnavailable(): BreakglassError {
  return new BreakglassError(
    "STORE_UNAVAILABLE",
    "storage unavailable: the database is busy or cannot be reached; nothing was changed or released",
  );
}
