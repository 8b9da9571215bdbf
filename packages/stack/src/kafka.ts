import { randomBytes } from "node:crypto";
import { existsSync, mkdirSync, readdirSync, rmSync, writeFileSync } from "node:fs";
import path from "node:path";
import { Kafka, logLevel } from "kafkajs";
import { QuantCoreError, createLogger, waitFor } from "@quantcore/runtime";
import { defaultCacheDir, defaultWorkDir } from "./paths.js";
import { topicConfig, type TopicSpec } from "./topics.js";
import { aptInstall, freePort, hasCommand, runAsync, startDaemon, terminate, waitUntilReady } from "./proc.js";
import { track, untrack } from "./registry.js";

const log = createLogger("stack.kafka");

export interface KafkaOptions {
  /** 3.9.x: Kafka 4.0 removed protocol versions kafkajs 2.2.4 still speaks. */
  kafkaVersion: string;
  scalaVersion: string;
  cacheDir: string;
  workDir: string;
  heapMb: number;
  /** Until the broker answers a metadata request; a broker process that exits fails at once. */
  startTimeoutMs: number;
  /** Told when each start step begins and ends (the demo prints them; tests time them). */
  onProgress?: (e: StackProgress) => void;
}

/** One step of starting the stack: `done` false when it begins, true (with its duration) at its end. */
export interface StackProgress {
  step: "kafka-artifacts" | "kafka-format" | "kafka-broker" | "redis" | "topics";
  done: boolean;
  atMs: number;
  elapsedMs?: number;
}

/** Runs `fn` as a reported step. */
export async function progressStep<T>(
  o: { onProgress?: (e: StackProgress) => void },
  step: StackProgress["step"],
  fn: () => Promise<T>,
): Promise<T> {
  const t0 = Date.now();
  o.onProgress?.({ step, done: false, atMs: t0 });
  const v = await fn();
  const t1 = Date.now();
  o.onProgress?.({ step, done: true, atMs: t1, elapsedMs: t1 - t0 });
  return v;
}

export const DEFAULT_KAFKA_OPTIONS: Readonly<KafkaOptions> = Object.freeze({
  kafkaVersion: "3.9.1",
  scalaVersion: "2.13",
  cacheDir: defaultCacheDir(),
  workDir: defaultWorkDir(),
  heapMb: Number(process.env.QUANTCORE_KAFKA_HEAP_MB ?? 512),
  startTimeoutMs: 240_000,
});

export interface KafkaHandle {
  brokers: string[];
  port: number;
  pid: number;
  stop(): Promise<void>;
}

function pom(o: KafkaOptions): string {
  return `<project xmlns="http://maven.apache.org/POM/4.0.0">
  <modelVersion>4.0.0</modelVersion>
  <groupId>dev.quantcore</groupId>
  <artifactId>kafka-runtime</artifactId>
  <version>1</version>
  <packaging>pom</packaging>
  <dependencies>
    <dependency><groupId>org.apache.kafka</groupId><artifactId>kafka_${o.scalaVersion}</artifactId><version>${o.kafkaVersion}</version></dependency>
    <!-- the broker logs through slf4j 1.7 + reload4j, a runtime choice Kafka leaves to the distribution -->
    <dependency><groupId>org.slf4j</groupId><artifactId>slf4j-reload4j</artifactId><version>1.7.36</version></dependency>
  </dependencies>
</project>
`;
}

function ensureJava(): void {
  if (!hasCommand("java")) aptInstall(["openjdk-17-jre-headless"]);
  if (!hasCommand("mvn")) aptInstall(["maven"]);
}

/**
 * Resolves Apache Kafka and its runtime dependencies from Maven Central into the cache,
 * once; a stamp file marks a complete download so an interrupted one is redone.
 */
