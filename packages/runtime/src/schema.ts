import { QuantCoreError } from "./errors.js";

/**
 * A small schema validator, the one mechanism every JSON contract is parsed with (tokens file,
 * shard and compute heartbeats, control commands). A failure names the field:
 * `operators: expected an array, got string`.
 */
export interface Schema<T> {
  /** Returns the checked value, or throws a SchemaError naming the path of the first bad field. */
  check(value: unknown, path: string): T;
}

export type Infer<S> = S extends Schema<infer T> ? T : never;

type Optional = { optional: true };
type OptionalKeys<F> = { [K in keyof F]: F[K] extends Optional ? K : never }[keyof F];
/** The checked shape of an object schema's fields: optional schemas make optional keys. */
export type ObjectOf<F> = {
  [K in Exclude<keyof F, OptionalKeys<F>>]: Infer<F[K]>;
} & { [K in OptionalKeys<F>]?: Exclude<Infer<F[K]>, undefined> };

export class SchemaError extends Error {
  override readonly name = "SchemaError";
  constructor(
    readonly path: string,
    readonly problem: string,
  ) {
    super(path ? `${path}: ${problem}` : problem);
  }
}

const describe = (v: unknown): string => {
  if (v === null) return "null";
  if (Array.isArray(v)) return "array";
  // Never the text itself: the value may be a secret (a token).
  if (typeof v === "string") return `a string of ${v.length} characters`;
  if (typeof v === "number") return `number ${v}`;
  return typeof v;
};
const fail = (path: string, expected: string, got: unknown): never => {
  throw new SchemaError(path, `expected ${expected}, got ${describe(got)}`);
};
const join = (path: string, key: string | number) =>
  typeof key === "number" ? `${path}[${key}]` : path ? `${path}.${key}` : key;

export const s = {
  string(opts: { minLength?: number; pattern?: RegExp } = {}): Schema<string> {
    return {
      check(v, path) {
        if (typeof v !== "string") return fail(path, "a string", v);
        if (opts.minLength !== undefined && v.length < opts.minLength)
          return fail(path, `a string of at least ${opts.minLength} characters`, v);
        if (opts.pattern && !opts.pattern.test(v)) return fail(path, `a string matching ${opts.pattern}`, v);
        return v;
      },
    };
  },
  number(opts: { int?: boolean; min?: number; max?: number } = {}): Schema<number> {
    return {
      check(v, path) {
        if (typeof v !== "number" || !Number.isFinite(v)) return fail(path, "a finite number", v);
        if (opts.int && !Number.isInteger(v)) return fail(path, "an integer", v);
        if (opts.min !== undefined && v < opts.min) return fail(path, `a number >= ${opts.min}`, v);
        if (opts.max !== undefined && v > opts.max) return fail(path, `a number <= ${opts.max}`, v);
        return v;
      },
    };
  },
  boolean(): Schema<boolean> {
    return { check: (v, path) => (typeof v === "boolean" ? v : fail(path, "a boolean", v)) };
  },
  literal<T extends string | number | boolean>(value: T): Schema<T> {
    return { check: (v, path) => (v === value ? (v as T) : fail(path, JSON.stringify(value), v)) };
  },
  array<T>(item: Schema<T>): Schema<T[]> {
    return {
      check(v, path) {
        if (!Array.isArray(v)) return fail(path, "an array", v);
        return v.map((x, i) => item.check(x, join(path, i)));
      },
    };
  },
  optional<T>(inner: Schema<T>): Schema<T | undefined> & Optional {
    return { optional: true, check: (v, path) => (v === undefined ? undefined : inner.check(v, path)) };
  },
  /**
   * An object with these fields. `strict` refuses unknown keys (a typo in a hand-written file
   * must not pass silently); the default ignores them (a newer writer may add fields).
   */
  object<F extends Record<string, Schema<unknown>>>(fields: F, opts: { strict?: boolean } = {}): Schema<ObjectOf<F>> {
    return {
      check(v, path) {
        if (typeof v !== "object" || v === null || Array.isArray(v)) return fail(path, "an object", v);
        const rec = v as Record<string, unknown>;
        if (opts.strict) {
          for (const k of Object.keys(rec))
            if (!(k in fields))
              throw new SchemaError(join(path, k), `unknown field (expected one of ${Object.keys(fields).join(", ")})`);
        }
        const out: Record<string, unknown> = {};
        for (const [k, schema] of Object.entries(fields)) {
          if (!(k in rec) && !("optional" in schema)) throw new SchemaError(join(path, k), "required field missing");
          const checked = schema.check(rec[k], join(path, k));
          if (checked !== undefined) out[k] = checked;
        }
        return out as ObjectOf<F>;
      },
    };
  },
  /** A further rule over an already checked value; `rule` returns a problem or undefined. */
  refine<T>(inner: Schema<T>, rule: (v: T) => string | undefined): Schema<T> {
    return {
      check(v, path) {
        const out = inner.check(v, path);
        const problem = rule(out);
        if (problem) throw new SchemaError(path, problem);
        return out;
      },
    };
  },
};

/**
 * Parses JSON text against a schema. Fails with a non-retriable invalid_argument QuantCoreError
 * whose message starts with `source` and names the field.
 */
export function parseJson<T>(schema: Schema<T>, text: string, source: string): T {
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (err) {
    throw new QuantCoreError(
      "invalid_argument",
      `${source}: not JSON (${err instanceof Error ? err.message : String(err)})`,
      {
        retriable: false,
        cause: err,
      },
    );
  }
  return checkValue(schema, value, source);
}

/** Checks an already parsed value; errors as in parseJson. */
export function checkValue<T>(schema: Schema<T>, value: unknown, source: string): T {
  try {
    return schema.check(value, "");
  } catch (err) {
    if (!(err instanceof SchemaError)) throw err;
    throw new QuantCoreError("invalid_argument", `${source}: ${err.message}`, { retriable: false, cause: err });
  }
}
