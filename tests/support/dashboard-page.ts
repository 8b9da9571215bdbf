/// <reference lib="dom" />
/// <reference lib="dom.iterable" />
// Reading the dashboard page in the browser test: DOM size, the heatmap canvas, the table view.
import type { Page } from "playwright-core";

export const domElements = (page: Page) => page.evaluate(() => document.getElementsByTagName("*").length);

/**
 * Classifies the centre pixel of every heatmap cell: "no data" hatch (page grey) or coloured
 * (a value, possibly under the stale hatch). Row height and cell width come from the canvas.
 */
export function canvasCells(page: Page): Promise<{ coloured: number; empty: number }> {
  return page.evaluate(() => {
    const canvas = document.querySelector<HTMLCanvasElement>('[data-testid="heatmap"] canvas');
    const rows = document.querySelectorAll('[data-testid="heatmap-row"]').length;
    if (!canvas || rows === 0) return { coloured: 0, empty: 0 };
    const ctx = canvas.getContext("2d")!;
    const scale = canvas.width / canvas.clientWidth;
    const cellPx = canvas.clientWidth / 60;
    const rowPx = 22;
    const greys = [
      [22, 27, 34],
      [72, 79, 88],
    ];
    let coloured = 0;
    let empty = 0;
    for (let r = 0; r < rows; r++)
      for (let c = 0; c < 60; c++) {
        const px = ctx.getImageData(
          Math.floor((c + 0.3) * cellPx * scale),
          Math.floor((r + 0.3) * rowPx * scale),
          1,
          1,
        ).data;
        const grey = greys.some(
          (g) => Math.abs(g[0]! - px[0]!) + Math.abs(g[1]! - px[1]!) + Math.abs(g[2]! - px[2]!) < 12,
        );
        if (grey) empty++;
        else coloured++;
      }
    return { coloured, empty };
  });
}

/** The table view's text per symbol (obi, bid, ask columns). */
export function tableValues(page: Page): Promise<Map<string, { obi: string; bid: string; ask: string }>> {
  return page
    .evaluate(() =>
      [...document.querySelectorAll('[data-testid="table-row"]')].map((tr) => ({
        symbol: tr.getAttribute("data-symbol") ?? "",
        obi: tr.querySelector('[data-col="obi"]')?.textContent ?? "",
        bid: tr.querySelector('[data-col="bid"]')?.textContent ?? "",
        ask: tr.querySelector('[data-col="ask"]')?.textContent ?? "",
      })),
    )
    .then((rows) => new Map(rows.map((r) => [r.symbol, r])));
}
