import { DEFAULT_COMPUTE_OPTIONS, createComputeService } from "@quantcore/compute";
import { EnvReader, createLogger, stopOnSignals } from "@quantcore/runtime";

const log = createLogger("app.compute");
const env = new EnvReader();
const options = {
  kafkaBrokers: env.list("KAFKA_BROKERS", DEFAULT_COMPUTE_OPTIONS.kafkaBrokers),
  kafkaTopic: env.string("KAFKA_TOPIC", DEFAULT_COMPUTE_OPTIONS.kafkaTopic),
  groupId: env.string("KAFKA_GROUP_ID", DEFAULT_COMPUTE_OPTIONS.groupId),
  fromBeginning:
    env.oneOf(
      "FROM_BEGINNING",
      ["true", "false"] as const,
      String(DEFAULT_COMPUTE_OPTIONS.fromBeginning) as "true" | "false",
    ) === "true",
  redisUrl: env.string("REDIS_URL", DEFAULT_COMPUTE_OPTIONS.redisUrl),
  redisNamespace: env.string("REDIS_NAMESPACE", DEFAULT_COMPUTE_OPTIONS.redisNamespace),
};
env.done();

const service = createComputeService(options);
await service.start();
log.info("compute started", { groupId: options.groupId, topic: options.kafkaTopic });

const statsTimer = setInterval(() => log.info("stats", { ...service.stats() }), 10_000);
statsTimer.unref();
stopOnSignals(() => service.stop(), log);
