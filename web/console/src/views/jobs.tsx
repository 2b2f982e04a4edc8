// The jobs list: live from the one WatchJobs stream, filtered by state, batch
// and text (asked of the server, with its page tokens, and applied to live
// events as they come), one keyed row per job that re-renders only when its
// job changes. A waiting job's row shows its place and start ("3 ahead ·
// starts in ~2 min"), a running one's finish; only that text follows the
// page's one clock, and re-renders only when it reads differently.
import { memo } from "preact/compat";
import { useCallback, useEffect, useRef, useState } from "preact/hooks";
import { live, PAGE_SIZE } from "../live";
import { useSignal, useTimeText } from "../hooks";
import { FILTER_STATES, KIND_NAMES, STATE_NAMES, estimateShort, estimateTicks, pauseWhat } from "../format";
import { session } from "../session";
import { JobState, type Job } from "../gen/videojobs/v1/videojobs_pb";
import { PauseControl } from "./pause";

const subscribeList = (l: () => void) => live.list.add(l);

function matches(job: Job, states: JobState[], batch: string, text: string): boolean {
  if (states.length && !states.includes(job.state)) return false;
  if (batch && job.batchId !== batch) return false;
  if (!text) return true;
  const t = text.trim().toLowerCase();
  return job.url.toLowerCase().includes(t) || job.subject.toLowerCase().includes(t) ||
    job.videoId.toLowerCase().includes(t) || job.stage.toLowerCase().includes(t) || job.error.toLowerCase().includes(t);
}

/** Reads the list for `batch` and the typed `text` unless it was read for them (or no one is signed in). */
function ask(batch: string, text: string) {
  const t = text.trim().toLowerCase();
  if ((batch !== live.batch || t !== live.text) && session.token()) void live.reload(live.states, batch, t);
}

export function JobsView() {
  useSignal(subscribeList);
  const params = new URLSearchParams(location.hash.split("?")[1] ?? "");
  const [batch, setBatch] = useState(params.get("batch") ?? live.batch);
  const [text, setText] = useState(live.text);
  const state = live.states[0] ?? JobState.UNSPECIFIED;
  // Typing asks the server once the person pauses, not per key; leaving the view sooner asks at
  // once, so what was typed last holds (and is in the fields again on the way back).
  const typed = useRef({ batch, text });
  typed.current = { batch, text };
  useEffect(() => {
    const timer = window.setTimeout(() => ask(batch, text), 250);
    return () => window.clearTimeout(timer);
  }, [batch, text]);
  useEffect(() => () => ask(typed.current.batch, typed.current.text), []);
  // The list re-renders only when membership or a state changes (not per progress event).
  const visible = live.order.filter((id) => { const job = live.jobs.get(id); return job && matches(job, live.states, batch, text); });
  const setState = (value: number) => void live.reload(value ? [value as JobState] : []);
  return (
    <section aria-labelledby="jobs-title">
      <div class="title-row">
        <h1 id="jobs-title">Jobs</h1>
        <a class="button primary" href="#/submit">Submit videos</a>
      </div>
      <PauseControl target={{}} what="your work" pauseLabel="Pause my work…" resumeLabel="Resume my work" testId="own-pause" />
      <form class="filters" role="search" onSubmit={(e) => e.preventDefault()}>
        <label>State
          <select value={state} onChange={(e) => setState(Number((e.currentTarget as HTMLSelectElement).value))}>
            <option value={0}>all</option>
            {FILTER_STATES.map((s) => <option value={s}>{STATE_NAMES[s]}</option>)}
          </select>
        </label>
        <label>Batch
          <input type="search" value={batch} placeholder="batch id" onInput={(e) => setBatch((e.currentTarget as HTMLInputElement).value.trim())} />
        </label>
        <label>Search
          <input type="search" value={text} placeholder="URL, subject, stage, error"
            onInput={(e) => setText((e.currentTarget as HTMLInputElement).value)} />
        </label>
      </form>
      {live.loadError && <p class="error" role="alert">{live.loadError}</p>}
      <p class="count" aria-live="polite">
        {visible.length} shown of {live.jobs.size} loaded{live.nextPageToken ? " (more on the server)" : ""}
      </p>
      <ul class="jobs" aria-label="Jobs">
        {visible.map((id) => <JobRow key={id} id={id} />)}
      </ul>
      {!visible.length && !live.loading && <p class="empty">No jobs here yet. <a href="#/submit">Submit a video.</a></p>}
      {live.nextPageToken && (
        <button type="button" onClick={() => void live.loadMore()} disabled={live.loading}>
          {live.loading ? "Loading…" : `Load ${PAGE_SIZE} more`}
        </button>
      )}
    </section>
  );
}

export const JobRow = memo(function JobRow({ id }: { id: string }) {
  useSignal(useCallback((l: () => void) => live.onRow(id, l), [id]));
  const job = live.jobs.get(id);
  if (!job) return null;
  return <JobLine job={job} />;
});

export function JobLine({ job }: { job: Job }) {
  const name = STATE_NAMES[job.state];
  const kind = KIND_NAMES[job.failureKind];
  const pause = job.paused?.paused ? job.paused : undefined;
  return (
    <li class="job" data-job-id={job.id} data-state={name} data-paused={pause ? "true" : undefined}>
      <span class="badges">
        <span class={`state state-${name}`}>{name}</span>
        {pause && <span class="state state-paused">paused</span>}
      </span>
      <a class="what" href={`#/jobs/${job.id}`}>
        <span class="url">{job.url.replace(/^https:\/\/(www\.)?/, "")}</span>
        {job.subject && <span class="subject">{job.subject}</span>}
      </a>
      <span class="progress">
        <progress max={100} value={job.progressPercent} aria-label={`Progress of ${job.videoId}`}>{job.progressPercent}%</progress>
        <span class="pct">{job.progressPercent}%</span>
      </span>
      <span class="stage">
        {pause ? <span class="paused-why" title={pause.reason}>{pauseRow(pause, session.claims()?.sub)}</span>
          : job.error ? <span class="reason" title={job.error}>{kind ? `${kind}: ` : ""}{job.error}</span> : job.stage || (job.estimate ? "" : "—")}
        {job.estimate && !pause && <Eta job={job} />}
      </span>
      <span class="attempt">attempt {job.attempt}/{job.maxAttempts}</span>
    </li>
  );
}

/** The row's estimate, kept true as time passes (on the page's clock, not a timer of its own). */
function Eta({ job }: { job: Job }) {
  const text = useTimeText((now) => estimateShort(job, now), estimateTicks(job));
  return text ? <span class="eta" title="An estimate, not a promise">{text}</span> : null;
}

/** "paused (your work): Lunch break" — short, for a row. */
function pauseRow(pause: NonNullable<Job["paused"]>, me?: string): string {
  return `paused (${pauseWhat(pause, me).replace(/^this batch$/, "its batch")})${pause.reason ? `: ${pause.reason}` : ""}`;
}
