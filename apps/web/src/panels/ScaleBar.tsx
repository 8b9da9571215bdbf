// The heatmap's colour key: the diverging scale with numeric ticks, and the two hatches.
import { NO_DATA_CSS, obiColour, STALE_CSS } from "../lib/colour";

const TICKS = [-1, -0.5, 0, 0.5, 1];
const GRADIENT = `linear-gradient(to right, ${Array.from({ length: 11 }, (_, i) => obiColour(i / 5 - 1)).join(", ")})`;

export function ScaleBar() {
  return (
    <div className="scale" data-testid="scale-bar">
      <div className="scale-bar-wrap">
        <div className="scale-captions">
          <span>← sell pressure (asks heavier)</span>
          <span>buy pressure (bids heavier) →</span>
        </div>
        <div className="scale-bar" style={{ background: GRADIENT }} aria-hidden="true" />
        <div className="scale-ticks" aria-hidden="true">
          {TICKS.map((t) => (
            <span key={t} style={{ left: `${((t + 1) / 2) * 100}%` }}>
              {t > 0 ? `+${t}` : String(t)}
            </span>
          ))}
        </div>
        <span className="sr-only">
          OBI colour scale from -1 (orange, sell pressure) through 0 to +1 (blue, buy pressure).
        </span>
      </div>
      <span className="key">
        <span className="swatch" style={{ background: NO_DATA_CSS }} aria-hidden="true" /> no data
      </span>
      <span className="key">
        <span className="swatch" style={{ background: `${STALE_CSS}, ${obiColour(0.6)}` }} aria-hidden="true" /> stale
        (last known values)
      </span>
    </div>
  );
}
