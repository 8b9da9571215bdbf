"use client";
// The accessible table view: every symbol's current values as text (1 Hz), collapsed by default.
import { useState } from "react";
import { fixed, age } from "../lib/format";
import type { PipelineStore } from "../store/pipelineStore";
import { useTopic } from "../store/useStore";
import { ScrollRegion } from "./ScrollRegion";
import { currentObi, type Depth } from "./Heatmap";

export function SymbolTable({ store, depth }: { store: PipelineStore; depth: Depth }) {
  const [open, setOpen] = useState(false);
  const { nowMs } = useTopic(store, "charts");
  return (
    <section className="panel" aria-labelledby="table-title">
      <div className="panel-head">
        <h2 id="table-title">Values as a table</h2>
        <button type="button" data-testid="table-toggle" aria-expanded={open} onClick={() => setOpen(!open)}>
          {open ? "Hide table" : "Show table"}
        </button>
      </div>
      {open && (
        <ScrollRegion label="Values per symbol">
          <table role="table" data-testid="symbol-table" className="numeric">
            <caption className="sr-only">
              Current values per symbol; OBI at depth {depth === "all" ? "mean of 1, 5, 10, 20" : depth.slice(3)}
            </caption>
            <thead>
              <tr>
                <th scope="col">symbol</th>
                <th scope="col">state</th>
                <th scope="col">OBI</th>
                <th scope="col">best bid</th>
                <th scope="col">best ask</th>
                <th scope="col">spread bps</th>
                <th scope="col">microprice</th>
                <th scope="col">OFI 1 s</th>
                <th scope="col">data age</th>
              </tr>
            </thead>
            <tbody>
              {store.names().map((name) => {
                const s = store.symbols.get(name)!;
                const sig = s.latest.signals;
                const reason = store.staleReason(s, nowMs);
                return (
                  <tr key={name} data-testid="table-row" data-symbol={name}>
                    <th scope="row">{name}</th>
                    <td className={reason ? "stale" : ""}>{reason ? `stale: ${reason}` : "live"}</td>
                    <td data-col="obi">{fixed(currentObi(s, depth), 3)}</td>
                    <td data-col="bid">{fixed(sig?.bestBidPrice, s.priceDecimals)}</td>
                    <td data-col="ask">{fixed(sig?.bestAskPrice, s.priceDecimals)}</td>
                    <td>{fixed(sig?.spreadBps, 3)}</td>
                    <td>{fixed(sig?.microprice, s.priceDecimals + 1)}</td>
                    <td>{fixed(sig?.ofi1s, 3)}</td>
                    <td>{age(nowMs, s.dataAtMs)}</td>
                  </tr>
                );
              })}
            </tbody>
          </table>
        </ScrollRegion>
      )}
    </section>
  );
}
