/**
 * Wall-clock microseconds since the Unix epoch. performance.timeOrigin + now() gives
 * sub-millisecond resolution while staying comparable across processes on one host.
 */
export function nowUs(): number {
  return Math.round((performance.timeOrigin + performance.now()) * 1000);
}
