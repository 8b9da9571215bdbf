export { startBinanceSim, type BinanceSim, type FaultController, type ReplayError, type SimStats } from "./server.js";
export { PongTracker, handleControl } from "./protocol.js";
export { DEFAULT_SIM_OPTIONS, depthWeight, type BinanceSimOptions } from "./options.js";
export { TOP30_USDT, SYMBOL_SPECS } from "./universe.js";
export { defaultReplayFiles, sharedDir } from "./shared-dir.js";
export { referenceObi, referenceTop, replayReference, spotReplayFile, type RefBook } from "./reference-book.js";
