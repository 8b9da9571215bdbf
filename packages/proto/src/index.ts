// Public surface of the generated contracts. Regenerate with `npm run generate`.
export * from "./gen/quantcore/v1/book_pb.js";
export * from "./gen/quantcore/v1/market_data_pb.js";
export { decodeBookUpdate, encodeBookUpdate, type BookLevel, type BookUpdateFields } from "./book-codec.js";
export * from "./gen/quantcore/v1/control_pb.js";
export { SIGNAL_FIELDS, encodeMarketUpdate } from "./market-update-codec.js";
