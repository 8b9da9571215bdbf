import {
  QuantCoreError,
  TIME_TRAVEL_ENTRY_TYPES,
  parseJson,
  timeTravelEndSchema,
  timeTravelRejectedSchema,
  type TimeTravelEnd,
  type TimeTravelRejected,
} from "@quantcore/runtime";

export type SessionEntry =
  | { type: "accepted" }
  | { type: "tick" }
  /** The MarketUpdate's bytes as the worker wrote them (client-ready; relay.ts stamps and frames them). */
  | { type: "update"; bytes: Buffer }
  /** Several, as a MarketUpdateBatch's bytes (relay.ts splits them). */
  | { type: "updates"; bytes: Buffer }
  | { type: "rejected"; rejected: TimeTravelRejected }
  | { type: "end"; end: TimeTravelEnd };

/**
 * One entry of a session stream (fields as XREAD returns them: name, value, ...), checked
 * against the protocol: a malformed entry is an internal error naming what was wrong.
 */
export function parseSessionEntry(fields: Buffer[], source: string): SessionEntry {
  const map = new Map<string, Buffer>();
  for (let i = 0; i + 1 < fields.length; i += 2) map.set(fields[i]!.toString(), fields[i + 1]!);
  const type = map.get("t")?.toString();
  const data = map.get("d");
  if (!type || !(TIME_TRAVEL_ENTRY_TYPES as readonly string[]).includes(type))
    throw new QuantCoreError("internal", `${source}: unknown entry type ${JSON.stringify(type)}`);
  if (type === "accepted" || type === "tick") return { type };
  if (!data) throw new QuantCoreError("internal", `${source}: ${type} entry without data`);
  switch (type) {
    case "update":
    case "updates":
      return { type, bytes: data };
    case "rejected":
      return { type, rejected: parseJson(timeTravelRejectedSchema, data.toString(), source) };
    default:
      return { type: "end", end: parseJson(timeTravelEndSchema, data.toString(), source) };
  }
}
