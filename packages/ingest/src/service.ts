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
import { createLogger, noDelaySocketFactory, nowUs, QuantCoreError, settlesWithin } from "@quantcore/runtime";
import { StreamConnection } from "./connection.js";
import { RollingWindowLimit } from "./limits.js";
import {
  DEFAULT_INGEST_OPTIONS,
  MAX_STREAMS_PER_CONNECTION,
  USDM_DEPTH_LIMITS,
  type IngestOptions,
} from "./options.js";
import { BookStamps } from "./book-stamps.js";
import { DeadLetterQueue } from "./dead-letter.js";
import { openAckLog, type AckLog } from "./ack-log.js";
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
  /** Planned overlapping connection replacements (24 h limit, serverShutdown). */
  rotations: number;
  /** Symbols moved at the overlap deadline rather than on proven continuity. */
  forcedHandovers: number;
  snapshotRequests: number;
  /** Raw frames written to the dead-letter topic, and those dropped because its queue was full. */
  deadLettered: number;
  deadLetterDropped: number;
  /** Dead letters cut to fit Kafka's record limit (marked `qc-truncated`). */
  deadLetterTruncated: number;
  deadLetterBacklog: number;
  /**
   * Records Kafka refused for good (never retried), by kafkajs error type: `orderBook` ones
   * cost their book a rebuild (RESET), `deadLetter` ones are lost.
   */
  produceDropped: { orderBook: Partial<Record<string, number>>; deadLetter: Partial<Record<string, number>> };
  /** Diffs dropped while Kafka was backed up; their books are rebuilt once it drains. */
  droppedWhileBackedUp: number;
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

export function deadLetterTopicOf(o: Pick<IngestOptions, "deadLetterTopic" | "kafkaTopic">): string {
  return o.deadLetterTopic.replaceAll("{topic}", o.kafkaTopic);
}

