import { logLevel, type Kafka } from "kafkajs";
import type { Registry } from "prom-client";
import { BookSync, parseDepthSnapshot, parseStreamFrame, type DepthDiff, type PartialDepth } from "@quantcore/core";
import { createLogger, nowUs, QuantCoreError, settlesWithin, createKafka } from "@quantcore/runtime";
import { StreamConnection } from "./connection.js";
import { ConnectionRotation } from "./rotation.js";
import { RollingWindowLimit } from "./limits.js";
import {
  DEFAULT_INGEST_OPTIONS,
  checkIngestOptions,
  combinedStreamUrl,
  deadLetterTopicOf,
  type IngestOptions,
} from "./options.js";
import { BookStamps } from "./book-stamps.js";
import { DeadLetterQueue } from "./dead-letter.js";
import { openAckLog, type AckLog } from "./ack-log.js";
import { BatchingProducer } from "./producer.js";
import { createProduceClient, type ProduceClient } from "./produce-client.js";
import { BookPublisher } from "./publisher.js";
import { BookUpdateKind } from "./record.js";
import { ShardHealthReporter } from "./health.js";
import { createIngestMetrics } from "./metrics.js";
import type { IngestStats } from "./stats.js";
import { SnapshotFetcher } from "./snapshot-fetcher.js";

const log = createLogger("ingest");

export { combinedStreamUrl, deadLetterTopicOf };

export type { IngestStats };

export interface IngestService {
  readonly options: Readonly<IngestOptions>;
  start(): Promise<void>;
  stop(): Promise<void>;
  stats(): IngestStats;
  /** Prometheus metrics of this shard (served by the app on /metrics). */
  readonly metrics: Registry;
}

