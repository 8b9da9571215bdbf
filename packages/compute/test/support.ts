import { create, toBinary } from "@bufbuild/protobuf";
import { Kafka, logLevel, type Producer } from "kafkajs";
import { BookUpdateKind, BookUpdateSchema, LevelSchema } from "@quantcore/proto";
import { nowUs } from "@quantcore/runtime";

export const kafkaOf = (brokers: string[]) =>
  new Kafka({ clientId: "compute-test", brokers, logLevel: logLevel.NOTHING });

/** A plausible book record: `id` drives prices so every update differs. */
export function bookRecord(symbol: string, id: number, kind = BookUpdateKind.UPDATE): Buffer {
  const mid = 100 + (id % 17) * 0.25;
  const lv = (p: number, q: number) => create(LevelSchema, { price: p, quantity: q });
  const rec = create(BookUpdateSchema, {
    symbol,
    kind,
    updateId: BigInt(id),
    firstUpdateId: BigInt(id),
    exchangeEventTimeMs: 1_700_000_000_000 + id * 10,
    ingestReceiveTimeUs: nowUs(),
    ingestProduceTimeUs: nowUs(),
    bids: Array.from({ length: 20 }, (_, i) => lv(mid - 0.01 * (i + 1), 1 + ((id * 7 + i) % 13))),
    asks: Array.from({ length: 20 }, (_, i) => lv(mid + 0.01 * (i + 1), 1 + ((id * 5 + i) % 11))),
  });
  return Buffer.from(toBinary(BookUpdateSchema, rec));
}

/** Produces `perSymbol` increasing ids per symbol starting after `fromId`, one partition per symbol. */
export async function produceRounds(
  producer: Producer,
  topic: string,
  symbols: string[],
  fromId: number,
  perSymbol: number,
): Promise<number> {
  let id = fromId;
  for (let r = 0; r < perSymbol; r++) {
    id++;
    await producer.send({
      topic,
      acks: -1,
      messages: symbols.map((s, i) => ({ key: s, partition: i % 30, value: bookRecord(s, id) })),
    });
  }
  return id;
}
