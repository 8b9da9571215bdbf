// Binance market-data frames as typed values: what the parser (parse.ts) produces, and why it refuses.

export type Level = [price: number, quantity: number];

export interface DepthDiff {
  kind: "depthUpdate";
  stream: string;
  symbol: string;
  eventTimeMs: number;
  transactionTimeMs?: number;
  firstUpdateId: number;
  finalUpdateId: number;
  /** USD-M futures `pu`: the previous event's `u`. */
  prevFinalUpdateId?: number;
  bids: Level[];
  asks: Level[];
}

export interface PartialDepth {
  kind: "partialDepth";
  stream: string;
  /** From the stream name: spot partial depth carries no symbol. */
  symbol: string;
  lastUpdateId: number;
  bids: Level[];
  asks: Level[];
}

export interface BookTicker {
  kind: "bookTicker";
  stream: string;
  symbol: string;
  updateId: number;
  bidPrice: number;
  bidQty: number;
  askPrice: number;
  askQty: number;
}

export interface Trade {
  kind: "trade";
  stream: string;
  symbol: string;
  tradeId: number;
  price: number;
  qty: number;
  tradeTimeMs: number;
  buyerIsMaker: boolean;
}

export interface ServerShutdown {
  kind: "serverShutdown";
  eventTimeMs: number;
}

export interface ControlReply {
  kind: "controlReply";
  id: number | string | null;
  result?: unknown;
  error?: { code: number; msg: string };
}

export type StreamFrame =
  DepthDiff | PartialDepth | BookTicker | Trade | ServerShutdown | ControlReply | { kind: "ignored"; stream: string };

export type RejectReason =
  | "malformed_json"
  | "oversize"
  | "empty"
  | "unknown_shape"
  | "bad_number"
  | "negative"
  | "non_finite"
  | "id_out_of_range"
  | "first_after_final"
  | "bad_level"
  | "crossed";

export type ParseResult<T> = { ok: true; value: T } | { ok: false; reason: RejectReason; detail: string };

export interface ParseOptions {
  /** Frames above this size are rejected before JSON.parse touches them. */
  maxFrameBytes: number;
}

export const DEFAULT_PARSE_OPTIONS: Readonly<ParseOptions> = Object.freeze({ maxFrameBytes: 1 << 20 });

export interface DepthSnapshot {
  lastUpdateId: number;
  bids: Level[];
  asks: Level[];
  eventTimeMs?: number;
  transactionTimeMs?: number;
}
