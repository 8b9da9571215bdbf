import { createReadStream } from "node:fs";
import { createInterface } from "node:readline";
import { createGunzip } from "node:zlib";

export interface RecordedLine {
  /** Recorder's local receive time, nanoseconds (as a double: plenty for scheduling). */
  localNs: number;
  /** The exact JSON text received from Binance. */
  json: string;
  file: number;
}

async function* readFile(path: string, file: number): AsyncGenerator<RecordedLine> {
  const rl = createInterface({ input: createReadStream(path).pipe(createGunzip()), crlfDelay: Infinity });
  for await (const line of rl) {
    const sp = line.indexOf(" ");
    if (sp <= 0) continue;
    yield { localNs: Number(line.slice(0, sp)), json: line.slice(sp + 1), file };
  }
}

/** Merges several hftbacktest recordings by local timestamp into one timeline. */
export async function* mergeRecordings(paths: string[]): AsyncGenerator<RecordedLine> {
  const its = paths.map((p, i) => readFile(p, i));
  const heads = await Promise.all(its.map((it) => it.next()));
  for (;;) {
    let best = -1;
    for (let i = 0; i < heads.length; i++) {
      const h = heads[i]!;
      if (!h.done && (best < 0 || h.value.localNs < (heads[best]!.value as RecordedLine).localNs)) best = i;
    }
    if (best < 0) return;
    const v = heads[best]!.value as RecordedLine;
    heads[best] = await its[best]!.next();
    yield v;
  }
}

/** The `data` object's text inside a combined frame, without re-serialising it. */
export function dataText(combined: string): string {
  const i = combined.indexOf('"data":');
  return i < 0 ? combined : combined.slice(i + 7, combined.lastIndexOf("}"));
}
