// Child-process helpers for the plain-Node entry scripts (they run before node_modules exists).
import { spawn } from "node:child_process";

/**
 * Hands SIGINT and SIGTERM received by this process to `child` (the same signal), so stopping the
 * top process stops what it started even when the signal was sent to it alone, not to its whole
 * process group (where the child would have had it too: the child must treat a repeat as one).
 * This process exits with the child's code once the child has exited. Returns a function that
 * removes the handlers.
 */
export function forwardSignals(child, { signals = ["SIGINT", "SIGTERM"], exit = (code) => process.exit(code) } = {}) {
  const handlers = signals.map((sig) => {
    const h = () => {
      if (child.exitCode === null && child.signalCode === null) child.kill(sig);
    };
    process.on(sig, h);
    return [sig, h];
  });
  child.on("close", (code, signal) => exit(code ?? (signal ? 128 + (signalNumbers[signal] ?? 1) : 1)));
  return () => {
    for (const [sig, h] of handlers) process.off(sig, h);
  };
}

const signalNumbers = { SIGHUP: 1, SIGINT: 2, SIGKILL: 9, SIGTERM: 15 };

/**
 * Runs a command to completion without blocking the event loop, showing its output line by line
 * with `prefix` (progress of a long build stays visible). Resolves with the exit code (130 when
 * `signal` stopped it).
 */
export function runPrefixed(
  cmd,
  args,
  { cwd, env = process.env, prefix, signal, write = (s) => process.stdout.write(s) },
) {
  return new Promise((resolve, reject) => {
    // `signal` aborted: the command gets SIGTERM and the promise resolves with 130.
    const child = spawn(cmd, args, { cwd, env, signal, stdio: ["ignore", "pipe", "pipe"] });
    const pipe = (stream) => {
      let tail = "";
      stream.on("data", (chunk) => {
        const lines = (tail + chunk.toString()).split("\n");
        tail = lines.pop() ?? "";
        for (const line of lines) if (line.trim()) write(`${prefix}${line}\n`);
      });
      stream.on("end", () => tail.trim() && write(`${prefix}${tail}\n`));
    };
    pipe(child.stdout);
    pipe(child.stderr);
    child.on("error", (err) => (err.name === "AbortError" ? resolve(130) : reject(err)));
    child.on("close", (code, sig) => resolve(signal?.aborted ? 130 : (code ?? (sig ? 1 : 0))));
  });
}
