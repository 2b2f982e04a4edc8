// A button that asks first: the question and two buttons appear in place,
// keyboard-reachable, with the safe choice focused.
import { useEffect, useRef, useState } from "preact/hooks";

export function Confirm(props: { label: string; question: string; yes: string; danger?: boolean; disabled?: boolean; onYes: () => Promise<void> | void }) {
  const [asking, setAsking] = useState(false);
  const [busy, setBusy] = useState(false);
  const keep = useRef<HTMLButtonElement>(null);
  useEffect(() => { if (asking) keep.current?.focus(); }, [asking]);
  if (!asking) {
    return <button type="button" class={props.danger ? "danger" : ""} disabled={props.disabled} onClick={() => setAsking(true)}>{props.label}</button>;
  }
  return (
    <span class="confirm" role="group" aria-label={props.question}>
      <span>{props.question}</span>
      <button type="button" class={props.danger ? "danger" : "primary"} disabled={busy}
        onClick={async () => { setBusy(true); try { await props.onYes(); } finally { setBusy(false); setAsking(false); } }}>
        {props.yes}
      </button>
      <button type="button" ref={keep} onClick={() => setAsking(false)}>No</button>
    </span>
  );
}
