import type { ChildProcess } from "node:child_process";

export function forwardSignals(
  child: ChildProcess,
  opts?: { signals?: NodeJS.Signals[]; exit?: (code: number) => void },
): () => void;

export function runPrefixed(
  cmd: string,
  args: string[],
  opts: { cwd?: string; env?: NodeJS.ProcessEnv; prefix: string; signal?: AbortSignal; write?: (s: string) => void },
): Promise<number>;
