// The WebSocket side of Binance's market-stream protocol as pure functions: stream names, the
// JSON control messages (binance-protocol.md §3) and the keep-alive bookkeeping (§2).

export const STREAM_RE = /^([a-z0-9]+)@(depth(?:5|10|20)?(?:@100ms|@1000ms)?|bookTicker|trade|aggTrade)$/;

/** What a control message may read and change on its connection. */
export interface ControlState {
  streams: Set<string>;
  combined: boolean;
}

const validId = (id: unknown) =>
  id === null ||
  (typeof id === "number" && Number.isInteger(id)) ||
  (typeof id === "string" && /^[A-Za-z0-9]{1,36}$/.test(id));

/**
 * Applies one text frame from a client to its connection state and returns the reply to send
 * (exactly Binance's documented responses; `subscribed` lists the streams it added).
 */
export function handleControl(
  c: ControlState,
  text: string,
  maxStreamsPerConnection: number,
): { reply: unknown; subscribed: string[] } {
  const out = (reply: unknown, subscribed: string[] = []) => ({ reply, subscribed });
  let msg: unknown;
  try {
    msg = JSON.parse(text);
  } catch {
    return out({ code: 3, msg: "Invalid JSON: expected value at line 1 column 1" });
  }
  if (typeof msg !== "object" || msg === null || Array.isArray(msg)) return out({ code: 3, msg: "Invalid JSON" });
  const m = msg as { method?: unknown; params?: unknown; id?: unknown };
  if (!("id" in m) || !validId(m.id)) {
    return out({ code: 2, msg: "Invalid request: request ID must be an unsigned integer" });
  }
  const id = m.id;
  const params = Array.isArray(m.params) ? m.params : [];
  switch (m.method) {
    case "SUBSCRIBE": {
      if (!params.every((p) => typeof p === "string" && STREAM_RE.test(p))) {
        return out({ code: 2, msg: "Invalid request: invalid stream", id });
      }
      if (c.streams.size + params.length > maxStreamsPerConnection) {
        return out({ code: 2, msg: `Invalid request: too many streams (max ${maxStreamsPerConnection})`, id });
      }
      for (const p of params as string[]) c.streams.add(p);
      return out({ result: null, id }, params as string[]);
    }
    case "UNSUBSCRIBE":
      for (const p of params) if (typeof p === "string") c.streams.delete(p);
      return out({ result: null, id });
    case "LIST_SUBSCRIPTIONS":
      return out({ result: [...c.streams], id });
    case "SET_PROPERTY":
      if (typeof params[0] !== "string")
        return out({ code: 2, msg: "Invalid request: property name must be a string" });
      if (params[0] !== "combined") return out({ code: 0, msg: "Unknown property", id });
      if (typeof params[1] !== "boolean") return out({ code: 1, msg: "Invalid value type: expected Boolean" });
      c.combined = params[1];
      return out({ result: null, id });
    case "GET_PROPERTY":
      if (typeof params[0] !== "string")
        return out({ code: 2, msg: "Invalid request: property name must be a string" });
      if (params[0] !== "combined") return out({ code: 0, msg: "Unknown property", id });
      return out({ result: c.combined, id });
    default:
      return out({
        code: 2,
        msg: `Invalid request: unknown variant \`${String(m.method)}\`, expected one of \`SUBSCRIBE\`, \`UNSUBSCRIBE\`, \`LIST_SUBSCRIPTIONS\`, \`SET_PROPERTY\`, \`GET_PROPERTY\` at line 1 column 28`,
      });
  }
}

/**
 * Every ping has its own deadline. Binance: "When you receive a ping, you must send a pong with a
 * copy of ping's payload"; "Unsolicited pong frames are allowed, but will not prevent
 * disconnection." So a pong answers the outstanding ping whose payload it carries, and every
 * older one still outstanding (RFC 6455 §5.5.3 lets a peer answer only the most recent ping);
 * a pong matching no outstanding ping (empty, early, or repeated) answers nothing.
 */
export class PongTracker {
  private readonly outstanding: { payload: string; deadline: number }[] = [];
  private seq = 0;

  constructor(private readonly pongTimeoutMs: number) {}

  /** Registers a ping sent now and returns its payload (unique on this connection). */
  ping(nowMs: number): Buffer {
    const payload = `${nowMs}-${++this.seq}`;
    this.outstanding.push({ payload, deadline: nowMs + this.pongTimeoutMs });
    return Buffer.from(payload);
  }

  /** A pong arrived: how many outstanding pings it answered (0 = unsolicited). */
  pong(payload: Buffer): number {
    const text = payload.toString();
    const i = this.outstanding.findIndex((p) => p.payload === text);
    if (i < 0) return 0;
    this.outstanding.splice(0, i + 1);
    return i + 1;
  }

  /** True while the ping that carried `payload` has not been answered. */
  isPending(payload: Buffer): boolean {
    const text = payload.toString();
    return this.outstanding.some((p) => p.payload === text);
  }

  /** True when some ping went unanswered past its own deadline. */
  overdue(nowMs: number): boolean {
    return this.outstanding.length > 0 && this.outstanding[0]!.deadline <= nowMs;
  }

  /** The earliest deadline still pending (undefined = none). */
  nextDeadline(): number | undefined {
    return this.outstanding[0]?.deadline;
  }

  get pending(): number {
    return this.outstanding.length;
  }
}
