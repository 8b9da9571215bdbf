// A replicated Kafka cluster on one machine: three KRaft nodes, each broker and controller
// (combined mode, a three-voter quorum), on free ports, with topics at replication factor 3
// and min.insync.replicas 2. The fault suite kills, stops and restarts single brokers; a
// restart reuses the node's ports and data directory, so it rejoins as the same broker.
// The single broker of kafka.ts stays the default for the demo and the tests.
import { spawnSync } from "node:child_process";
import { mkdirSync, rmSync, writeFileSync } from "node:fs";
import path from "node:path";
import { Kafka, logLevel } from "kafkajs";
import { QuantCoreError, createLogger, waitFor } from "@quantcore/runtime";
import {
  DEFAULT_KAFKA_OPTIONS,
  LOG4J,
  brokerJavaArgs,
  clusterId,
  ensureKafkaArtifacts,
  type KafkaOptions,
} from "./kafka.js";
import type { TopicSpec } from "./topics.js";
import { freePort, isAlive, startDaemon, terminate } from "./proc.js";
import { track, untrack } from "./registry.js";
import { createReplicatedTopics } from "./replicated-topics.js";

const log = createLogger("stack.cluster");

export interface ClusterOptions extends KafkaOptions {
  nodes: number;
  replicationFactor: number;
  minInsyncReplicas: number;
  /**
   * A second client listener per node (PROXIED) that advertises another port, where the caller
   * runs a proxy to the node's PROXIED port: clients bootstrapped there (and only they) reach every
   * broker through the proxies, so a test can cut them off from Kafka.
   */
  proxiedListener: boolean;
}

export const DEFAULT_CLUSTER_OPTIONS: Readonly<ClusterOptions> = Object.freeze({
  ...DEFAULT_KAFKA_OPTIONS,
  heapMb: Number(process.env.QUANTCORE_KAFKA_HEAP_MB ?? 384),
  nodes: 3,
  replicationFactor: 3,
  minInsyncReplicas: 2,
  proxiedListener: false,
});

export interface ClusterNode {
  nodeId: number;
  port: number;
  /** The running JVM; replaced by restart(). */
  pid: number;
  logFile: string;
  /** With proxiedListener: the node's PROXIED listener, and the port it advertises (the proxy's). */
  proxied?: { port: number; advertisedPort: number };
}

export interface ClusterHandle {
  brokers: string[];
  nodes: ClusterNode[];
  /** SIGKILL of one node (no clean shutdown, no leader handover). */
  kill(nodeId: number): Promise<void>;
  /** Starts a killed node again on its ports and data directory; resolves once it is a broker again. */
  restart(nodeId: number): Promise<void>;
  /** Creates missing topics at the cluster's replication factor and min.insync.replicas. */
  createTopics(topics: TopicSpec[]): Promise<void>;
  stop(): Promise<void>;
}

interface NodeSpec {
  nodeId: number;
  port: number;
  controllerPort: number;
  proxied?: { port: number; advertisedPort: number };
  props: string;
  logFile: string;
}

function properties(n: NodeSpec, voters: string, dataDir: string, o: ClusterOptions): string {
  return [
    "process.roles=broker,controller",
    `node.id=${n.nodeId}`,
    `controller.quorum.voters=${voters}`,
    `listeners=PLAINTEXT://127.0.0.1:${n.port},CONTROLLER://127.0.0.1:${n.controllerPort}` +
      (n.proxied ? `,PROXIED://127.0.0.1:${n.proxied.port}` : ""),
    `advertised.listeners=PLAINTEXT://127.0.0.1:${n.port}` +
      (n.proxied ? `,PROXIED://127.0.0.1:${n.proxied.advertisedPort}` : ""),
    "controller.listener.names=CONTROLLER",
    "listener.security.protocol.map=PLAINTEXT:PLAINTEXT,CONTROLLER:PLAINTEXT" + (n.proxied ? ",PROXIED:PLAINTEXT" : ""),
    "inter.broker.listener.name=PLAINTEXT",
    `log.dirs=${dataDir}`,
    "num.partitions=1",
    "auto.create.topics.enable=false",
    `default.replication.factor=${o.replicationFactor}`,
    `min.insync.replicas=${o.minInsyncReplicas}`,
    `offsets.topic.replication.factor=${o.replicationFactor}`,
    "offsets.topic.num.partitions=10",
    `transaction.state.log.replication.factor=${o.replicationFactor}`,
    `transaction.state.log.min.isr=${o.minInsyncReplicas}`,
    // acks=all with min.insync 2: an acknowledged record is on two replicas; no unclean election.
    "unclean.leader.election.enable=false",
    "group.initial.rebalance.delay.ms=0",
    // A killed broker leaves the ISR after this long without fetching (the default, stated).
    "replica.lag.time.max.ms=30000",
    "log.retention.hours=24",
    "",
  ].join("\n");
}

