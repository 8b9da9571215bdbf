"use client";
import { useEffect, useRef, useState, useSyncExternalStore } from "react";
import type { Notifier, Topic } from "./notify";

/**
 * Re-renders the caller when the topic notifies (at most at the topic's budget); returns the
 * topic's version and the wall clock of that notification (the render's "now").
 */
export function useTopic(store: { notifier: Notifier }, topic: Topic): { version: number; nowMs: number } {
  const version = useSyncExternalStore(
    (cb) => store.notifier.subscribe(topic, cb),
    () => store.notifier.version(topic),
    () => 0,
  );
  return { version, nowMs: store.notifier.stamp(topic) };
}

/** Width of an element, following resizes (charts draw at their real size). */
export function useWidth<T extends HTMLElement>(fallback: number): [React.RefObject<T | null>, number] {
  const ref = useRef<T>(null);
  const [width, setWidth] = useState(fallback);
  useEffect(() => {
    const el = ref.current;
    if (!el) return;
    const ro = new ResizeObserver((entries) => {
      const w = Math.floor(entries[0]?.contentRect.width ?? fallback);
      if (w > 0) setWidth(w);
    });
    ro.observe(el);
    return () => ro.disconnect();
  }, [fallback]);
  return [ref, width];
}
