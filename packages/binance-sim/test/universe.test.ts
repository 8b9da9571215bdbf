import assert from "node:assert/strict";
import { test } from "node:test";
import { TOP30_USDT as RUNTIME_TOP30 } from "@quantcore/runtime";
import { SYMBOL_SPECS, TOP30_USDT } from "../src/index.js";

test("the simulator's universe is the one list, and every symbol of it has a price spec", () => {
  assert.equal(TOP30_USDT, RUNTIME_TOP30);
  for (const s of TOP30_USDT) assert.ok(SYMBOL_SPECS[s], `${s} has no spec`);
});
