/**
 * What a failed Kafka produce means for the records it carried. kafkajs has already retried
 * what it considers retriable (connection loss, leader moves, timeouts) before the error
 * reaches us; this decides whether trying again could ever succeed.
 */
export type ProduceVerdict =
  /** The broker or the network: keep the records and send them again later. */
  | { retriable: true }
  /**
   * Kafka refused the records themselves (too large, malformed): sending them again fails the
   * same way. `scope = "record"`: some record(s) of the batch are at fault (isolate and drop
   * them); `scope = "batch"`: the request itself can never succeed (authorization, acks).
   */
  | { retriable: false; scope: "record" | "batch"; reason: string };

/**
 * Error types that condemn a record (or the per-partition record batch it was in), whatever
 * kafkajs's `retriable` says: CORRUPT_MESSAGE is marked retriable by kafkajs (a bit flip on the
 * wire), but a record we encoded badly is refused every time, and kafkajs has already retried it.
 */
const RECORD_ERRORS = new Set(["MESSAGE_TOO_LARGE", "RECORD_LIST_TOO_LARGE", "INVALID_RECORD", "CORRUPT_MESSAGE"]);

/** JavaScript errors kafkajs raises while encoding a record it was given (bad key/value/header type). */
const ENCODING_ERRORS = new Set(["TypeError", "RangeError"]);

interface ErrorLike {
  name?: unknown;
  type?: unknown;
  retriable?: unknown;
  cause?: unknown;
}

/** The chain of an error and its causes (kafkajs wraps: NonRetriable / NumberOfRetriesExceeded -> protocol error). */
function* chain(err: unknown): Generator<ErrorLike> {
  const seen = new Set<unknown>();
  let e = err;
  while (e !== null && typeof e === "object" && !seen.has(e)) {
    seen.add(e);
    yield e as ErrorLike;
    e = (e as ErrorLike).cause;
  }
}

export function classifyProduceError(err: unknown): ProduceVerdict {
  for (const e of chain(err)) {
    if (typeof e.type === "string" && e.type !== "UNKNOWN") {
      if (RECORD_ERRORS.has(e.type)) return { retriable: false, scope: "record", reason: e.type };
      if (e.retriable === false) return { retriable: false, scope: "batch", reason: e.type };
      return { retriable: true };
    }
    if (typeof e.name === "string" && ENCODING_ERRORS.has(e.name))
      return { retriable: false, scope: "record", reason: "ENCODING" };
  }
  return { retriable: true };
}
