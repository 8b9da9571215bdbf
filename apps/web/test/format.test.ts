import assert from "node:assert/strict";
import { test } from "node:test";
import { fixed, priceDecimals, utcTime } from "../src/lib/format";
import { obiRgb } from "../src/lib/colour";

test("fixed precision never prints -0", () => {
  assert.equal(fixed(-0.0001, 3), "0.000");
  assert.equal(fixed(-0, 3), "0.000");
  assert.equal(fixed(-0.0006, 3), "-0.001");
  assert.equal(fixed(undefined, 3), "—");
  assert.equal(fixed(NaN, 3), "—");
});

test("price precision from exchange prices", () => {
  assert.equal(priceDecimals(61837.63), 2);
  assert.equal(priceDecimals(0.3012), 4);
  assert.equal(priceDecimals(100), 0);
});

test("times are HH:MM:SS in UTC", () => {
  assert.equal(utcTime(Date.UTC(2024, 0, 1, 13, 4, 5)), "13:04:05");
});

// Viénot, Brettel & Mollon (1999) deuteranopia simulation in linear RGB.
const lin = (c: number) => ((c /= 255) <= 0.04045 ? c / 12.92 : ((c + 0.055) / 1.055) ** 2.4);
function deuteranope([r, g, b]: readonly [number, number, number]): [number, number, number] {
  const [R, G, B] = [lin(r), lin(g), lin(b)];
  return [0.29275 * R + 0.70725 * G, 0.29275 * R + 0.70725 * G, -0.02234 * R + 0.02234 * G + B];
}
const dist = (a: number[], b: number[]) => Math.hypot(a[0]! - b[0]!, a[1]! - b[1]!, a[2]! - b[2]!);

test("the OBI scale keeps buy and sell apart for a deuteranope (red/green would not)", () => {
  for (const v of [0.25, 0.5, 1]) {
    const d = dist(deuteranope(obiRgb(v)), deuteranope(obiRgb(-v)));
    assert.ok(d > 0.15, `|OBI| ${v}: simulated distance ${d.toFixed(3)}`);
  }
  // The old scale's ends, for contrast: nearly the same olive.
  const red = deuteranope([248, 81, 73]);
  const green = deuteranope([46, 160, 67]);
  assert.ok(dist(red, green) < 0.15, "sanity: red/green collapse under the simulation");
});
