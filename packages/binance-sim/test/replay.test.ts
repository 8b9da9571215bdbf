// Replay behaviour: a recording that cannot be synced is reported, pacing can wait for the
// first subscriber, and the synthetic continuation past a recording's end can be turned off.
import assert from "node:assert/strict";
import { rmSync } from "node:fs";
import path from "node:path";
import { test } from "node:test";
import WebSocket from "ws";
import { waitFor } from "@quantcore/runtime";
import { defaultReplayFiles, startBinanceSim, type ReplayError } from "../src/index.js";
import { cutRecording, isSnapshotLine } from "./recordings.js";

const [btcFile, ethFile] = defaultReplayFiles();

interface Diff {
  U: number;
  u: number;
}

test("a continuation recording without its snapshot is a reported replay error, not a silent buffer", async () => {
  // The BTC file without its REST snapshot line stands for a second-day file replayed alone.
  const continuation = await cutRecording(btcFile!, 3_000, (l) => !isSnapshotLine(l));
  const sim = await startBinanceSim({
    replayFiles: [continuation, ethFile!],
    speed: Infinity,
    replaySnapshotWindowMs: 5_000,
    syntheticContinuation: false,
  });
  const events: ReplayError[] = [];
  sim.on("replayError", (e: ReplayError) => events.push(e));
  try {
    const errors = await waitFor(
      () => sim.stats().replayErrors.length > 0 && sim.stats().replayErrors,
      "a replay error",
      {
        timeoutMs: 60_000,
      },
    );
    assert.equal(errors.length, 1);
    assert.equal(errors[0]!.file, continuation);
    assert.equal(errors[0]!.symbol, "BTCUSDT");
    assert.match(errors[0]!.reason, /no depth snapshot line within the first 5000 ms/);
    await waitFor(() => events.length === 1, "the replayError event");
    const res = await fetch(`${sim.restUrl}/api/v3/depth?symbol=BTCUSDT`);
    assert.equal(res.status, 400);
    assert.deepEqual(await res.json(), { code: -1121, msg: "Invalid symbol." });
    assert.match(res.headers.get("x-qc-sim-error") ?? "", /spot_btcusdt_20240808\.gz: BTCUSDT cannot be synced/);
    const status = (await (await fetch(`${sim.restUrl}/sim/status`)).json()) as { replayErrors: ReplayError[] };
    assert.deepEqual(status.replayErrors, errors);
    // The other recording is unaffected.
    assert.equal((await fetch(`${sim.restUrl}/api/v3/depth?symbol=ETHUSDT`)).status, 200);
  } finally {
    await sim.close();
    rmSync(path.dirname(continuation), { recursive: true, force: true });
  }
});

test('startReplayOn "firstSubscribe": snapshots are served at once, diffs start with the first subscriber', async () => {
  const sim = await startBinanceSim({ replayFiles: [ethFile!], speed: 5, startReplayOn: "firstSubscribe" });
  try {
    const snapRes = await waitFor(
      async () => {
        const r = await fetch(`${sim.restUrl}/api/v3/depth?symbol=ETHUSDT&limit=1000`);
        return r.status === 200 && r;
      },
      "the ETHUSDT snapshot before any subscriber",
      { timeoutMs: 30_000 },
    );
    const snap = (await snapRes.json()) as { lastUpdateId: number };
    // Nothing subscribed yet: whatever the wait, the replay has not moved.
    await new Promise((r) => setTimeout(r, 1_500));
    assert.equal(sim.stats().replayStarted, false);
    assert.equal(sim.stats().depthEvents, 0);
    const again = (await (await fetch(`${sim.restUrl}/api/v3/depth?symbol=ETHUSDT&limit=1000`)).json()) as {
      lastUpdateId: number;
    };
    assert.equal(again.lastUpdateId, snap.lastUpdateId);

    const ws = new WebSocket(`${sim.wsUrl}/ws`);
    const frames: string[] = [];
    ws.on("message", (d) => frames.push(d.toString()));
    await new Promise((resolve, reject) => ws.on("open", resolve).on("error", reject));
    ws.send(JSON.stringify({ method: "SUBSCRIBE", params: ["ethusdt@depth@100ms"], id: 1 }));
    await waitFor(() => frames.length >= 20, "diffs after the subscription", { timeoutMs: 60_000 });
    ws.terminate();
    assert.equal(frames[0], '{"result":null,"id":1}');
    const diffs = frames.slice(1).map((f) => JSON.parse(f) as Diff);
    assert.ok(diffs[0]!.U <= snap.lastUpdateId + 1 && diffs[0]!.u > snap.lastUpdateId, "the first diff bridges");
    for (let i = 1; i < diffs.length; i++) assert.equal(diffs[i]!.U, diffs[i - 1]!.u + 1);
    assert.equal(sim.stats().replayStarted, true);
  } finally {
    await sim.close();
  }
});

test("syntheticContinuation: false ends a replayed symbol with its recording; true carries it on", async () => {
  const short = await cutRecording(ethFile!, 400);
  for (const syntheticContinuation of [false, true]) {
    const sim = await startBinanceSim({ replayFiles: [short], speed: Infinity, syntheticContinuation });
    try {
      await waitFor(() => sim.stats().replayDone, "the end of the recording", { timeoutMs: 60_000 });
      const atEnd = sim.stats().depthEvents;
      assert.ok(atEnd > 10, `${atEnd} recorded diffs replayed`);
      if (syntheticContinuation) {
        await waitFor(() => sim.stats().depthEvents >= atEnd + 5, "synthetic diffs past the end");
      } else {
        // The synthetic clock ticks every 100 ms: 2 s is twenty chances to add a diff.
        await new Promise((r) => setTimeout(r, 2_000));
        assert.equal(sim.stats().depthEvents, atEnd);
      }
    } finally {
      await sim.close();
    }
  }
  rmSync(path.dirname(short), { recursive: true, force: true });
});
