import { SharedFrame, SharedUpdate, frameOf, type SharedStatus } from "./encoding.js";

/** A stream's transport, written to by the fan-out without going through the stream's generator. */
export interface DirectSink {
  /** Response headers are out and the transport is below its high-water mark. */
  ready(): boolean;
  /** Response headers are out and the transport still takes writes (maybe over its high-water mark). */
  open(): boolean;
  /** False once the transport is over its high-water mark (the frame is still queued). */
  write(frame: SharedFrame): boolean;
  /** Resolves once the transport is below its high-water mark again, closed, or `signal` aborted. */
  drained(signal: AbortSignal): Promise<void>;
}

/**
 * Live updates from the fan-out written straight to a parked stream's transport: `fresh` (what
 * the stream has not sent yet of `updates`) as one batch frame when allowed (shared by every
 * stream of the same subscription through `batchFrames` when nothing was dropped), else one
 * shared frame each. Returns the messages written, negated when the transport is over its
 * high-water mark.
 */
export function writeLive(
  sink: DirectSink,
  fresh: readonly SharedUpdate[],
  updates: readonly SharedUpdate[],
  allowBatches: boolean,
  subscriptionKey: string,
  batchFrames: Map<string, SharedFrame>,
): number {
  if (allowBatches && fresh.length > 1) {
    let frame = fresh === updates ? batchFrames.get(subscriptionKey) : undefined;
    if (!frame) {
      frame = frameOf(fresh);
      if (fresh === updates) batchFrames.set(subscriptionKey, frame);
    }
    return sink.write(frame) ? 1 : -1;
  }
  let room = true;
  for (const u of fresh) room = sink.write(u.singleFrame()) && room;
  return room ? fresh.length : -fresh.length;
}

/**
 * A stream's backlog (conflated updates and status changes, in arrival order) as ONE frame
 * written straight to its transport: the shared encodings, concatenated (several enveloped
 * messages in a row are a valid gRPC / gRPC-Web / Connect body). It runs in the stream's own
 * loop between two messages it gives connect, so connect is idle and nothing interleaves.
 * A client that fell behind then costs what a live one costs, not a message through connect's
 * per-message path each: under CPU pressure the gateway degrades instead of collapsing.
 * Returns the number of messages written, and records what went out in `sent`.
 */
export function writeBacklog(
  sink: DirectSink,
  events: readonly (SharedUpdate | SharedStatus)[],
  allowBatches: boolean,
  sent: Map<string, bigint>,
): number {
  const parts: Uint8Array[] = [];
  let run: SharedUpdate[] = [];
  const endRun = () => {
    const fresh = run.filter((u) => (sent.get(u.update.symbol) ?? -1n) < u.update.updateId);
    run = [];
    for (const u of fresh) sent.set(u.update.symbol, u.update.updateId);
    if (fresh.length === 0) return;
    if (allowBatches) parts.push(frameOf(fresh).bytes);
    else for (const u of fresh) parts.push(u.singleFrame().bytes);
  };
  for (const e of events) {
    if (e instanceof SharedUpdate) {
      run.push(e);
      continue;
    }
    endRun();
    parts.push(e.singleFrame().bytes);
  }
  endRun();
  if (parts.length === 0) return 0;
  sink.write(parts.length === 1 ? new SharedFrame(parts[0]!) : new SharedFrame(Buffer.concat(parts)));
  return parts.length;
}
