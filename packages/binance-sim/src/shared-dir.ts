import path from "node:path";

/** The shared folder with the recorded data: QUANTCORE_SHARED_DIR, else ../shared beside the repo. */
export function sharedDir(): string {
  return process.env.QUANTCORE_SHARED_DIR ?? path.resolve(import.meta.dirname, "../../../../shared");
}

/** The recorded spot BTCUSDT + ETHUSDT files of 2024-08-08 (../shared/data beside the repo). */
export function defaultReplayFiles(dir = sharedDir()): string[] {
  return ["spot_btcusdt_20240808.gz", "spot_ethusdt_20240808.gz"].map((f) =>
    path.join(dir, "data/binance/hftbacktest", f),
  );
}