export async function ensureKafkaArtifacts(opts: Partial<KafkaOptions> = {}): Promise<string> {
  const o = { ...DEFAULT_KAFKA_OPTIONS, ...opts };
  ensureJava();
  const dir = path.join(o.cacheDir, `kafka_${o.scalaVersion}-${o.kafkaVersion}`);
  const libs = path.join(dir, "libs");
  const stamp = path.join(dir, "complete");
  if (!existsSync(stamp)) {
    log.info("resolving Apache Kafka from Maven Central (first use only)", { version: o.kafkaVersion, dir });
    rmSync(libs, { recursive: true, force: true });
    mkdirSync(dir, { recursive: true });
    writeFileSync(path.join(dir, "pom.xml"), pom(o));
    const r = await runAsync(
      "mvn",
      ["-q", "-B", "dependency:copy-dependencies", `-DoutputDirectory=${libs}`, "-DincludeScope=runtime"],
      { cwd: dir },
    );
    if (r.code !== 0) {
      throw new QuantCoreError("unavailable", `mvn could not resolve Kafka: ${r.output.slice(-2000)}`);
    }
    writeFileSync(stamp, new Date().toISOString());
  }
  const jars = readdirSync(libs).filter((f) => f.endsWith(".jar"));
  return jars.map((j) => path.join(libs, j)).join(path.delimiter);
}

export const LOG4J = `log4j.rootLogger=INFO, stdout
log4j.appender.stdout=org.apache.log4j.ConsoleAppender
log4j.appender.stdout.layout=org.apache.log4j.PatternLayout
log4j.appender.stdout.layout.ConversionPattern=[%d] %p %m (%c)%n
log4j.logger.kafka=INFO
log4j.logger.org.apache.kafka=WARN
log4j.logger.state.change.logger=WARN
`;

/** A KRaft cluster id: 16 random bytes, base64url without padding (what StorageTool generates). */
export function clusterId(): string {
  // A leading "-" would be read as an option by StorageTool's argument parser.
  for (;;) {
    const id = randomBytes(16).toString("base64url");
    if (!id.startsWith("-")) return id;
  }
}

/**
 * The JVM flags Kafka's own launcher (bin/kafka-run-class.sh, KAFKA_JVM_PERFORMANCE_OPTS) starts a
 * broker with: G1 aiming at 20 ms pauses rather than its 200 ms default.
 */
const KAFKA_JVM_PERFORMANCE_OPTS: readonly string[] = [
  "-server",
  "-XX:+UseG1GC",
  "-XX:MaxGCPauseMillis=20",
  "-XX:InitiatingHeapOccupancyPercent=35",
  "-XX:+ExplicitGCInvokesConcurrent",
  "-Djava.awt.headless=true",
];

/** A broker's java arguments: heap, the launcher's flags, classpath and log config (`java`), its properties file. */
export function brokerJavaArgs(heapMb: number, java: readonly string[], propsFile: string): string[] {
  return [
    `-Xmx${heapMb}m`,
    `-Xms${Math.min(256, heapMb)}m`,
    ...KAFKA_JVM_PERFORMANCE_OPTS,
    ...java,
    "kafka.Kafka",
    propsFile,
  ];
}

