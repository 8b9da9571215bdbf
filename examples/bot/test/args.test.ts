import assert from "node:assert/strict";
import { test } from "node:test";
import { QuantCoreError } from "@quantcore/runtime";
import { parseBotArgs, parseFrom } from "../src/args.js";

const NOW_MS = Date.parse("2026-11-30T15:00:00Z");

test("--from takes an ISO time or a duration back from now", () => {
  assert.equal(parseFrom("-1h", NOW_MS), NOW_MS - 3_600_000);
  assert.equal(parseFrom("-15m", NOW_MS), NOW_MS - 900_000);
  assert.equal(parseFrom("-90s", NOW_MS), NOW_MS - 90_000);
  assert.equal(parseFrom("-2d", NOW_MS), NOW_MS - 172_800_000);
  assert.equal(parseFrom("2026-11-30T14:00:00Z", NOW_MS), Date.parse("2026-11-30T14:00:00Z"));
  assert.deepEqual(parseBotArgs(["--from", "-1h", "--speed", "10"], NOW_MS), {
    startTimeUs: (NOW_MS - 3_600_000) * 1000,
    replaySpeed: 10,
  });
  assert.deepEqual(parseBotArgs(["--from=-15m"], NOW_MS), { startTimeUs: (NOW_MS - 900_000) * 1000, replaySpeed: 0 });
  assert.deepEqual(parseBotArgs([], NOW_MS), { startTimeUs: 0, replaySpeed: 0 });
});

test("bad arguments are errors naming the argument", () => {
  const bad = (argv: string[], text: RegExp) =>
    assert.throws(
      () => parseBotArgs(argv, NOW_MS),
      (err: unknown) => err instanceof QuantCoreError && text.test(err.message),
    );
  bad(["--from", "yesterday"], /--from: expected an ISO time/);
  bad(["--from", "2026-13-45T99:00:00Z"], /--from: not a valid time/);
  bad(["--from"], /--from: missing value/);
  bad(["--from", "-1h", "--speed", "-2"], /--speed/);
  bad(["--from", "-1h", "--speed", "fast"], /--speed/);
  bad(["--speed", "2"], /--speed needs --from/);
  bad(["--frm", "-1h"], /unknown argument "--frm"/);
});
