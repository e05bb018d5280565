import type { RunningServer } from "./start.js";

/** shutdown_timeout_seconds by default: enough for slow requests and the sinks' 2 s to drain. */
export const DEFAULT_SHUTDOWN_TIMEOUT_SECONDS = 10;

/**
 * SIGTERM or SIGINT: close gracefully — no new connections, the requests in flight answered (a
 * code read with its audit entry committed), sinks and notifications drained, keys wiped, the
 * store closed — then exit 0. A second signal, or a close still unfinished after `timeoutMs`,
 * wipes the keys and exits 1 at once: the store's transactions leave nothing half-written.
 */
export function stopOnSignals(running: RunningServer, timeoutMs: number): void {
  const log = running.app.log;
  const exitNow = (code: number) => {
    running.services.seal.wipe();
    process.exit(code);
  };
  let stopping = false;
  const stop = (signal: NodeJS.Signals) => {
    if (stopping) {
      log.error({ signal }, "second signal during shutdown: exiting at once, requests unfinished");
      exitNow(1);
    }
    stopping = true;
    log.info(
      { signal, timeout_seconds: timeoutMs / 1000 },
      "shutting down: no new connections; finishing the requests in flight",
    );
    setTimeout(() => {
      log.error(
        { timeout_seconds: timeoutMs / 1000 },
        "shutdown did not finish in time: exiting, requests unfinished",
      );
      exitNow(1);
    }, timeoutMs).unref();
    running.close().then(
      () => {
        log.info("shut down cleanly");
        process.exit(0);
      },
      (error: unknown) => {
        log.error({ problem: error instanceof Error ? error.message : String(error) }, "shutdown failed");
        exitNow(1);
      },
    );
  };
  process.on("SIGINT", stop);
  process.on("SIGTERM", stop);
}
