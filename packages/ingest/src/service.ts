import { Kafka, logLevel, type Producer } from "kafkajs";
import {
  BookSync,
  parseDepthSnapshot,
  parseStreamFrame,
  type DepthDiff,
  type OrderBook,
  type PartialDepth,
  type RejectReason,
} from "@quantcore/core";
import { QuantCoreError, createLogger, nowUs } from "@quantcore/runtime";
import { StreamConnection } from "./connection.js";
import { DEFAULT_INGEST_OPTIONS, type IngestOptions } from "./options.js";
import { BatchingProducer } from "./producer.js";
import { BookUpdateKind, encodeBookUpdate } from "./record.js";
import { ShardHealthReporter } from "./health.js";
import { SnapshotFetcher } from "./snapshot-fetcher.js";
import { partitionFor } from "./universe.js";

const log = createLogger("ingest");

export interface IngestStats {
  shardId: number;
  connected: boolean;
  frames: number;
  published: number;
  resets: number;
  gaps: number;
  stale: number;
  reconnects: number;
  snapshotRequests: number;
  rejected: Partial<Record<RejectReason | "unknown_symbol" | "binary", number>>;
  producerBacklog: number;
  lastFrameAtMs: number;
  syncedSymbols: number;
}

export interface IngestService {
  readonly options: Readonly<IngestOptions>;
  start(): Promise<void>;
  stop(): Promise<void>;
  stats(): IngestStats;
}

/** Builds the URL of one combined stream carrying every symbol of the shard. */
export function combinedStreamUrl(wsBaseUrl: string, symbols: string[], mode: IngestOptions["streamMode"]): string {
  const suffix = mode === "diff" ? "@depth@100ms" : "@depth20@100ms";
  const streams = symbols.map((s) => s.toLowerCase() + suffix).join("/");
  return `${wsBaseUrl.replace(/\/+$/, "")}/stream?streams=${streams}`;
}