export async function startKafka(opts: Partial<KafkaOptions> = {}): Promise<KafkaHandle> {
  const o = { ...DEFAULT_KAFKA_OPTIONS, ...opts };
  const classpath = await progressStep(o, "kafka-artifacts", () => ensureKafkaArtifacts(o));
  const port = await freePort();
  const controllerPort = await freePort();
  const runDir = path.join(o.workDir, `kafka-${port}-${process.pid}`);
  const dataDir = path.join(runDir, "data");
  const logDir = path.join(o.workDir, "logs");
  mkdirSync(dataDir, { recursive: true });
  mkdirSync(logDir, { recursive: true });
  const props = path.join(runDir, "server.properties");
  writeFileSync(
    props,
    [
      "process.roles=broker,controller",
      "node.id=1",
      `controller.quorum.voters=1@127.0.0.1:${controllerPort}`,
      `listeners=PLAINTEXT://127.0.0.1:${port},CONTROLLER://127.0.0.1:${controllerPort}`,
      `advertised.listeners=PLAINTEXT://127.0.0.1:${port}`,
      "controller.listener.names=CONTROLLER",
      "listener.security.protocol.map=PLAINTEXT:PLAINTEXT,CONTROLLER:PLAINTEXT",
      "inter.broker.listener.name=PLAINTEXT",
      `log.dirs=${dataDir}`,
      "num.partitions=1",
      // Topics are created explicitly (30 partitions for order_book): a typo must not make a new one.
      "auto.create.topics.enable=false",
      // Single node: replication 1 everywhere, and a small offsets topic so the first group starts fast.
      "offsets.topic.replication.factor=1",
      "offsets.topic.num.partitions=10",
      "transaction.state.log.replication.factor=1",
      "transaction.state.log.min.isr=1",
      "group.initial.rebalance.delay.ms=0",
      "log.retention.hours=24",
      "",
    ].join("\n"),
  );
  const log4j = path.join(runDir, "log4j.properties");
  writeFileSync(log4j, LOG4J);
  const java = ["-cp", classpath, `-Dlog4j.configuration=file:${log4j}`];
  // Asynchronous: a JVM tool can take many seconds on a busy machine, and Redis's readiness wait
  // (started beside this) runs on the same event loop.
  const fmt = await progressStep(o, "kafka-format", () =>
    runAsync("java", [...java, "kafka.tools.StorageTool", "format", "-t", clusterId(), "-c", props]),
  );
  if (fmt.code !== 0) throw new QuantCoreError("internal", `kafka storage format failed: ${fmt.output.slice(-2000)}`);

  const logFile = path.join(logDir, `kafka-${port}.log`);
  const pid = startDaemon("java", brokerJavaArgs(o.heapMb, java, props), logFile);
  track({ pid, kind: "kafka", match: "kafka.Kafka" });
  const brokers = [`127.0.0.1:${port}`];
  const stop = async () => {
    await terminate(pid, 15_000);
    untrack(pid);
    rmSync(runDir, { recursive: true, force: true });
  };
  try {
    // One attempt per probe (no kafkajs retries): the loop decides, and sees a dead broker at once.
    const admin = new Kafka({
      clientId: "quantcore-stack",
      brokers,
      logLevel: logLevel.NOTHING,
      connectionTimeout: 5_000,
      requestTimeout: 10_000,
      retry: { retries: 0 },
    }).admin();
    try {
      await progressStep(o, "kafka-broker", () =>
        waitUntilReady(
          `Kafka on ${brokers[0]}`,
          pid,
          async () => {
            await admin.connect();
            await admin.listTopics();
            return true;
          },
          { timeoutMs: o.startTimeoutMs, intervalMs: 250, logFile },
        ),
      );
    } finally {
      await admin.disconnect();
    }
  } catch (err) {
    await stop();
    throw QuantCoreError.infra("kafka start", err, false);
  }
  return { brokers, port, pid, stop };
}

/** How long topic creation and its partition leaders may take (generous: a loaded 2-core machine). */
const TOPIC_READY_TIMEOUT_MS = 120_000;

/** Creates missing topics (idempotent) and waits until every partition has a leader. */
export async function createTopics(brokers: string[], topics: TopicSpec[]): Promise<void> {
  if (topics.length === 0) return;
  const admin = new Kafka({ clientId: "quantcore-stack", brokers, logLevel: logLevel.NOTHING }).admin();
  await admin.connect();
  try {
    const existing = new Set(await admin.listTopics());
    const missing = topics.filter((t) => !existing.has(t.name));
    if (missing.length > 0) {
      await admin.createTopics({
        waitForLeaders: true,
        // The broker's own deadline for the creation (kafkajs's default 5 s is short on a loaded machine).
        timeout: TOPIC_READY_TIMEOUT_MS,
        topics: missing.map((t) => ({
          topic: t.name,
          numPartitions: t.partitions,
          replicationFactor: 1,
          configEntries: topicConfig(t),
        })),
      });
    }
    await waitFor(
      async () => {
        const md = await admin.fetchTopicMetadata({ topics: topics.map((t) => t.name) });
        return md.topics.every((t) => {
          const want = topics.find((x) => x.name === t.name)!.partitions;
          return t.partitions.length === want && t.partitions.every((p) => p.leader >= 0);
        });
      },
      "topic leaders",
      { timeoutMs: TOPIC_READY_TIMEOUT_MS, intervalMs: 100 },
    );
  } finally {
    await admin.disconnect();
  }
}
