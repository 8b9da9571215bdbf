"use client";
// The dashboard's layout: one store and one transport per gateway, the feed started once, and
// the panels (each in its own file) reading the store on their own budgets.
import { useEffect, useMemo, useRef, useState } from "react";
import { createGrpcWebTransport } from "@connectrpc/connect-web";
import { startFeed, type Feed } from "./store/feed";
import { PipelineStore } from "./store/pipelineStore";
import { saveToken, takeTokenFromUrl } from "./store/token";
import { Actions } from "./panels/Actions";
import { FeedBanner, Header } from "./panels/Header";
import { Heatmap, type Depth } from "./panels/Heatmap";
import { LatencyPanel } from "./panels/LatencyPanel";
import { ScrubPanel } from "./panels/ScrubPanel";
import { ShardsPanel } from "./panels/ShardsPanel";
import { SymbolDetail } from "./panels/SymbolDetail";
import { SymbolTable } from "./panels/SymbolTable";

export default function Dashboard({ gatewayUrl }: { gatewayUrl: string }) {
  const transport = useMemo(() => createGrpcWebTransport({ baseUrl: gatewayUrl }), [gatewayUrl]);
  // One store per mount; ClientDashboard remounts this component for another gateway.
  const [store] = useState(() => new PipelineStore());
  const [token, setToken] = useState(takeTokenFromUrl);
  const [depth, setDepth] = useState<Depth>("obi20");
  const [selected, setSelected] = useState<string | undefined>();
  const feed = useRef<Feed | undefined>(undefined);
  const tokenRef = useRef(token);

  useEffect(() => {
    const f = startFeed(store, transport, tokenRef.current);
    feed.current = f;
    return () => {
      f.stop();
      store.close();
    };
  }, [store, transport]);

  useEffect(() => {
    tokenRef.current = token;
    saveToken(token);
    feed.current?.setToken(token);
  }, [token]);

  return (
    <main className="dash">
      <FeedBanner store={store} gatewayUrl={gatewayUrl} />
      <Header store={store} depth={depth} onDepth={setDepth} token={token} onToken={setToken} />
      <Actions store={store} transport={transport} token={token} selected={selected} />
      <div className="grid">
        <div className="wide">
          <Heatmap store={store} depth={depth} selected={selected} onSelect={setSelected} />
        </div>
        <SymbolDetail store={store} symbol={selected} />
        <LatencyPanel store={store} />
        <div className="wide">
          <SymbolTable store={store} depth={depth} />
        </div>
        <div className="wide">
          <ScrubPanel store={store} transport={transport} selected={selected} />
        </div>
        <div className="wide">
          <ShardsPanel store={store} />
        </div>
      </div>
    </main>
  );
}