export function createIngestService(partial: Partial<IngestOptions> = {}, deps: { kafka?: Kafka } = {}): IngestService {
  const opts: IngestOptions = { ...DEFAULT_INGEST_OPTIONS, ...partial };
  if (opts.symbols.length === 0) throw new QuantCoreError("invalid_argument", "ingest needs at least one symbol");
  const symbols = new Set(opts.symbols);
  const syncs = new Map(opts.symbols.map((s) => [s, new BookSync(s, { mode: "spot" })]));
  const lastPublishedId = new Map<string, number>();
  const counters = { frames: 0, published: 0, resets: 0, gaps: 0, stale: 0, lastFrameAtMs: 0 };
  const rejected: IngestStats["rejected"] = {};
  let seq = 0;

  const kafka =
    deps.kafka ??
    new Kafka({
      clientId: `${opts.kafkaClientId}-${opts.shardId}`,
      brokers: opts.kafkaBrokers,
      logLevel: logLevel.WARN,
    });
  let producer: Producer | undefined;
  let batcher: BatchingProducer | undefined;

  const reject = (reason: keyof IngestStats["rejected"], detail: string) => {
    rejected[reason] = (rejected[reason] ?? 0) + 1;
    log.debug("rejected frame", { reason, detail: detail.slice(0, 200) });
  };

  const resync = (symbol: string) => {
    syncs.get(symbol)?.reset();
    lastPublishedId.delete(symbol);
  };

  const publish = (
    symbol: string,
    kind: BookUpdateKind,
    book: Pick<OrderBook, "top"> & { updateId: number },
    firstUpdateId: number,
    eventTimeMs: number,
    receiveUs: number,
  ) => {
    if (!batcher) return;
    const top = book.top(opts.publishDepth);
    const value = encodeBookUpdate({
      symbol,
      kind,
      updateId: book.updateId,
      firstUpdateId,
      exchangeEventTimeMs: eventTimeMs,
      ingestReceiveTimeUs: receiveUs,
      ingestProduceTimeUs: nowUs(),
      bids: top.bids,
      asks: top.asks,
      shardId: opts.shardId,
    });
    const accepted = batcher.enqueue({
      symbol,
      message: {
        key: symbol,
        value: Buffer.from(value.buffer, value.byteOffset, value.byteLength),
        partition: partitionFor(symbol, opts.universe, opts.kafkaPartitions),
        headers: { "qc-receive-us": String(receiveUs), "qc-shard": String(opts.shardId), "qc-seq": String(seq++) },
      },
    });
    if (accepted) {
      counters.published++;
      lastPublishedId.set(symbol, book.updateId);
      if (kind === BookUpdateKind.RESET) counters.resets++;
    }
  };

  const fetcher = new SnapshotFetcher(
    {
      restBaseUrl: opts.restBaseUrl,
      limit: opts.snapshotLimit,
      weightPerMinute: opts.restWeightPerMinute,
      timeoutMs: opts.snapshotTimeoutMs,
    },
    (symbol, body) => {
      const sync = syncs.get(symbol);
      if (!sync) return;
      const parsed = parseDepthSnapshot(body, { maxFrameBytes: 64 << 20 });
      if (!parsed.ok) {
        reject(parsed.reason, `snapshot ${symbol}: ${parsed.detail}`);
        fetcher.retryLater(symbol);
        return;
      }
      const res = sync.onSnapshot(parsed.value);
      if (res.type === "synced") {
        fetcher.succeeded(symbol);
        const last = res.applied.at(-1);
        // A reset marker: consumers drop what they hold for the symbol and start from this book.
        publish(symbol, BookUpdateKind.RESET, res.book, parsed.value.lastUpdateId, last?.eventTimeMs ?? 0, nowUs());
        log.info("book synced", { symbol, updateId: res.book.updateId, buffered: res.applied.length });
      } else {
        log.info("snapshot not usable yet; refetching", { symbol, reason: res.reason });
        fetcher.retryLater(symbol);
      }
    },
  );

  const onDiff = (ev: DepthDiff, receiveUs: number) => {
    const sync = syncs.get(ev.symbol);
    if (!sync) return reject("unknown_symbol", ev.symbol);
    const res = sync.onDiff(ev);
    switch (res.type) {
      case "applied":
        publish(ev.symbol, BookUpdateKind.UPDATE, res.book, ev.firstUpdateId, ev.eventTimeMs, receiveUs);
        return;
      case "buffered":
        if (res.needSnapshot) fetcher.request(ev.symbol);
        return;
      case "ignored_stale":
        counters.stale++;
        return;
      case "gap":
      case "crossed":
        // Only this symbol is resynced; the connection and every other book carry on.
        counters.gaps++;
        log.warn("book out of sync; resyncing", { symbol: ev.symbol, type: res.type, U: ev.firstUpdateId });
        fetcher.request(ev.symbol);
        return;
    }
  };

  const onPartial = (ev: PartialDepth, receiveUs: number) => {
    if (!symbols.has(ev.symbol)) return reject("unknown_symbol", ev.symbol);
    if (ev.lastUpdateId <= (lastPublishedId.get(ev.symbol) ?? -1)) {
      counters.stale++;
      return;
    }
    const book = {
      updateId: ev.lastUpdateId,
      top: (n: number) => ({ bids: ev.bids.slice(0, n), asks: ev.asks.slice(0, n) }),
    };
    publish(ev.symbol, BookUpdateKind.UPDATE, book, ev.lastUpdateId, 0, receiveUs);
  };

  const connection = new StreamConnection({
    url: combinedStreamUrl(opts.wsBaseUrl, opts.symbols, opts.streamMode),
    reconnectInitialDelayMs: opts.reconnectInitialDelayMs,
    reconnectMaxDelayMs: opts.reconnectMaxDelayMs,
    onOpen: () => {
      for (const s of opts.symbols) resync(s);
    },
    onDown: (reason) => log.warn("stream down", { reason }),
    onFrame: (text, receiveUs) => {
      counters.frames++;
      counters.lastFrameAtMs = Date.now();
      if (text === "") return reject("binary", "binary frame");
      const r = parseStreamFrame(text, { maxFrameBytes: opts.maxFrameBytes });
      if (!r.ok) return reject(r.reason, r.detail);
      const f = r.value;
      if (f.kind === "depthUpdate") onDiff(f, receiveUs);
      else if (f.kind === "partialDepth") onPartial(f, receiveUs);
      else if (f.kind === "serverShutdown") connection.recycle("serverShutdown");
    },
  });

  const health = opts.redisUrl
    ? new ShardHealthReporter(
        opts.redisUrl,
        opts.redisNamespace,
        opts.shardId,
        opts.symbols,
        () => service.stats(),
        (cmd) => {
          const targets = cmd.symbol ? [cmd.symbol].filter((s) => symbols.has(s)) : opts.symbols;
          log.warn("operator asked for a resync", { symbols: targets });
          for (const s of targets) resync(s);
        },
      )
    : undefined;

  const service: IngestService = {
    options: opts,
    async start() {
      producer = kafka.producer({ allowAutoTopicCreation: false, maxInFlightRequests: 1, idempotent: false });
      try {
        await producer.connect();
      } catch (err) {
        throw QuantCoreError.infra("kafka connect", err);
      }
      batcher = new BatchingProducer(producer, opts.kafkaTopic, opts, resync);
      connection.start();
      await health?.start(opts.heartbeatIntervalMs);
    },
    async stop() {
      await health?.stop();
      fetcher.close();
      await connection.stop();
      await batcher?.close();
      await producer?.disconnect();
    },
    stats() {
      let synced = 0;
      for (const s of syncs.values()) if (s.state === "synced") synced++;
      return {
        shardId: opts.shardId,
        connected: connection.isOpen(),
        ...counters,
        reconnects: connection.stats.reconnects,
        snapshotRequests: fetcher.stats.requests,
        rejected: { ...rejected },
        producerBacklog: batcher?.backlog() ?? 0,
        syncedSymbols: synced,
      };
    },
  };
  return service;
}
