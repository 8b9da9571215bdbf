/**
 * Approximate prices and tick/lot decimals for synthetic books of known symbols (any other symbol
 * gets a generic spec). Which symbols exist is the universe (TOP30_USDT, one list in @quantcore/runtime).
 */
export const SYMBOL_SPECS: Readonly<Record<string, { price: number; priceDecimals: number; qtyDecimals: number }>> = {
  BTCUSDT: { price: 61_000, priceDecimals: 2, qtyDecimals: 5 },
  ETHUSDT: { price: 2_600, priceDecimals: 2, qtyDecimals: 4 },
  BNBUSDT: { price: 520, priceDecimals: 2, qtyDecimals: 3 },
  SOLUSDT: { price: 150, priceDecimals: 2, qtyDecimals: 3 },
  XRPUSDT: { price: 0.55, priceDecimals: 4, qtyDecimals: 0 },
  DOGEUSDT: { price: 0.11, priceDecimals: 5, qtyDecimals: 0 },
  ADAUSDT: { price: 0.35, priceDecimals: 4, qtyDecimals: 1 },
  TRXUSDT: { price: 0.13, priceDecimals: 4, qtyDecimals: 1 },
  AVAXUSDT: { price: 25, priceDecimals: 2, qtyDecimals: 2 },
  LINKUSDT: { price: 11, priceDecimals: 2, qtyDecimals: 2 },
  DOTUSDT: { price: 4.5, priceDecimals: 3, qtyDecimals: 2 },
  TONUSDT: { price: 6.5, priceDecimals: 3, qtyDecimals: 2 },
  SHIBUSDT: { price: 0.000014, priceDecimals: 8, qtyDecimals: 0 },
  LTCUSDT: { price: 60, priceDecimals: 2, qtyDecimals: 3 },
  BCHUSDT: { price: 330, priceDecimals: 1, qtyDecimals: 3 },
  NEARUSDT: { price: 4.2, priceDecimals: 3, qtyDecimals: 1 },
  UNIUSDT: { price: 7, priceDecimals: 3, qtyDecimals: 2 },
  APTUSDT: { price: 6.5, priceDecimals: 3, qtyDecimals: 2 },
  ICPUSDT: { price: 8, priceDecimals: 3, qtyDecimals: 2 },
  ETCUSDT: { price: 19, priceDecimals: 2, qtyDecimals: 2 },
  FILUSDT: { price: 3.6, priceDecimals: 3, qtyDecimals: 2 },
  ATOMUSDT: { price: 5.5, priceDecimals: 3, qtyDecimals: 2 },
  ARBUSDT: { price: 0.55, priceDecimals: 4, qtyDecimals: 1 },
  OPUSDT: { price: 1.4, priceDecimals: 4, qtyDecimals: 2 },
  SUIUSDT: { price: 0.9, priceDecimals: 4, qtyDecimals: 1 },
  XLMUSDT: { price: 0.09, priceDecimals: 5, qtyDecimals: 0 },
  HBARUSDT: { price: 0.06, priceDecimals: 5, qtyDecimals: 0 },
  INJUSDT: { price: 19, priceDecimals: 3, qtyDecimals: 2 },
  PEPEUSDT: { price: 0.0000085, priceDecimals: 8, qtyDecimals: 0 },
  AAVEUSDT: { price: 120, priceDecimals: 2, qtyDecimals: 3 },
};

export { TOP30_USDT } from "@quantcore/runtime";
