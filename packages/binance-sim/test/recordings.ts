// Test recordings cut from the shared files: a prefix, optionally without its snapshot line.
import { createReadStream, mkdtempSync, writeFileSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { createInterface } from "node:readline";
import { createGunzip, gzipSync } from "node:zlib";

/** The first `lines` lines of `src` (a gzipped hftbacktest file), filtered, as a new gz file. */
export async function cutRecording(
  src: string,
  lines: number,
  keep: (line: string) => boolean = () => true,
): Promise<string> {
  const raw = createReadStream(src);
  const rl = createInterface({ input: raw.pipe(createGunzip()), crlfDelay: Infinity });
  const out: string[] = [];
  let n = 0;
  for await (const line of rl) {
    if (n++ >= lines) break;
    if (keep(line)) out.push(line);
  }
  rl.close();
  raw.destroy();
  const file = path.join(mkdtempSync(path.join(os.tmpdir(), "qc-sim-")), path.basename(src));
  writeFileSync(file, gzipSync(out.join("\n") + "\n"));
  return file;
}

export const isSnapshotLine = (line: string) => line.includes(' {"lastUpdateId"');