export function createIngestService(partial: Partial<IngestOptions> = {}, deps: { kafka?: Kafka } = {}): IngestService {
  const opts: IngestOptions = { ...DEFAULT_INGEST_OPTIONS, ...partial };
  if (opts.symbols.length === 0) throw new QuantCoreError("invalid_argument", "ingest needs at least one symbol");
  if (opts.symbols.length > MAX_STREAMS_PER_CONNECTION) {
    throw new QuantCoreError(
      "invalid_argument",
      `a shard carries at most ${MAX_STREAMS_PER_CONNECTION} streams on its connection, got ${opts.symbols.length}: use more shards`,
    );
  }
  if (opts.market === "usdm" && !USDM_DEPTH_LIMITS.includes(opts.snapshotLimit)) {
    throw new QuantCoreError(
      "invalid_argument",
      `USD-M snapshot limit must be one of ${USDM_DEPTH_LIMITS.join(", ")}, got ${opts.snapshotLimit}`,
    );
  }
  const symbols = new Set(opts.symbols);
  const syncs = new Map(opts.symbols.map((s) => [s, new BookSync(s, { mode: opts.market })]));
  const lastPublishedId = new Map<string, number>();
  const stamps = new BookStamps();
  const counters = {
    frames: 0,
    published: 0,
    resets: 0,
    gaps: 0,
    stale: 0,
    rotations: 0,
    forcedHandovers: 0,
    droppedWhileBackedUp: 0,
    lastFrameAtMs: 0,
  };
  // Symbols whose records Kafka's backlog refused: held back until the queue drains.
  const backedUp = new Set<string>();
  const rejected: IngestStats["rejected"] = {};

  const kafka =
    deps.kafka ??
    new Kafka({
      clientId: `${opts.kafkaClientId}-${opts.shardId}`,
      brokers: opts.kafkaBrokers,
      logLevel: logLevel.WARN,
      socketFactory: noDelaySocketFactory,
      requestTimeout: opts.kafkaRequestTimeoutMs,
    });
  let producer: Producer | undefined;
  let batcher: BatchingProducer | undefined;
  let ackLog: AckLog | undefined;
  const producerOptions = {
    maxQueuedRecords: opts.maxQueuedRecords,
    maxRecordsPerBatch: opts.maxRecordsPerBatch,
    minSendIntervalMs: opts.minSendIntervalMs,
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
    lastPublishedId.delete(symbol);
  };

  /** Kafka refused a record (backlog full): rebuild the book once Kafka has caught up. */
  const onBackedUp = (symbol: string) => {
    resync(symbol);
    backedUp.add(symbol);
  };

  /** True while `symbol` must wait for Kafka; clears once the backlog is down to half. */
  const stillBackedUp = (symbol: string) => {
    if (!backedUp.has(symbol)) return false;
    if ((batcher?.backlog() ?? 0) > opts.maxQueuedRecords / 2) {
      counters.droppedWhileBackedUp++;
      return true;
    }
    backedUp.delete(symbol);
    log.info("kafka caught up; rebuilding book", { symbol });
    return false;
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
    // A RESET starts a new build of the book: a new epoch, carried by every later record of it.
    const bookEpoch = kind === BookUpdateKind.RESET ? stamps.newEpoch(symbol) : stamps.epoch(symbol);
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
      bookEpoch,
    });
    const accepted = batcher.enqueue({
      symbol,
      message: {
        key: symbol,
        value: Buffer.from(value.buffer, value.byteOffset, value.byteLength),
        partition: partitionFor(symbol, opts.universe, opts.kafkaPartitions),
        // No headers: the value carries the receive time and the shard, and kafkajs spends
        // ~11 us of CPU per record encoding three small headers (about half its record cost).
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
    if (stillBackedUp(ev.symbol)) return;
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
    if (stillBackedUp(ev.symbol)) return;
    const last = lastPublishedId.get(ev.symbol);
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
    if (f.kind === "serverShutdown") return rotate("serverShutdown");
    if (f.kind !== "depthUpdate" && f.kind !== "partialDepth") return;
    const h = handover;
    if (!h) {
      if (conn !== current) return;
      return f.kind === "depthUpdate" ? onDiff(f, receiveUs, text) : onPartial(f, receiveUs, text);
    }
    if (f.kind === "partialDepth") {
      // Whole books: duplicates from the two connections are filtered by lastUpdateId.
      onPartial(f, receiveUs, text);
      if (conn === h.next) h.switched.add(f.symbol);
      return maybeFinishHandover();
    }
    if (conn === h.next) {
      if (h.switched.has(f.symbol)) return onDiff(f, receiveUs, text);
      const q = h.pending.get(f.symbol) ?? [];
      h.pending.set(f.symbol, q);
      q.push({ ev: f, receiveUs, raw: text });
    } else if (!h.switched.has(f.symbol)) {
      onDiff(f, receiveUs, text);
    }
    tryHandOver(f.symbol, false);
    maybeFinishHandover();
  };

  // Rotation: a new connection opens beside the old one; each symbol moves to it once the new
  // stream continues the book without a hole (its first held diff has U <= book id + 1), then
  // the old connection closes. No update id is missed and no book is rebuilt.
  interface Handover {
    next: StreamConnection;
    pending: Map<string, Array<{ ev: DepthDiff; receiveUs: number; raw: string }>>;
    switched: Set<string>;
    deadline: NodeJS.Timeout;
  }
  let handover: Handover | undefined;
  let current: StreamConnection;
  let rotateTimer: NodeJS.Timeout | undefined;
  let stopped = false;
  let reconnectsBefore = 0;
  const attempts = new RollingWindowLimit(opts.maxConnectionAttemptsPer5Min, 5 * 60_000);

  const tryHandOver = (symbol: string, force: boolean) => {
    const h = handover;
    if (!h || h.switched.has(symbol)) return;
    const q = h.pending.get(symbol) ?? [];
    const sync = syncs.get(symbol);
    if (!force) {
      if (q.length === 0) return;
      // The new stream may take over once its first held diff does not skip past the book
      // (U <= id + 1): from there it carries every later id itself. If it is ahead, wait for the
      // old connection to catch up; a runaway queue means the old one is stuck, so switch and
      // let the gap rule decide.
      const ahead = sync?.state === "synced" && q[0]!.ev.firstUpdateId > sync.book.updateId + 1;
      if (ahead && q.length < 1_000) return;
    } else {
      counters.forcedHandovers++;
    }
    h.switched.add(symbol);
    h.pending.delete(symbol);
    // Already-applied diffs among them are ignored as stale by the sync.
    for (const p of q) onDiff(p.ev, p.receiveUs, p.raw);
  };

  const maybeFinishHandover = (force = false) => {
    const h = handover;
    if (!h) return;
    if (!force && h.switched.size < symbols.size) return;
    for (const s of opts.symbols) tryHandOver(s, true);
    clearTimeout(h.deadline);
    const old = current;
    reconnectsBefore += old.stats.reconnects;
    current = h.next;
    handover = undefined;
    log.info("rotation complete", { from: old.name, to: current.name });
    void old.stop();
    scheduleRotation();
  };

  const newConnection = () =>
    new StreamConnection({
      url: combinedStreamUrl(opts.wsBaseUrl, opts.symbols, opts.streamMode),
      name: `shard${opts.shardId}-conn${++connectionSeq}`,
      reconnectInitialDelayMs: opts.reconnectInitialDelayMs,
      reconnectMaxDelayMs: opts.reconnectMaxDelayMs,
      attempts,
      onFrame,
      onOpen: (conn, reconnect) => {
        if (conn === current && handover === undefined) {
          scheduleRotation();
          // Frames were missed while down: every book of this connection is rebuilt.
          if (reconnect) for (const s of opts.symbols) resync(s);
        } else if (handover && conn === handover.next && reconnect) {
          // The incoming connection dropped mid-handover: it may have missed frames too.
          maybeFinishHandover(true);
          for (const s of opts.symbols) resync(s);
        }
      },
      onDown: (conn, reason) => {
        log.warn("stream down", { name: conn.name, reason });
        // The old connection closed before every symbol moved (e.g. the 24 h mark came early):
        // move them all now; any hole shows up as a gap on the next event.
        if (handover && conn === current && !stopped) maybeFinishHandover(true);
      },
    });
  let connectionSeq = 0;

  /** Opens the overlapping replacement connection (24 h limit ahead, or serverShutdown). */
  const rotate = (reason: string) => {
    if (handover || stopped) return;
    counters.rotations++;
    log.info("rotating connection", { reason, from: current.name });
    const next = newConnection();
    handover = {
      next,
      pending: new Map(),
      switched: new Set(),
      deadline: setTimeout(() => maybeFinishHandover(true), opts.rotationOverlapMaxMs),
    };
    next.start();
  };

  const scheduleRotation = () => {
    if (rotateTimer) clearTimeout(rotateTimer);
    if (stopped) return;
    rotateTimer = setTimeout(() => rotate("connection age"), opts.rotateAfterMs);
    rotateTimer.unref();
  };
  current = newConnection();

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
      producer = kafka.producer({
        allowAutoTopicCreation: false,
        idempotent: false,
        metadataMaxAge: opts.kafkaMetadataMaxAgeMs,
      });
      try {
        await producer.connect();
      } catch (err) {
        throw QuantCoreError.infra("kafka connect", err);
      }
      // A record Kafka refuses for good costs its book a rebuild, like one the backlog refused.
      ackLog = opts.ackLogFile ? openAckLog(opts.ackLogFile) : undefined;
      batcher = new BatchingProducer(
        producer,
        opts.kafkaTopic,
        { ...producerOptions, onAcked: ackLog?.onAcked },
        onBackedUp,
      );
      await deadLetters?.start();
      stopped = false;
      current.start();
      await health?.start(opts.heartbeatIntervalMs);
    },
    async stop() {
      stopped = true;
      if (rotateTimer) clearTimeout(rotateTimer);
      const h = handover;
      if (h) clearTimeout(h.deadline);
      await health?.stop();
      fetcher.close();
      await Promise.all([current.stop(), h?.next.stop()]);
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
        connected: current.isOpen(),
        ...counters,
        deadLettered: dl?.written ?? 0,
        deadLetterDropped: dl?.dropped ?? 0,
        deadLetterTruncated: dl?.truncated ?? 0,
        deadLetterBacklog: dl?.backlog ?? 0,
        produceDropped: { orderBook: { ...batcher?.stats.dropped }, deadLetter: dl?.undeliverable ?? {} },
        reconnects: reconnectsBefore + current.stats.reconnects,
        snapshotRequests: fetcher.stats.requests,
        rejected: { ...rejected },
        producerBacklog: batcher?.backlog() ?? 0,
        syncedSymbols: synced,
      };
    },
  };
  return service;
}