export function createIngestService(partial: Partial<IngestOptions> = {}, deps: { kafka?: Kafka } = {}): IngestService {
  const opts: IngestOptions = { ...DEFAULT_INGEST_OPTIONS, ...partial };
  checkIngestOptions(opts);
  const symbols = new Set(opts.symbols);
  const syncs = new Map(opts.symbols.map((s) => [s, new BookSync(s, { mode: opts.market })]));
  const stamps = new BookStamps();
  const counters = { frames: 0, gaps: 0, stale: 0, lastFrameAtMs: 0 };
  const rejected: IngestStats["rejected"] = {};

  const kafka =
    deps.kafka ??
    createKafka({
      clientId: `${opts.kafkaClientId}-${opts.shardId}`,
      brokers: opts.kafkaBrokers,
      logLevel: logLevel.WARN,
      requestTimeout: opts.kafkaRequestTimeoutMs,
    });
  let producer: ProduceClient | undefined;
  let batcher: BatchingProducer | undefined;
  let ackLog: AckLog | undefined;
  const producerOptions = {
    maxQueuedRecords: opts.maxQueuedRecords,
    maxRecordsPerBatch: opts.maxRecordsPerBatch,
    minSendIntervalMs: opts.minSendIntervalMs,
    loadedSendIntervalMs: opts.loadedSendIntervalMs,
    loadedAboveRecordsPerSecond: opts.loadedAboveRecordsPerSecond,
    maxPartitionBatchBytes: opts.maxPartitionBatchBytes,
    maxRequestBytes: opts.maxRequestBytes,
  };
  const deadLetters = opts.deadLetterTopic
    ? new DeadLetterQueue(kafka, {
        topic: deadLetterTopicOf(opts),
        shardId: opts.shardId,
        maxBatchBytes: opts.maxPartitionBatchBytes,
        maxQueuedRecords: opts.maxQueuedDeadLetters,
        maxQueuedBytes: opts.maxQueuedDeadLetterBytes,
        producer: producerOptions,
      })
    : undefined;

  /** Counts a refused frame and keeps its raw text on the dead-letter topic for inspection. */
  const reject = (reason: keyof IngestStats["rejected"], detail: string, raw?: string, receiveUs = nowUs()) => {
    rejected[reason] = (rejected[reason] ?? 0) + 1;
    log.debug("rejected frame", { reason, detail: detail.slice(0, 200) });
    if (raw !== undefined) deadLetters?.write(raw, { reason, detail, shardId: opts.shardId, receiveUs });
  };

  const resync = (symbol: string) => {
    syncs.get(symbol)?.reset();
    publisher.lastPublishedId.delete(symbol);
  };
  const publisher: BookPublisher = new BookPublisher(opts, stamps, resync);
  const publish = publisher.publish.bind(publisher);

  const fetcher = new SnapshotFetcher(
    {
      restBaseUrl: opts.restBaseUrl,
      market: opts.market,
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
        // A reset marker: consumers drop what they hold for the symbol and start from this book.
        const eventTimeMs = stamps.resetEventTimeMs(symbol, res.applied);
        publish(symbol, BookUpdateKind.RESET, res.book, parsed.value.lastUpdateId, eventTimeMs, nowUs());
        log.info("book synced", { symbol, updateId: res.book.updateId, buffered: res.applied.length });
      } else {
        log.info("snapshot not usable yet; refetching", { symbol, reason: res.reason });
        fetcher.retryLater(symbol);
      }
    },
  );

  const onDiff = (ev: DepthDiff, receiveUs: number, raw: string) => {
    const sync = syncs.get(ev.symbol);
    if (!sync) return reject("unknown_symbol", ev.symbol, raw, receiveUs);
    stamps.sawEvent(ev.symbol, ev.eventTimeMs);
    if (publisher.stillBackedUp(ev.symbol)) return;
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
        if (res.type === "gap") counters.gaps++;
        else reject("crossed", `${ev.symbol} U=${ev.firstUpdateId}`, raw, receiveUs);
        log.warn("book out of sync; resyncing", { symbol: ev.symbol, type: res.type, U: ev.firstUpdateId });
        fetcher.request(ev.symbol);
        return;
    }
  };

  const onPartial = (ev: PartialDepth, receiveUs: number, raw: string) => {
    if (!symbols.has(ev.symbol)) return reject("unknown_symbol", ev.symbol, raw, receiveUs);
    if (publisher.stillBackedUp(ev.symbol)) return;
    const last = publisher.lastPublishedId.get(ev.symbol);
    if (last !== undefined && ev.lastUpdateId <= last) {
      counters.stale++;
      return;
    }
    const book = {
      updateId: ev.lastUpdateId,
      top: (n: number) => ({ bids: ev.bids.slice(0, n), asks: ev.asks.slice(0, n) }),
    };
    // Each partial frame is a whole top-N book; the first after (re)start or a Kafka backlog is
    // marked RESET so consumers drop state (OFI) that spans the hole.
    const kind = last === undefined ? BookUpdateKind.RESET : BookUpdateKind.UPDATE;
    publish(ev.symbol, kind, book, ev.lastUpdateId, 0, receiveUs);
  };

  /** Routes one frame from `conn`: the current connection, or during a rotation the incoming one. */
  const onFrame = (text: string, receiveUs: number, conn: StreamConnection) => {
    counters.frames++;
    counters.lastFrameAtMs = Date.now();
    if (text === "") return reject("binary", "binary frame", "", receiveUs);
    const r = parseStreamFrame(text, { maxFrameBytes: opts.maxFrameBytes });
    if (!r.ok) return reject(r.reason, r.detail, text, receiveUs);
    const f = r.value;
    if (f.kind === "serverShutdown") return rotation.rotate("serverShutdown");
    if (f.kind !== "depthUpdate" && f.kind !== "partialDepth") return;
    rotation.route(f, receiveUs, text, conn);
  };

  const attempts = new RollingWindowLimit(opts.maxConnectionAttemptsPer5Min, 5 * 60_000);
  let connectionSeq = 0;
  const newConnection = () =>
    new StreamConnection({
      url: combinedStreamUrl(opts.wsBaseUrl, opts.symbols, opts.streamMode),
      name: `shard${opts.shardId}-conn${++connectionSeq}`,
      reconnectInitialDelayMs: opts.reconnectInitialDelayMs,
      reconnectMaxDelayMs: opts.reconnectMaxDelayMs,
      attempts,
      onFrame,
      onOpen: (conn, reconnect) => rotation.onOpen(conn, reconnect),
      onDown: (conn, reason) => {
        log.warn("stream down", { name: conn.name, reason });
        rotation.onDown(conn);
      },
    });
  const rotation: ConnectionRotation<StreamConnection> = new ConnectionRotation({
    symbols: opts.symbols,
    rotateAfterMs: opts.rotateAfterMs,
    overlapMaxMs: opts.rotationOverlapMaxMs,
    newConnection,
    onDiff,
    onPartial,
    bookId: (symbol) => {
      const sync = syncs.get(symbol);
      return sync?.state === "synced" ? sync.book.updateId : undefined;
    },
    resync,
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

  const metrics = createIngestMetrics(() => service.stats());
  const service: IngestService = {
    options: opts,
    metrics: metrics.registry,
    async start() {
      producer = createProduceClient(kafka, opts);
      try {
        await producer.connect();
      } catch (err) {
        throw QuantCoreError.infra("kafka connect", err);
      }
      // A record Kafka refuses for good costs its book a rebuild, like one the backlog refused.
      ackLog = opts.ackLogFile ? openAckLog(opts.ackLogFile) : undefined;
      publisher.batcher = batcher = new BatchingProducer(
        producer,
        opts.kafkaTopic,
        {
          ...producerOptions,
          refreshCluster: () => producer!.refresh(), // nothing is in flight then
          onAcked: (messages, metadata) => {
            metrics.onAcked(messages);
            ackLog?.onAcked(messages, metadata);
          },
        },
        publisher.onBackedUp,
      );
      await deadLetters?.start();
      rotation.start();
      await health?.start(opts.heartbeatIntervalMs);
    },
    async stop() {
      await health?.stop();
      fetcher.close();
      await rotation.stop();
      await Promise.all([batcher?.close(opts.flushTimeoutMs), deadLetters?.stop(opts.flushTimeoutMs)]);
      ackLog?.close();
      // Bounded: a broker that stopped answering must not hold the process.
      if (producer && !(await settlesWithin(producer.disconnect(), opts.flushTimeoutMs)))
        log.warn("kafka producer disconnect timed out");
    },
    stats() {
      let synced = 0;
      for (const s of syncs.values()) if (s.state === "synced") synced++;
      const dl = deadLetters?.stats();
      return {
        shardId: opts.shardId,
        connected: rotation.current.isOpen(),
        ...counters,
        ...publisher.counters,
        rotations: rotation.stats.rotations,
        forcedHandovers: rotation.stats.forcedHandovers,
        deadLettered: dl?.written ?? 0,
        deadLetterDropped: dl?.dropped ?? 0,
        deadLetterTruncated: dl?.truncated ?? 0,
        deadLetterBacklog: dl?.backlog ?? 0,
        produceDropped: { orderBook: { ...batcher?.stats.dropped }, deadLetter: dl?.undeliverable ?? {} },
        reconnects: rotation.reconnects(),
        snapshotRequests: fetcher.stats.requests,
        rejected: { ...rejected },
        producerBacklog: batcher?.backlog() ?? 0,
        syncedSymbols: synced,
      };
    },
  };
  return service;
}
