"use client";
// Operator actions: each confirmed first, its progress shown on the affected row and announced
// to screen readers (aria-live).
import { useState } from "react";
import { ConnectError, type Transport } from "@connectrpc/connect";
import { controlClient } from "../store/feed";
import type { PipelineStore } from "../store/pipelineStore";
import { useTopic } from "../store/useStore";

/** How long a resync may take before its row says so. */
export const RESYNC_DEADLINE_MS = 30_000;

export function Actions(props: {
  store: PipelineStore;
  transport: Transport;
  token: string;
  selected: string | undefined;
}) {
  const { store, transport, token, selected } = props;
  useTopic(store, "status");
  const [confirm, setConfirm] = useState<"resync" | "replay" | undefined>();
  const [replayNote, setReplayNote] = useState("");
  const opts = { headers: { authorization: `Bearer ${token}` } };
  const reason = (err: unknown) => ConnectError.from(err).rawMessage;

  const resync = async (symbol: string) => {
    const s = store.symbols.get(symbol);
    if (!s) return;
    const fromEpoch = s.latest.bookEpoch;
    store.setAction(s, { kind: "resync", phase: "sending", text: "resync requested…", fromEpoch, atMs: Date.now() });
    try {
      await controlClient(transport).forceResync({ symbol }, opts);
    } catch (err) {
      store.setAction(s, {
        kind: "resync",
        phase: "failed",
        text: `resync refused: ${reason(err)}`,
        fromEpoch,
        atMs: Date.now(),
      });
      return;
    }
    if (fromEpoch === 0n) {
      // The pipeline reports no book epochs: the rebuild itself cannot be seen from here.
      store.setAction(s, {
        kind: "resync",
        phase: "done",
        text: "resync accepted by ingest",
        fromEpoch,
        atMs: Date.now(),
      });
      return;
    }
    store.setAction(s, {
      kind: "resync",
      phase: "waiting",
      text: "resync accepted; rebuilding the book…",
      fromEpoch,
      atMs: Date.now(),
    });
    setTimeout(() => {
      if (s.action?.phase === "waiting" && s.action.fromEpoch === fromEpoch)
        store.setAction(s, {
          ...s.action,
          phase: "failed",
          text: "resync: no rebuilt book within 30 s",
          atMs: Date.now(),
        });
    }, RESYNC_DEADLINE_MS);
  };

  const replay = async () => {
    setReplayNote("starting a replay…");
    try {
      const r = await controlClient(transport).startReplay({}, opts);
      setReplayNote(`replay ${r.job?.id ?? ""} started; progress in the shards panel`);
    } catch (err) {
      setReplayNote(`replay refused: ${reason(err)}`);
    }
  };

  const action = selected ? store.symbols.get(selected)?.action : undefined;
  return (
    <section className="actions" aria-label="Operator actions">
      {confirm === undefined ? (
        <>
          <button type="button" data-testid="replay" disabled={!token} onClick={() => setConfirm("replay")}>
            Start replay…
          </button>
          <button
            type="button"
            data-testid="resync"
            disabled={!token || !selected}
            onClick={() => setConfirm("resync")}
          >
            Resync {selected ?? "(select a symbol)"}…
          </button>
        </>
      ) : (
        <span className="confirm" role="group" aria-label="Confirm the action">
          {confirm === "resync"
            ? `Rebuild ${selected}'s book from a fresh snapshot?`
            : "Start a Kappa replay from offset 0?"}{" "}
          <button
            type="button"
            data-testid="confirm"
            onClick={() => {
              setConfirm(undefined);
              if (confirm === "resync" && selected) void resync(selected);
              else if (confirm === "replay") void replay();
            }}
          >
            Confirm
          </button>{" "}
          <button type="button" onClick={() => setConfirm(undefined)}>
            Cancel
          </button>
        </span>
      )}
      {action && (
        <span className={`progress ${action.phase}`} data-testid="action-progress" data-phase={action.phase}>
          {selected}: {action.text}
        </span>
      )}
      {replayNote && <span className="progress">{replayNote}</span>}
      <p className="sr-only" aria-live="polite" data-testid="feedback">
        {store.announcement}
      </p>
    </section>
  );
}
