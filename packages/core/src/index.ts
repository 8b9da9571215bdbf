export {
  DEFAULT_PARSE_OPTIONS,
  parseDecimal,
  parseDepthSnapshot,
  parseStreamFrame,
  type BookTicker,
  type ControlReply,
  type DepthDiff,
  type DepthSnapshot,
  type Level,
  type ParseOptions,
  type ParseResult,
  type PartialDepth,
  type RejectReason,
  type ServerShutdown,
  type StreamFrame,
  type Trade,
} from "./parse.js";
export { OrderBook } from "./book.js";
export {
  BookSync,
  DEFAULT_BOOK_SYNC_OPTIONS,
  type BookSyncOptions,
  type SnapshotResult,
  type SyncMode,
  type SyncResult,
  type SyncState,
} from "./sync.js";
export {
  DEFAULT_OFI_OPTIONS,
  DEFAULT_SIGNAL_OPTIONS,
  OfiTracker,
  computeSignals,
  obi,
  weightedObi,
  type BookSignals,
  type OfiOptions,
  type SignalOptions,
} from "./signals.js";
