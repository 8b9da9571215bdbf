// The offline rule with a fake clock: no message of any kind for the threshold = offline.
import assert from "node:assert/strict";
import { test } from "node:test";
import {
  feedState,
  keepaliveHonoursInterval,
  LIVENESS_DEFAULTS as D,
  shouldReconnect,
  type FeedClock,
} from "../src/lib/liveness";
import { PipelineStore } from "../src/store/pipelineStore";

const clock = (c: Partial<FeedClock>): FeedClock => ({
  streamOpen: true,
  lastMessageMs: 0,
  honoursInterval: true,
  ...c,
});

test("a server that honours the interval: live up to the threshold, offline just after", () => {
  const c = clock({ lastMessageMs: 10_000 });
  assert.equal(feedState(c, 10_000), "live");
  assert.equal(feedState(c, 10_000 + D.offlineAfterMs), "live");
  assert.equal(feedState(c, 10_000 + D.offlineAfterMs + 1), "offline");
});

test("a server on its 15 s default keepalive is judged on the longer threshold", () => {
  const c = clock({ lastMessageMs: 0, honoursInterval: false });
  assert.equal(feedState(c, 15_000), "live");
  assert.equal(feedState(c, D.legacyOfflineAfterMs + 1), "offline");
});

test("before any message: connecting while the stream is open, offline when it is not", () => {
  assert.equal(feedState(clock({ lastMessageMs: undefined }), 1e9), "connecting");
  assert.equal(feedState(clock({ lastMessageMs: undefined, streamOpen: false }), 0), "offline");
  assert.equal(feedState(clock({ lastMessageMs: 100, streamOpen: false }), 100), "offline");
});

test("a silent stream is reopened only well after it was declared offline", () => {
  const c = clock({ lastMessageMs: 0 });
  assert.equal(shouldReconnect(c, D.offlineAfterMs + 1), false);
  assert.equal(shouldReconnect(c, D.offlineAfterMs * D.reconnectAfterFactor + 1), true);
  assert.equal(shouldReconnect(clock({ streamOpen: false }), 1e9), false);
});

test("keepalive spacing tells whether the server honours the asked interval", () => {
  assert.equal(keepaliveHonoursInterval(1_050, 1_000), true);
  assert.equal(keepaliveHonoursInterval(15_000, 1_000), false);
});

test("the store: keepalives keep the feed live, silence makes it offline, a message brings it back", () => {
  let now = 1_000_000;
  const store = new PipelineStore(() => now);
  try {
    store.streamOpened();
    assert.equal(store.feedState(), "connecting");
    store.keepalive();
    now += 1_000;
    store.keepalive(); // 1 s after the first: the server honours the interval
    assert.equal(store.clock.honoursInterval, true);
    store.tick();
    assert.equal(store.feedState(), "live");
    now += D.offlineAfterMs + 1;
    store.tick();
    assert.equal(store.feedState(), "offline");
    store.keepalive();
    assert.equal(store.feedState(), "live");
  } finally {
    store.close();
  }
});
