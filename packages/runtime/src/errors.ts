/**
 * The one error type shared by infrastructure code. The gateway maps `kind` to a
 * Connect code in exactly one place; retry loops read `retriable`.
 */
export type ErrorKind =
  | "invalid_argument"
  | "not_found"
  | "unavailable"
  | "deadline_exceeded"
  | "resource_exhausted"
  | "failed_precondition"
  | "unauthenticated"
  | "permission_denied"
  | "internal";

export class QuantCoreError extends Error {
  override readonly name = "QuantCoreError";
  readonly kind: ErrorKind;
  readonly retriable: boolean;

  constructor(kind: ErrorKind, message: string, opts: { retriable?: boolean; cause?: unknown } = {}) {
    super(message, opts.cause === undefined ? undefined : { cause: opts.cause });
    this.kind = kind;
    this.retriable = opts.retriable ?? (kind === "unavailable" || kind === "deadline_exceeded");
  }

  /** Wraps any thrown value from an infrastructure client (Kafka, Redis, HTTP). */
  static infra(component: string, cause: unknown, retriable = true): QuantCoreError {
    if (cause instanceof QuantCoreError) return cause;
    const detail = cause instanceof Error ? cause.message : String(cause);
    return new QuantCoreError("unavailable", `${component}: ${detail}`, { retriable, cause });
  }
}

export function isRetriable(err: unknown): boolean {
  return err instanceof QuantCoreError ? err.retriable : false;
}
