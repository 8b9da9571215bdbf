import { QuantCoreError } from "./errors.js";

/**
 * Reads a group of env variables once, collecting every problem so a misconfigured
 * service reports all of them in one clear error instead of failing one at a time.
 */
export class EnvReader {
  private readonly problems: string[] = [];
  constructor(private readonly env: Record<string, string | undefined> = process.env) {}

  string(name: string, fallback?: string): string {
    const v = this.env[name];
    if (v !== undefined && v !== "") return v;
    if (fallback === undefined) {
      this.problems.push(`${name} is required`);
      return "";
    }
    return fallback;
  }

  int(name: string, fallback: number, range: { min?: number; max?: number } = {}): number {
    const raw = this.env[name];
    if (raw === undefined || raw === "") return fallback;
    const n = Number(raw);
    if (!Number.isInteger(n)) {
      this.problems.push(`${name} must be an integer, got ${JSON.stringify(raw)}`);
      return fallback;
    }
    if ((range.min !== undefined && n < range.min) || (range.max !== undefined && n > range.max)) {
      this.problems.push(`${name} must be in [${range.min ?? "-inf"}, ${range.max ?? "inf"}], got ${n}`);
      return fallback;
    }
    return n;
  }

  list(name: string, fallback: string[]): string[] {
    const raw = this.env[name];
    if (raw === undefined || raw.trim() === "") return fallback;
    return raw
      .split(",")
      .map((s) => s.trim())
      .filter((s) => s.length > 0);
  }

  oneOf<T extends string>(name: string, allowed: readonly T[], fallback: T): T {
    const raw = this.env[name];
    if (raw === undefined || raw === "") return fallback;
    if ((allowed as readonly string[]).includes(raw)) return raw as T;
    this.problems.push(`${name} must be one of ${allowed.join("|")}, got ${JSON.stringify(raw)}`);
    return fallback;
  }

  /** Throws one error listing every problem found so far. */
  done(): void {
    if (this.problems.length > 0) {
      throw new QuantCoreError("invalid_argument", `invalid configuration:\n  - ${this.problems.join("\n  - ")}`, {
        retriable: false,
      });
    }
  }
}
