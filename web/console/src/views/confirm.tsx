// A button that asks first: the question (and, for some, a few fields: a
// reason, a priority) and two buttons appear in place, keyboard-reachable,
// with the safe choice focused (or the first field). Escape or "No" puts the
// button back and focus on it; Enter in a field says yes.
import type { ComponentChildren } from "preact";
import { useLayoutEffect, useRef, useState } from "preact/hooks";

export function Confirm(props: {
  label: string; question: string; yes: string; danger?: boolean; disabled?: boolean;
  /** Fields asked with the question; rendered each time it opens (their state is the caller's). */
  fields?: () => ComponentChildren;
  /** Called when the question opens (to reset the fields). */
  onOpen?: () => void;
  onYes: () => Promise<void> | void;
}) {
  const [asking, setAsking] = useState(false);
  const [busy, setBusy] = useState(false);
  const keep = useRef<HTMLButtonElement>(null);
  const opener = useRef<HTMLButtonElement>(null);
  const box = useRef<HTMLFormElement>(null);
  const wasAsking = useRef(false);
  // As the question renders, not a frame later: a late focus could undo a key the person already pressed.
  useLayoutEffect(() => {
    if (asking) {
      const field = box.current?.querySelector<HTMLElement>("input, select, textarea");
      (field ?? keep.current)?.focus();
    } else if (wasAsking.current) {
      opener.current?.focus();
    }
    wasAsking.current = asking;
  }, [asking]);
  if (!asking) {
    return (
      <button type="button" ref={opener} class={props.danger ? "danger" : ""} disabled={props.disabled}
        onClick={() => { props.onOpen?.(); setAsking(true); }}>
        {props.label}
      </button>
    );
  }
  const yes = async (e: Event) => {
    e.preventDefault();
    setBusy(true);
    try { await props.onYes(); } finally { setBusy(false); setAsking(false); }
  };
  return (
    <form class={props.fields ? "confirm with-fields" : "confirm"} role="group" aria-label={props.question} ref={box}
      onSubmit={yes} onKeyDown={(e) => { if (e.key === "Escape" && !busy) { e.preventDefault(); setAsking(false); } }}>
      <span class="question">{props.question}</span>
      {props.fields?.()}
      <span class="buttons">
        <button type="submit" class={props.danger ? "danger" : "primary"} disabled={busy}>{props.yes}</button>
        <button type="button" ref={keep} onClick={() => setAsking(false)}>No</button>
      </span>
    </form>
  );
}
