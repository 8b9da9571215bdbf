import { QuantCoreError, isRetriable } from "./errors.js";

export interface BackoffOptions {
  initialDelayMs: number;
  maxDelayMs: number;
  multiplier: number;
  /** 0 = stop after the first failure; Infinity = keep trying until aborted. */
  maxAttempts: number;
}

export const DEFAULT_BACKOFF: Readonly<BackoffOptions> = Object.freeze({
  initialDelayMs: 100,
  maxDelayMs: 10_000,
  multiplier: 2,
  maxAttempts: Infinity,
});

/**
 * "Full jitter" (AWS architecture blog): uniform in [0, min(cap, base * mult^attempt)].
 * Spreads reconnect storms instead of synchronising them.
 */
export function backoffDelayMs(
  attempt: number,
  opts: Pick<BackoffOptions, "initialDelayMs" | "maxDelayMs" | "multiplier"> = DEFAULT_BACKOFF,
  random: () => number = Math.random,
): number {
  const ceiling = Math.min(opts.maxDelayMs, opts.initialDelayMs * opts.multiplier ** attempt);
  return Math.floor(random() * ceiling);
}

export function sleep(ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve, reject) => {
    if (signal?.aborted) return reject(signal.reason);
    const onAbort = () => {
      clearTimeout(timer);
      reject(signal?.reason);
    };
    const timer = setTimeout(() => {
      signal?.removeEventListener("abort", onAbort);
      resolve();
    }, ms);
    signal?.addEventListener("abort", onAbort, { once: true });
  });
}

/** Retries `fn` while it throws a retriable error, backing off with jitter and a cap. */
export async function retry<T>(
  fn: (attempt: number) => Promise<T>,
  opts: Partial<BackoffOptions> & {
    signal?: AbortSignal;
    onRetry?: (err: unknown, attempt: number, delayMs: number) => void;
  } = {},
): Promise<T> {
  const o = { ...DEFAULT_BACKOFF, ...opts };
  for (let attempt = 0; ; attempt++) {
    try {
      return await fn(attempt);
    } catch (err) {
      if (!isRetriable(err) || attempt + 1 >= o.maxAttempts || opts.signal?.aborted) throw err;
      const delayMs = backoffDelayMs(attempt, o);
      opts.onRetry?.(err, attempt, delayMs);
      await sleep(delayMs, opts.signal);
    }
  }
}

export interface WaitForOptions {
  timeoutMs: number;
  intervalMs: number;
  signal?: AbortSignal;
}

export const DEFAULT_WAIT_FOR: Readonly<WaitForOptions> = Object.freeze({ timeoutMs: 30_000, intervalMs: 50 });

/** Polls until `check` returns a value other than undefined/false: waits on a condition, not a sleep. */
export async function waitFor<T>(
  check: () => T | undefined | false | Promise<T | undefined | false>,
  description: string,
  opts: Partial<WaitForOptions> = {},
): Promise<T> {
  const o = { ...DEFAULT_WAIT_FOR, ...opts };
  const deadline = Date.now() + o.timeoutMs;
  let lastError: unknown;
  for (;;) {
    try {
      const v = await check();
      if (v !== undefined && v !== false) return v;
    } catch (err) {
      lastError = err;
    }
    if (Date.now() > deadline) {
      throw new QuantCoreError("deadline_exceeded", `timed out after ${o.timeoutMs} ms waiting for ${description}`, {
        cause: lastError,
      });
    }
    await sleep(o.intervalMs, o.signal);
  }
}

/**
 * Waits for `p` at most `ms`; true if it settled in time. For shutdown steps: a client library
 * that never finishes disconnecting must not keep a process (or a test run) alive forever.
 */
export async function settlesWithin(p: Promise<unknown>, ms: number): Promise<boolean> {
  let timer: NodeJS.Timeout | undefined;
  const settled = await Promise.race([
    p.then(
      () => true,
      () => true,
    ),
    new Promise<boolean>((resolve) => (timer = setTimeout(() => resolve(false), ms))),
  ]);
  clearTimeout(timer);
  return settled;
}
