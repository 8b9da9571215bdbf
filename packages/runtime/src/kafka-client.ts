// The one way our processes build a kafkajs client: Nagle off (noDelaySocketFactory) and
// kafkajs's idle request-queue timer loop switched off.
//
// kafkajs 2.2.4 (its last release) re-arms a timer in every connection's request queue each
// time it checks for pending requests, whether or not any are pending; with no throttle in
// force the delay is negative, so node fires it after 1 ms: every broker connection of every
// process spins a 1 kHz timer for as long as it lives (tulios/kafkajs#1556, #1704; the fix,
// #1667, is unreleased). Measured in the deployed topology at 300 updates/s, it was a third of
// ingest's and compute's CPU. The fix keeps every path that matters: a request that has to
// wait (in-flight limit, broker throttle) is pushed to `pending` and schedules its own check;
// a completed request checks the queue at once; only the check with nothing pending is not
// re-armed.
import { createRequire } from "node:module";
import { Kafka, type KafkaConfig } from "kafkajs";
import { noDelaySocketFactory } from "./sockets.js";

interface RequestQueueLike {
  pending: unknown[];
  scheduleCheckPendingRequests(): void;
}

let fixed: boolean | undefined;

/**
 * Stops kafkajs's idle 1 ms timer loop (once per process; later calls are no-ops). Returns
 * false, changing nothing, when kafkajs's request queue is not the shape this fix knows.
 */
export function fixKafkajsIdleTimer(): boolean {
  if (fixed !== undefined) return fixed;
  const require = createRequire(import.meta.url);
  const proto = (
    require("kafkajs/src/network/requestQueue/index.js") as { prototype?: Partial<RequestQueueLike> } | undefined
  )?.prototype;
  const original = proto?.scheduleCheckPendingRequests;
  if (!proto || typeof original !== "function") return (fixed = false);
  proto.scheduleCheckPendingRequests = function (this: RequestQueueLike) {
    if (this.pending.length === 0) return;
    original.call(this);
  };
  return (fixed = true);
}

/** A kafkajs client with our socket factory (overridable) and the idle-timer fix applied. */
export function createKafka(config: KafkaConfig): Kafka {
  fixKafkajsIdleTimer();
  return new Kafka({ socketFactory: noDelaySocketFactory, ...config });
}
