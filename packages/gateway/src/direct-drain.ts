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

/** One flush's frames for one subscription, shared by every stream of it that drops nothing. */
export interface TickFrames {
  /** All the updates as one batch message. */
  batch?: SharedFrame;
  /** All the updates as consecutive single-update messages, in one buffer. */
  run?: SharedFrame;
}

/**
 * Live updates from the fan-out written straight to a parked stream's transport, in ONE write
 * (one syscall on an HTTP/1.1 socket): `fresh` (what the stream has not sent yet of `updates`)
 * as one batch message when allowed, else as consecutive single-update messages. When nothing
 * was dropped the frame is shared through `frames` by every stream of the subscription.
 * Returns the messages written, negated when the transport is over its high-water mark.
 */
export function writeLive(
  sink: DirectSink,
  fresh: readonly SharedUpdate[],
  updates: readonly SharedUpdate[],
  allowBatches: boolean,
  frames: TickFrames,
): number {
  const messages = allowBatches ? 1 : fresh.length;
  let frame: SharedFrame | undefined;
  if (fresh.length === 1) frame = fresh[0]!.singleFrame();
  else if (fresh !== updates) frame = allowBatches ? frameOf(fresh) : runOf(fresh);
  else if (allowBatches) frame = frames.batch ??= frameOf(fresh);
  else frame = frames.run ??= runOf(fresh);
  return sink.write(frame) ? messages : -messages;
}

/** Several single-update messages back to back: a valid body for every enveloped protocol. */
function runOf(updates: readonly SharedUpdate[]): SharedFrame {
  return new SharedFrame(Buffer.concat(updates.map((u) => u.singleFrame().bytes)));
}

/** Statuses written straight to a stream's transport in ONE write (their shared frames back to back). */
export function writeStatuses(sink: DirectSink, statuses: readonly SharedStatus[]): void {
  if (statuses.length === 1) sink.write(statuses[0]!.singleFrame());
  else sink.write(new SharedFrame(Buffer.concat(statuses.map((s) => s.singleFrame().bytes))));
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
    const fresh = run.filter((u) => (sent.get(u.update.symbol) ?? -1n) < u.position);
    run = [];
    for (const u of fresh) sent.set(u.update.symbol, u.position);
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
