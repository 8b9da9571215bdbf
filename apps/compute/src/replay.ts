// Kappa reprocessing: replays the topic from offset 0 under a new consumer group into a separate
// Redis namespace and reports whether the result equals the live state. Exit 0 = equal.
import { DEFAULT_COMPUTE_OPTIONS, replayAndCompare } from "@quantcore/compute";
import { EnvReader } from "@quantcore/runtime";

const env = new EnvReader();
const options = {
  kafkaBrokers: env.list("KAFKA_BROKERS", DEFAULT_COMPUTE_OPTIONS.kafkaBrokers),
  kafkaTopic: env.string("KAFKA_TOPIC", DEFAULT_COMPUTE_OPTIONS.kafkaTopic),
  redisUrl: env.string("REDIS_URL", DEFAULT_COMPUTE_OPTIONS.redisUrl),
  liveNamespace: env.string("REDIS_NAMESPACE", DEFAULT_COMPUTE_OPTIONS.redisNamespace),
  timeoutMs: env.int("REPLAY_TIMEOUT_MS", 600_000, { min: 1000 }),
};
env.done();

const report = await replayAndCompare(options);
console.log(JSON.stringify(report, null, 2));
process.exit(report.equal ? 0 : 1);
