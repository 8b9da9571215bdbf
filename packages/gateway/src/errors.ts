import { Code, ConnectError } from "@connectrpc/connect";
import { QuantCoreError, type ErrorKind } from "@quantcore/runtime";

const CODES: Record<ErrorKind, Code> = {
  invalid_argument: Code.InvalidArgument,
  not_found: Code.NotFound,
  unavailable: Code.Unavailable,
  deadline_exceeded: Code.DeadlineExceeded,
  resource_exhausted: Code.ResourceExhausted,
  failed_precondition: Code.FailedPrecondition,
  unauthenticated: Code.Unauthenticated,
  permission_denied: Code.PermissionDenied,
  internal: Code.Internal,
};

/** The one place infrastructure errors become Connect codes. */
export function toConnectError(err: unknown): ConnectError {
  if (err instanceof ConnectError) return err;
  if (err instanceof QuantCoreError) return new ConnectError(err.message, CODES[err.kind], undefined, undefined, err);
  // ioredis and socket failures: the state store is unreachable, and a retry may succeed.
  return new ConnectError(
    `state store unavailable: ${err instanceof Error ? err.message : String(err)}`,
    Code.Unavailable,
    undefined,
    undefined,
    err,
  );
}
