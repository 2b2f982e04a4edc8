// The shell: sign-in, the header (navigation, who is signed in, the live
// stream's state) and the route's view.
import { useEffect, useLayoutEffect, useRef, useState } from "preact/hooks";
import { session } from "./session";
import { live } from "./live";
import { useRoute, useSignal } from "./hooks";
import { JobsView } from "./views/jobs";
import { JobView } from "./views/job";
import { SubmitView } from "./views/submit";
import { BatchesView } from "./views/batches";
import { AdminView } from "./views/admin";

const subscribeSession = (l: () => void) => session.subscribe(l);
const subscribeStatus = (l: () => void) => live.status.add(l);

export function App() {
  useSignal(subscribeSession);
  const token = session.token();
  useEffect(() => {
    if (!token) return;
    live.start();
    return () => live.stop();
  }, [token]);
  return token ? <Console /> : <SignIn />;
}

function SignIn() {
  const [error, setError] = useState("");
  const submit = (e: Event) => {
    e.preventDefault();
    const field = (e.currentTarget as HTMLFormElement).elements.namedItem("token") as HTMLTextAreaElement;
    setError(session.signIn(field.value));
  };
  const reason = session.reason();
  return (
    <main class="signin">
      <h1>videojobs console</h1>
      {reason && <p class="notice" role="alert">{reason}</p>}
      <form onSubmit={submit}>
        <label for="token">Your token</label>
        <textarea id="token" name="token" rows={4} required autoComplete="off" spellcheck={false}
          aria-describedby="token-help" />
        <p id="token-help" class="help">
          Paste a bearer token (<code>videojobs token --user NAME</code>), or open the link that
          <code> videojobs console</code> prints. It is kept for this tab only.
        </p>
        {error && <p class="error" role="alert">{error}</p>}
        <button type="submit" class="primary">Sign in</button>
      </form>
    </main>
  );
}

const NAV: [string, string][] = [["jobs", "Jobs"], ["submit", "Submit"], ["batches", "Batches"]];

function Console() {
  const route = useRoute();
  useSignal(subscribeStatus);
  const claims = session.claims();
  const admin = session.isAdmin();
  const nav = admin ? [...NAV, ["admin", "Operations"] as [string, string]] : NAV;
  const [page, id] = route;
  // A new view takes the focus (as a page load would), so Tab starts at its top, not at a link that is gone.
  // At once, as the view renders: done after the next frame, it could take the focus back from a control
  // the person had already moved to in the new view (Enter would then press nothing).
  const main = useRef<HTMLElement>(null);
  const shown = useRef("");
  const where = `${page}/${id ?? ""}`;
  useLayoutEffect(() => {
    const inside = main.current?.contains(document.activeElement) && document.activeElement !== main.current;
    if (shown.current && shown.current !== where && !inside) main.current?.focus();
    shown.current = where;
  }, [where]);
  return (
    <>
      <header class="top">
        <a class="brand" href="#/jobs">videojobs</a>
        <nav aria-label="Main">
          {nav.map(([path, label]) => (
            <a href={`#/${path}`} aria-current={page === path ? "page" : undefined}>{label}</a>
          ))}
        </nav>
        <span class={`conn conn-${live.connection}`} role="status" data-testid="connection"
          title={live.connectionDetail}>
          {live.connection === "live" ? "live" : live.connection === "reconnecting" ? "reconnecting…" : "connecting…"}
        </span>
        <span class="who">{claims?.sub}{admin ? " (admin)" : ""}</span>
        <button type="button" class="link" onClick={() => session.signOut()}>Sign out</button>
      </header>
      {live.connection === "reconnecting" && (
        <p class="banner" role="alert">Reconnecting… {live.connectionDetail} Updates resume where they stopped.</p>
      )}
      <main ref={main} tabIndex={-1}>
        {page === "jobs" && id ? <JobView id={id} key={id} /> :
          page === "submit" ? <SubmitView /> :
          page === "batches" ? <BatchesView /> :
          page === "admin" && admin ? <AdminView /> :
          <JobsView />}
      </main>
    </>
  );
}
