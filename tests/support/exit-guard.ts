/**
 * Call last in a file's `after` hook. Every service has been stopped by then; if a client
 * library still holds a socket or timer, the file's process would never exit and the whole
 * test run would hang. Report what is left (so it can be fixed) and exit instead.
 */
export function exitWhenDone(graceMs = 10_000): void {
  setTimeout(() => {
    console.error(
      `[exit-guard] still alive ${graceMs} ms after cleanup; open resources: ${JSON.stringify(process.getActiveResourcesInfo())}`,
    );
    process.exit(process.exitCode ?? 0);
  }, graceMs).unref();
}
