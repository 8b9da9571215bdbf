// The bot's command line: --from <ISO time | -1h | -15m | -30s | -2d> and --speed <N>.
import { QuantCoreError } from "@quantcore/runtime";

export interface BotArgs {
  /** Start of the replay, microseconds since the Unix epoch (0 = live). */
  startTimeUs: number;
  /** 0 = as fast as the bot reads, 1 = as recorded, N = N times. */
  replaySpeed: number;
}

const UNIT_MS: Record<string, number> = { s: 1_000, m: 60_000, h: 3_600_000, d: 86_400_000 };

const bad = (message: string) => new QuantCoreError("invalid_argument", message, { retriable: false });

/** A start time: an ISO 8601 time, or a duration back from `nowMs` (`-1h`, `-15m`, `-90s`, `-2d`). */
export function parseFrom(text: string, nowMs: number): number {
  const rel = /^-(\d+(?:\.\d+)?)([smhd])$/.exec(text.trim());
  if (rel) return nowMs - Number(rel[1]) * UNIT_MS[rel[2]!]!;
  // Only full ISO times (a date and a time): Date.parse accepts looser text we do not want.
  if (!/^\d{4}-\d\d-\d\dT\d\d:\d\d/.test(text.trim()))
    throw bad(
      `--from: expected an ISO time (2026-11-30T14:00:00Z) or -1h / -15m / -30s / -2d, got ${JSON.stringify(text)}`,
    );
  const ms = Date.parse(text);
  if (!Number.isFinite(ms)) throw bad(`--from: not a valid time: ${JSON.stringify(text)}`);
  return ms;
}

/** Parses the bot's arguments; unknown ones are errors naming them. */
export function parseBotArgs(argv: string[], nowMs: number): BotArgs {
  const out: BotArgs = { startTimeUs: 0, replaySpeed: 0 };
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i]!;
    const [name, inline] = arg.includes("=")
      ? [arg.slice(0, arg.indexOf("=")), arg.slice(arg.indexOf("=") + 1)]
      : [arg];
    const value = () => {
      const v = inline ?? argv[++i];
      if (v === undefined) throw bad(`${name}: missing value`);
      return v;
    };
    if (name === "--from") out.startTimeUs = parseFrom(value(), nowMs) * 1000;
    else if (name === "--speed") {
      const v = value();
      const n = Number(v);
      if (v.trim() === "" || !Number.isFinite(n) || n < 0)
        throw bad(`--speed: expected 0 (as fast as possible) or a positive factor, got ${JSON.stringify(v)}`);
      out.replaySpeed = n;
    } else throw bad(`unknown argument ${JSON.stringify(arg)} (expected --from <time> [--speed N])`);
  }
  if (out.replaySpeed > 0 && out.startTimeUs === 0) throw bad("--speed needs --from (it paces a replay)");
  return out;
}
