// Small hooks: re-render on a store's signal, the current route, and text
// that depends on the time (relative times), kept true as time passes.
import { useEffect, useLayoutEffect, useReducer, useRef, useState } from "preact/hooks";

/**
 * Re-renders on each signal. Subscribed as the component renders (a layout
 * effect), not after the next frame: a change told in between (the live
 * store applies events once per frame) would be missed, and the component
 * would show what it first read until the next change.
 */
export function useSignal(subscribe: (l: () => void) => () => void): void {
  const [, bump] = useReducer((n: number, _: void) => n + 1, 0);
  useLayoutEffect(() => subscribe(() => bump()), [subscribe]);
}

/** How often text that depends on the time is looked at again. */
export const TICK_MS = 5000;

/**
 * One timer for the whole page, running only while something shows a
 * relative time; each tick every listener recomputes its text, and only
 * those whose text changed re-render (1,000 rows: 1,000 short strings per
 * tick, no timer per row).
 */
class Clock {
  private listeners = new Set<() => void>();
  private timer = 0;
  add(l: () => void): () => void {
    this.listeners.add(l);
    if (!this.timer) this.timer = window.setInterval(() => { for (const each of this.listeners) each(); }, TICK_MS);
    return () => {
      this.listeners.delete(l);
      if (!this.listeners.size) { window.clearInterval(this.timer); this.timer = 0; }
    };
  }
}

const clock = new Clock();

/**
 * `text(now)`, computed again on the page's clock while `ticking`, and
 * re-rendered only when it reads differently.
 */
export function useTimeText(text: (now: number) => string, ticking: boolean): string {
  const [, bump] = useReducer((n: number, _: void) => n + 1, 0);
  const current = text(Date.now());
  const latest = useRef({ text, current });
  latest.current = { text, current };
  useEffect(() => {
    if (!ticking) return;
    return clock.add(() => { if (latest.current.text(Date.now()) !== latest.current.current) bump(); });
  }, [ticking]);
  return current;
}

export function useRoute(): string[] {
  const read = () => (location.hash.replace(/^#\/?/, "") || "jobs").split("/").map(decodeURIComponent);
  const [route, setRoute] = useState(read);
  useEffect(() => {
    const on = () => setRoute(read());
    addEventListener("hashchange", on);
    return () => removeEventListener("hashchange", on);
  }, []);
  return route;
}

export function go(path: string) {
  location.hash = `#/${path}`;
}
