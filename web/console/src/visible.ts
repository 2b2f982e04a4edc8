// Streams only while the tab is seen. The page is served over HTTP/1.1,
// where Chromium gives one host six connections across all the tabs of a
// profile, and each server stream holds one for as long as it is open: two
// tabs left on job pages (three streams each) would take them all, and every
// call after that would wait. So once a tab has been hidden for a few
// seconds its streams close, and each opens again when the tab is seen
// again, from where it stopped (their usual reconnect, without the
// backoff): nothing is missed. A quick look at another tab closes nothing.

/** How long a tab stays hidden before its streams close. */
export const HIDDEN_GRACE_MS = 4000;

const hidden = () => document.visibilityState === "hidden";

/** Resolves at once while the tab is seen; else once it is seen again, or `signal` aborts. */
export function untilVisible(signal: AbortSignal): Promise<void> {
  if (!hidden() || signal.aborted) return Promise.resolve();
  return new Promise((resolve) => {
    const done = () => {
      document.removeEventListener("visibilitychange", seen);
      signal.removeEventListener("abort", done);
      resolve();
    };
    const seen = () => { if (!hidden()) done(); };
    document.addEventListener("visibilitychange", seen);
    signal.addEventListener("abort", done);
  });
}

/**
 * The signal for one stream: aborted with `outer`, or once the tab has been
 * hidden for HIDDEN_GRACE_MS (then `released()` says so: open the stream
 * again from where it stopped after `untilVisible`). Call `end()` once the
 * stream is over.
 */
export function whileVisible(outer: AbortSignal): { signal: AbortSignal; released: () => boolean; end: () => void } {
  const abort = new AbortController();
  let released = false;
  let timer = 0;
  const stop = () => abort.abort();
  const watch = () => {
    window.clearTimeout(timer);
    if (hidden()) timer = window.setTimeout(() => { released = true; abort.abort(); }, HIDDEN_GRACE_MS);
  };
  if (outer.aborted) abort.abort();
  outer.addEventListener("abort", stop);
  document.addEventListener("visibilitychange", watch);
  watch();
  return {
    signal: abort.signal,
    released: () => released && !outer.aborted,
    end: () => {
      window.clearTimeout(timer);
      outer.removeEventListener("abort", stop);
      document.removeEventListener("visibilitychange", watch);
    },
  };
}
