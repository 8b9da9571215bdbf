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

/**
 * JavaScript errors kafkajs raises while encoding a record it was given (bad key/value/header type);
 * @platformatic/kafka raises a UserError (code PLT_KFK_USER) for a record it cannot take.
 */
const ENCODING_ERRORS = new Set(["TypeError", "RangeError"]);

interface ErrorLike {
  name?: unknown;
  /** kafkajs: the Kafka error code's name ("MESSAGE_TOO_LARGE"); @platformatic/kafka: `apiId`. */
  type?: unknown;
  apiId?: unknown;
  retriable?: unknown;
  /** @platformatic/kafka's `retriable` of a protocol error. */
  canRetry?: unknown;
  /** @platformatic/kafka's error class code ("PLT_KFK_USER": what it was given is wrong). */
  code?: unknown;
  cause?: unknown;
  /** @platformatic/kafka's MultipleErrors (an AggregateError): one per failed partition or attempt. */
  errors?: unknown;
}

/**
 * The errors an error stands for, depth first: kafkajs wraps (NonRetriable / NumberOfRetriesExceeded
 * -> protocol error); @platformatic/kafka aggregates (MultipleErrors -> a ProtocolError per
 * partition, or an error per attempt) and wraps (UserError -> the serializer's TypeError).
 */
function* chain(err: unknown, seen = new Set<unknown>()): Generator<ErrorLike> {
  if (err === null || typeof err !== "object" || seen.has(err)) return;
  seen.add(err);
  const e = err as ErrorLike;
  yield e;
  if (Array.isArray(e.errors)) for (const inner of e.errors) yield* chain(inner, seen);
  yield* chain(e.cause, seen);
}

/** Whether a broker answered the request (with an error code) rather than the network or a timeout failing it. */
export function brokerAnswered(err: unknown): boolean {
  for (const e of chain(err)) if (typeof e.apiId === "string" || typeof e.type === "string") return true;
  return false;
}

export function classifyProduceError(err: unknown): ProduceVerdict {
  for (const e of chain(err)) {
    const type = typeof e.type === "string" ? e.type : typeof e.apiId === "string" ? e.apiId : undefined;
    if (type !== undefined && type !== "UNKNOWN") {
      if (RECORD_ERRORS.has(type)) return { retriable: false, scope: "record", reason: type };
      if (e.retriable === false || (e.type === undefined && e.canRetry === false))
        return { retriable: false, scope: "batch", reason: type };
      return { retriable: true };
    }
    if ((typeof e.name === "string" && ENCODING_ERRORS.has(e.name)) || e.code === "PLT_KFK_USER")
      return { retriable: false, scope: "record", reason: "ENCODING" };
  }
  return { retriable: true };
}
