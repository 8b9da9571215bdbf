import { createHook } from "node:async_hooks";

// Where each live timer and TCP socket was created, so a leaked one can be named (timers are
// not in process._getActiveHandles(), and a socket alone does not say whose it is).
Error.stackTraceLimit = 40;
const timers = new Map<number, { resource: { hasRef?: () => boolean }; stack: string }>();
createHook({
  init(asyncId, type, _trigger, resource) {
    if (type === "Timeout" || type === "TCPWRAP")
      timers.set(asyncId, { resource: resource as { hasRef?: () => boolean }, stack: new Error().stack ?? "" });
  },
  destroy(asyncId) {
    timers.delete(asyncId);
  },
}).enable();

/**
 * Call last in a file's `after` hook. Every service has been stopped by then; if a client
 * library still holds a socket or timer, the file's process would never exit and the whole
 * test run would hang. Report what is left (so it can be fixed) and exit instead.
 */
export function exitWhenDone(graceMs = 10_000): void {
  setTimeout(() => {
    const live = [...timers.values()]
      .filter((t) => t.resource.hasRef?.() !== false)
      .map((t) =>
        t.stack
          .split("\n")
          .slice(2)
          .filter((l) => !l.includes("node:internal"))
          .slice(0, 30)
          .join(" <- "),
      );
    console.error(
      `[exit-guard] still alive ${graceMs} ms after cleanup; open resources: ${JSON.stringify(process.getActiveResourcesInfo())}; referenced timers and sockets created at: ${JSON.stringify(live)}`,
    );
    process.exit(process.exitCode ?? 0);
  }, graceMs).unref();
}
