import { SharedFrame, SharedUpdate, frameOf, type SharedStatus } from "./encoding.js";
import type { DirectSink } from "./mailbox.js";

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
