import { Code, ConnectError } from "@connectrpc/connect";

export interface TimeTravelParams {
  /** Ingest receive time to start at, microseconds since the Unix epoch. */
  startTimeUs: number;
  /** 0 = as fast as the client reads; N = N times the recorded pace. */
  replaySpeed: number;
}

/** A start this far ahead of the gateway's clock still counts as "now" (clocks of hosts differ). */
export const FUTURE_TOLERANCE_US = 1_000_000;

/**
 * The time-travel part of a StreamMarketUpdatesRequest: undefined when live (start_time_us 0);
 * INVALID_ARGUMENT for a start that is not finite, negative or in the future, or a replay speed
 * that is negative or not finite. Pure.
 */
export function parseTimeTravel(
  req: { startTimeUs: number; replaySpeed: number },
  nowUs: number,
): TimeTravelParams | undefined {
  const { startTimeUs, replaySpeed } = req;
  if (startTimeUs === 0) return undefined;
  if (!Number.isFinite(startTimeUs) || startTimeUs < 0)
    throw new ConnectError(
      `start_time_us must be 0 (live) or a time in microseconds since the Unix epoch, got ${startTimeUs}`,
      Code.InvalidArgument,
    );
  if (startTimeUs > nowUs + FUTURE_TOLERANCE_US)
    throw new ConnectError(
      `start_time_us ${new Date(startTimeUs / 1000).toISOString()} is in the future (server time ${new Date(nowUs / 1000).toISOString()})`,
      Code.InvalidArgument,
    );
  if (!Number.isFinite(replaySpeed) || replaySpeed < 0)
    throw new ConnectError(
      `replay_speed must be 0 (as fast as you read) or a positive factor, got ${replaySpeed}`,
      Code.InvalidArgument,
    );
  return { startTimeUs, replaySpeed };
}
