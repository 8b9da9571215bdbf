// What a burst after silence costs on this machine, with no Kafka in the way: the same fixed
// piece of JS work (copy and scan 30 records of 800 bytes, about what a producer does to one
// burst) and a TCP round trip to another process, each run after a gap of G ms of idleness.
// On a quiet VM the CPU caches, branch predictors and clocks go cold between bursts, and a
// halted vCPU must be woken: the pipeline at 300 updates/s (one burst per 100 ms) pays this at
// every hop, which is why its Kafka floor in that shape sits far above the steady-trickle one.
//   npm run idle-wake -w @quantcore/bench   [IDLE_GAPS_MS=0,1,10,100] [IDLE_SAMPLES=200]
import { fork, type ChildProcess } from "node:child_process";
import net from "node:net";
import { fileURLToPath } from "node:url";
import { EnvReader, sleep } from "@quantcore/runtime";
import { summarize, writeResults, type Summary } from "./report.js";

if (process.argv[2] === "echo") {
  const server = net.createServer((s) => {
    s.setNoDelay(true);
    s.on("data", (d) => s.write(d));
  });
  server.listen(0, "127.0.0.1", () => process.send?.((server.address() as net.AddressInfo).port));
} else {
  const env = new EnvReader();
  const gapsMs = env.list("IDLE_GAPS_MS", ["0", "1", "10", "100"]).map(Number);
  const samples = env.int("IDLE_SAMPLES", 200, { min: 10 });
  env.done();

  const records = Array.from({ length: 30 }, (_, i) => Buffer.alloc(800, i));
  /** A fixed piece of work: copy each record behind a header and checksum it. */
  const work = (): number => {
    let h = 0;
    for (const r of records) {
      const out = Buffer.allocUnsafe(r.length + 20);
      r.copy(out, 20);
      for (let i = 0; i < out.length; i += 4) h = (h * 31 + out[i]!) | 0;
    }
    return h;
  };
  for (let i = 0; i < 5_000; i++) work(); // optimised before anything is timed

  const echo: ChildProcess = fork(fileURLToPath(import.meta.url), ["echo"], { execArgv: process.execArgv });
  const port = await new Promise<number>((resolve) => echo.once("message", (p) => resolve(p as number)));
  const socket = net.connect({ port, host: "127.0.0.1", noDelay: true });
  await new Promise((resolve) => socket.once("connect", resolve));
  const roundTrip = () =>
    new Promise<number>((resolve) => {
      const t0 = process.hrtime.bigint();
      socket.once("data", () => resolve(Number(process.hrtime.bigint() - t0) / 1e3));
      socket.write("x");
    });

  const rows: Record<string, Summary> = {};
  const ratios: Record<string, { work: number; roundTrip: number }> = {};
  for (const gap of gapsMs) {
    const w: number[] = [];
    const rt: number[] = [];
    for (let i = 0; i < samples; i++) {
      if (gap > 0) await sleep(gap);
      else await new Promise((r) => setImmediate(r));
      const t0 = process.hrtime.bigint();
      work();
      w.push(Number(process.hrtime.bigint() - t0) / 1e3);
      if (gap > 0) await sleep(gap);
      rt.push(await roundTrip());
    }
    rows[`fixed JS work after ${gap} ms idle`] = summarize(w);
    rows[`TCP round trip to another process after ${gap} ms idle`] = summarize(rt);
  }
  const base = gapsMs[0]!;
  for (const gap of gapsMs) {
    ratios[`${gap} ms`] = {
      work:
        Math.round(
          (100 * rows[`fixed JS work after ${gap} ms idle`]!.p50) / rows[`fixed JS work after ${base} ms idle`]!.p50,
        ) / 100,
      roundTrip:
        Math.round(
          (100 * rows[`TCP round trip to another process after ${gap} ms idle`]!.p50) /
            rows[`TCP round trip to another process after ${base} ms idle`]!.p50,
        ) / 100,
    };
  }
  socket.destroy();
  echo.kill();
  writeResults(
    "idle-wake",
    {
      command: "npm run idle-wake -w @quantcore/bench",
      what: "the same fixed JS work, and a loopback TCP round trip to another process, after G ms of idleness",
      samplesPerGap: samples,
      [`p50 as a multiple of the ${base} ms gap's`]: ratios,
      date: new Date().toISOString(),
    },
    rows,
    "µs",
  );
  process.exit(0);
}
