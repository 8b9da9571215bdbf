import type { Logger } from "./log.js";

/** Runs `stop` once on SIGINT or SIGTERM, then exits: the shared tail of every app's main. */
export function stopOnSignals(stop: () => Promise<void>, log: Logger): void {
  let stopping = false;
  for (const sig of ["SIGINT", "SIGTERM"] as const) {
    process.on(sig, () => {
      if (stopping) return;
      stopping = true;
      log.info("stopping", { signal: sig });
      stop().then(
        () => process.exit(0),
        (err: unknown) => {
          log.error("stop failed", { err: err instanceof Error ? err.message : String(err) });
          process.exit(1);
        },
      );
    });
  }
}