/** Starts `nodes` KRaft brokers (combined broker + controller) and waits until all are registered. */
export async function startKafkaCluster(opts: Partial<ClusterOptions> = {}): Promise<ClusterHandle> {
  const o = { ...DEFAULT_CLUSTER_OPTIONS, ...opts };
  const classpath = await ensureKafkaArtifacts(o);
  const specs: NodeSpec[] = [];
  const runDir = path.join(o.workDir, `kafka-cluster-${process.pid}-${Date.now()}`);
  const logDir = path.join(o.workDir, "logs");
  mkdirSync(logDir, { recursive: true });
  for (let i = 1; i <= o.nodes; i++) {
    const port = await freePort();
    const controllerPort = await freePort();
    const proxied = o.proxiedListener ? { port: await freePort(), advertisedPort: await freePort() } : undefined;
    specs.push({
      nodeId: i,
      port,
      controllerPort,
      proxied,
      props: path.join(runDir, `node-${i}`, "server.properties"),
      logFile: path.join(logDir, `kafka-${port}.log`),
    });
  }
  const voters = specs.map((n) => `${n.nodeId}@127.0.0.1:${n.controllerPort}`).join(",");
  const id = clusterId();
  const log4j = path.join(runDir, "log4j.properties");
  mkdirSync(runDir, { recursive: true });
  writeFileSync(log4j, LOG4J);
  const java = ["-cp", classpath, `-Dlog4j.configuration=file:${log4j}`];
  for (const n of specs) {
    const dataDir = path.join(path.dirname(n.props), "data");
    mkdirSync(dataDir, { recursive: true });
    writeFileSync(n.props, properties(n, voters, dataDir, o));
    const fmt = spawnSync("java", [...java, "kafka.tools.StorageTool", "format", "-t", id, "-c", n.props], {
      encoding: "utf8",
    });
    if (fmt.status !== 0) {
      throw new QuantCoreError(
        "internal",
        `kafka storage format (node ${n.nodeId}) failed: ${fmt.stderr.slice(-2000)}`,
      );
    }
  }
  const brokers = specs.map((n) => `127.0.0.1:${n.port}`);
  const nodes: ClusterNode[] = specs.map((n) => ({
    nodeId: n.nodeId,
    port: n.port,
    pid: 0,
    logFile: n.logFile,
    proxied: n.proxied,
  }));
  const launch = (n: NodeSpec): number => {
    const pid = startDaemon("java", brokerJavaArgs(o.heapMb, java, n.props), n.logFile);
    track({ pid, kind: "kafka", match: "kafka.Kafka" });
    return pid;
  };
  const admin = () => new Kafka({ clientId: "quantcore-cluster", brokers, logLevel: logLevel.NOTHING }).admin();
  /** Waits until the cluster metadata lists every node in `want` as a broker. */
  const brokersRegistered = async (want: number[], what: string) => {
    const a = admin();
    try {
      await waitFor(
        async () => {
          await a.connect();
          const { brokers: live } = await a.describeCluster();
          return want.every((id) => live.some((b) => b.nodeId === id));
        },
        what,
        { timeoutMs: o.startTimeoutMs * 2, intervalMs: 500 },
      );
    } finally {
      await a.disconnect().catch(() => {});
    }
  };
  const stopNode = async (node: ClusterNode) => {
    if (node.pid && isAlive(node.pid)) await terminate(node.pid, 15_000);
    if (node.pid) untrack(node.pid);
  };
  let stopped = false;
  const handle: ClusterHandle = {
    brokers,
    nodes,
    async kill(nodeId) {
      const node = nodes.find((n) => n.nodeId === nodeId)!;
      if (!isAlive(node.pid)) return;
      process.kill(node.pid, "SIGKILL");
      await waitFor(async () => !isAlive(node.pid), `kafka node ${nodeId} gone`, { timeoutMs: 10_000 });
      untrack(node.pid);
    },
    async restart(nodeId) {
      const i = nodes.findIndex((n) => n.nodeId === nodeId);
      if (isAlive(nodes[i]!.pid)) throw new QuantCoreError("internal", `kafka node ${nodeId} is still running`);
      nodes[i]!.pid = launch(specs[i]!);
      log.info("kafka node restarted", { nodeId, pid: nodes[i]!.pid });
      await brokersRegistered([nodeId], `kafka node ${nodeId} back in the cluster (log: ${specs[i]!.logFile})`);
    },
    async createTopics(topics) {
      await createReplicatedTopics(brokers, topics, o);
    },
    async stop() {
      if (stopped) return;
      stopped = true;
      await Promise.all(nodes.map(stopNode));
      rmSync(runDir, { recursive: true, force: true });
    },
  };
  try {
    specs.forEach((n, i) => (nodes[i]!.pid = launch(n)));
    await brokersRegistered(
      specs.map((n) => n.nodeId),
      `${o.nodes} Kafka brokers registered (logs: ${specs.map((n) => n.logFile).join(", ")})`,
    );
  } catch (err) {
    await handle.stop();
    throw QuantCoreError.infra("kafka cluster start", err, false);
  }
  return handle;
}
