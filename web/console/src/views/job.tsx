// One job: where it stands (live), its timeline replayed from the durable
// event log (WatchJobs for this job from sequence 0, then live), the
// program's output in its latest attempt (WatchJobLogs: what is stored, then
// live until the attempt ends), its notes rendered (copy, download .md), and
// retry (at a priority) / reprocess (with another subject, assessments,
// priority) / cancel / delete, each confirmed; while a pause holds it back,
// that pause and its Resume; while it waits, its place in line and estimated
// start and finish (while it runs, its finish), live from the page's stream.
// Its streams close while the tab is hidden and resume where they stopped
// once it is seen again (visible.ts).
import { useCallback, useEffect, useRef, useState } from "preact/hooks";
import { Code } from "@connectrpc/connect";
import { date, isCode, jobsApi, notesApi, sentence, when } from "../api";
import { live, isFinished } from "../live";
import { useSignal, useTimeText, go } from "../hooks";
import { EVENT_NAMES, KIND_NAMES, STATE_NAMES, estimateSentence, estimateTicks, pauseSentence, pauseWhat } from "../format";
import { session } from "../session";
import { JobEventType, JobState, LogStream, NoteKind, type Job, type JobLogLine, type Note } from "../gen/videojobs/v1/videojobs_pb";
import { untilVisible, whileVisible } from "../visible";
import { Confirm } from "./confirm";
import { PauseControl } from "./pause";

/** `seen` is when the page received it: a time only for events logged after the page opened. */
interface Step { sequence: bigint; type: JobEventType; job: Job; seen?: Date }

export function JobView({ id }: { id: string }) {
  useSignal(useCallback((l: () => void) => live.onRow(id, l), [id]));
  const [fetched, setFetched] = useState<Job | undefined>();
  const [error, setError] = useState("");
  const [message, setMessage] = useState("");
  // The fields of the retry and reprocess questions.
  const [subject, setSubject] = useState("");
  const [assessments, setAssessments] = useState(true);
  const [priority, setPriority] = useState("0");
  const timeline = useTimeline(id);
  // Once shown, the job stays shown (its last known copy) whatever its sources do meanwhile:
  // "Loading the job…" in its place would unmount the page, an open question and the focus.
  const shown = useRef<Job>();
  const found = newest(live.job(id), timeline.steps.at(-1)?.job, fetched) ?? shown.current;
  shown.current = found;
  // The estimate: the page's (kept from answers and ESTIMATE events), else GetJob's while the job stands as it answered.
  const job = found && !found.estimate && fetched?.estimate && fetched.state === found.state && fetched.attempt === found.attempt
    && !!fetched.paused?.paused === !!found.paused?.paused ? { ...found, estimate: fetched.estimate } : found;

  // GetJob finds a job the page has not loaded (or says it is not the person's), again on each change of state.
  const state = job?.state;
  useEffect(() => {
    jobsApi.getJob({ jobId: id }).then((answer) => { live.keepEstimate(answer); setFetched(answer); }, (e) => setError(isCode(e, Code.NotFound) ? "This job does not exist, or it is not yours." : sentence(e)));
  }, [id, state, job?.attempt]);

  if (!job) return <p class={error ? "error" : ""} role={error ? "alert" : "status"}>{error || "Loading the job…"}</p>;
  const act = async (what: string, call: () => Promise<unknown>) => {
    setError(""); setMessage("");
    try { const out = await call(); if (out && typeof out === "object" && "id" in out) live.put(out as Job); setMessage(what); }
    catch (e) { setError(sentence(e)); }
  };
  const name = STATE_NAMES[job.state];
  const canRetry = job.state === JobState.FAILED || job.state === JobState.CANCELLED;
  const canReprocess = job.state === JobState.COMPLETED || job.state === JobState.FAILED;
  const pause = job.paused?.paused ? job.paused : undefined;
  const me = session.claims()?.sub;
  // Who may end the pause holding the job: a batch's or one's own work, anyone's for an admin.
  const mayResume = pause && (session.isAdmin() || (!pause.everything && (pause.batchId !== "" || pause.userId === me)));
  return (
    <article class="job-page" aria-labelledby="job-title" data-state={name}>
      <p><a href="#/jobs">← All jobs</a></p>
      <h1 id="job-title">{job.url.replace(/^https:\/\/(www\.)?/, "")}</h1>
      <dl class="facts">
        <div><dt>State</dt><dd><span class={`state state-${name}`} data-testid="job-state">{name}</span>
          {pause && <> <span class="state state-paused">paused</span></>}</dd></div>
        <div><dt>Progress</dt><dd><progress max={100} value={job.progressPercent} aria-label="Progress" /> {job.progressPercent}%</dd></div>
        <div><dt>Stage</dt><dd>{job.stage || "—"}</dd></div>
        <div><dt>Attempt</dt><dd>{job.attempt} of {job.maxAttempts}</dd></div>
        <div><dt>Subject</dt><dd>{job.subject || "—"}</dd></div>
        <div><dt>Priority</dt><dd data-testid="job-priority">{job.priority}</dd></div>
        <div><dt>Created</dt><dd>{when(job.createdAt)}</dd></div>
        <div><dt>Finished</dt><dd>{when(job.finishedAt)}</dd></div>
        {job.estimate && <EstimateLine job={job} />}
        {job.batchId && <div><dt>Batch</dt><dd><a href={`#/jobs?batch=${job.batchId}`}>{job.batchId.slice(0, 13)}…</a></dd></div>}
        {pause && (
          <div class="wide"><dt>Paused</dt>
            <dd data-testid="job-paused">
              {mayResume
                ? <PauseControl target={pause.everything ? { everything: true } : pause.batchId ? { batchId: pause.batchId } : { userId: pause.userId }}
                    what={pauseWhat(pause, me)} pauseLabel="" resumeLabel="Resume" resumeOnly known={pause} />
                : <p class="paused-note"><strong>{pauseWhat(pause, me)[0].toUpperCase() + pauseWhat(pause, me).slice(1)} is paused.</strong> {pauseSentence(pause)}</p>}
              <p class="help">It waits, queued, until the pause ends; then it takes its turn again.</p>
            </dd>
          </div>
        )}
        {job.error && <div class="wide"><dt>Why it failed</dt><dd class="reason" data-testid="job-error">{KIND_NAMES[job.failureKind] && <strong>{KIND_NAMES[job.failureKind]}: </strong>}{job.error}</dd></div>}
      </dl>
      <div class="actions">
        {canRetry && <Confirm label="Retry" question="Run this job again with fresh attempts?" yes="Yes, retry"
          onOpen={() => setPriority(String(job.priority))}
          fields={() => <PriorityField value={priority} onInput={setPriority} />}
          onYes={() => act("Queued again.", () => jobsApi.retryJob({ jobId: id, priority: changedPriority(priority, job.priority) }))} />}
        {canReprocess && <Confirm label="Reprocess…" question="Run this job again? Its notes stay until the new run stores its own, which replace them."
          yes="Yes, reprocess"
          onOpen={() => { setSubject(job.subject); setAssessments(job.assessments); setPriority(String(job.priority)); }}
          fields={() => (
            <>
              <label>Subject
                <input value={subject} maxLength={100} onInput={(e) => setSubject((e.currentTarget as HTMLInputElement).value)} />
              </label>
              <PriorityField value={priority} onInput={setPriority} />
              <label class="check">
                <input type="checkbox" checked={assessments} onChange={(e) => setAssessments((e.currentTarget as HTMLInputElement).checked)} />
                Write an assessment too
              </label>
            </>
          )}
          onYes={() => act("Queued again; its notes are replaced once the new run stores its own.", () => jobsApi.reprocessJob({
            jobId: id,
            subject: subject.trim() !== job.subject ? subject.trim() : undefined,
            assessments: assessments !== job.assessments ? assessments : undefined,
            priority: changedPriority(priority, job.priority),
          }))} />}
        {!isFinished(job.state) && <Confirm label="Cancel job" danger question="Cancel this job? A running program is stopped." yes="Yes, cancel it"
          onYes={() => act("Cancelled.", () => jobsApi.cancelJob({ jobId: id }))} />}
        {isFinished(job.state) && <Confirm label="Delete" danger question="Delete this job and its notes for good?" yes="Yes, delete"
          onYes={() => act("Deleted.", async () => { await jobsApi.deleteJob({ jobId: id }); go("jobs"); })} />}
      </div>
      {error && <p class="error" role="alert">{error}</p>}
      {message && <p class="ok" role="status">{message}</p>}
      <div class="columns">
        <section aria-labelledby="timeline-title">
          <h2 id="timeline-title">Timeline</h2>
          {timeline.error && <p class="error" role="alert">{timeline.error}</p>}
          <ol class="timeline" data-testid="timeline">
            {timeline.steps.map((step) => <TimelineStep step={step} />)}
          </ol>
        </section>
        <Output jobId={id} attempt={job.attempt} />
      </div>
      {(job.state === JobState.COMPLETED || job.noteIds.length > 0) && <Notes jobId={id} key={job.noteIds.join(",")} />}
    </article>
  );
}

/** "Place in line: 3 jobs ahead. Estimated start ~14:05 (in 2 min), finish ~14:07." — kept true as time passes. */
function EstimateLine({ job }: { job: Job }) {
  const text = useTimeText((now) => estimateSentence(job, now), estimateTicks(job));
  if (!text) return null;
  return (
    <div class="wide estimate"><dt>Estimate</dt>
      <dd>
        <p data-testid="job-estimate">{text}</p>
        <p class="help">An estimate from how fast jobs get done now, not a promise: it moves as jobs start and finish, and jobs others submit take turns too.</p>
      </dd>
    </div>
  );
}

function PriorityField({ value, onInput }: { value: string; onInput: (v: string) => void }) {
  return (
    <label>Priority (−100 to 100, higher runs first)
      <input type="number" min={-100} max={100} step={1} value={value} required
        onInput={(e) => onInput((e.currentTarget as HTMLInputElement).value)} />
    </label>
  );
}

/** The priority to send: unset when it is the job's own. */
function changedPriority(value: string, current: number): number | undefined {
  const n = Math.trunc(Number(value));
  return Number.isFinite(n) && n !== current ? n : undefined;
}

function newest(...jobs: (Job | undefined)[]): Job | undefined {
  // The live row and the timeline follow events; the fetched copy only fills in.
  return jobs.find(Boolean);
}

function stepTime(step: Step): string {
  const job = step.job;
  // Queued again (a retry, a reprocess) is not when the job was created.
  const known = step.type === JobEventType.QUEUED && job.attempt === 0 ? date(job.createdAt)
    : step.type === JobEventType.PROCESSING ? date(job.startedAt)
    : isFinished(job.state) && step.type !== JobEventType.PROGRESS ? date(job.finishedAt) : undefined;
  // A replayed progress event carries no time of its own.
  return (known ?? step.seen)?.toLocaleTimeString() ?? "";
}

function TimelineStep({ step }: { step: Step }) {
  const job = step.job;
  return (
    <li data-type={EVENT_NAMES[step.type]} data-sequence={String(step.sequence)}>
      <time>{stepTime(step)}</time>
      <strong>{EVENT_NAMES[step.type]}</strong>
      <span>attempt {job.attempt}</span>
      {step.type === JobEventType.PROGRESS && <span>{job.stage} · {job.progressPercent}%</span>}
      {step.type === JobEventType.PAUSED && job.paused?.reason && <span>{job.paused.reason}</span>}
      {(step.type === JobEventType.FAILED || step.type === JobEventType.RETRYING) && job.error &&
        <span class="reason">{KIND_NAMES[job.failureKind] ? `${KIND_NAMES[job.failureKind]}: ` : ""}{job.error}</span>}
    </li>
  );
}

/** The job's events from the durable log, then live, on a stream of its own. */
function useTimeline(id: string) {
  const [steps, setSteps] = useState<Step[]>([]);
  const [error, setError] = useState("");
  useEffect(() => {
    const abort = new AbortController();
    let last: bigint | undefined = 0n;
    // Events after this one were logged while the page watched: their arrival is their time.
    const opened = live.lastSequence ?? -1n;
    const run = async () => {
      for (let backoff = 250; !abort.signal.aborted; backoff = Math.min(backoff * 2, 5000)) {
        await untilVisible(abort.signal);
        // Closed while the tab is hidden, then resumed from the last sequence, as after a drop.
        const held = whileVisible(abort.signal);
        try {
          const stream = jobsApi.watchJobs({ jobIds: [id], afterSequence: last }, { signal: held.signal });
          for await (const event of stream) {
            if (event.type === JobEventType.HEARTBEAT || !event.job) continue;
            if (event.sequence > 0n) last = event.sequence;
            backoff = 250;
            setError("");
            const fresh = event.sequence === 0n || (opened >= 0n && event.sequence > opened);
            const step = { sequence: event.sequence, type: event.type, job: event.job, seen: fresh ? new Date() : undefined };
            setSteps((s) => [...s, step]);
          }
        } catch (e) {
          if (abort.signal.aborted) return;
          if (!held.released()) {
            if (isCode(e, Code.Unauthenticated) || isCode(e, Code.NotFound)) { setError(sentence(e)); return; }
            // The log no longer reaches back to the start: show the job from now on.
            if (isCode(e, Code.OutOfRange) || isCode(e, Code.InvalidArgument)) last = undefined;
            setError(`Reconnecting… ${sentence(e)}`);
          }
        } finally {
          held.end();
        }
        if (!held.released()) await new Promise((r) => setTimeout(r, backoff));
      }
    };
    void run();
    return () => abort.abort();
  }, [id]);
  return { steps, error };
}

/** Lines the page keeps of an attempt's output (the newest). */
const MAX_SHOWN_LINES = 2000;

function Output({ jobId, attempt }: { jobId: string; attempt: number }) {
  const { lines, error, ended } = useJobLog(jobId, attempt);
  return (
    <section aria-labelledby="output-title" class="output" data-slot="job-log">
      <h2 id="output-title">Program output{attempt > 0 ? `, attempt ${attempt}` : ""}</h2>
      <p class="help">
        Every line the program wrote, as it writes them{ended ? "; the attempt has ended" : ""}.
        {lines.length >= MAX_SHOWN_LINES ? ` The newest ${MAX_SHOWN_LINES} are shown; videojobs logs prints them all.` : ""}
      </p>
      {error && <p class="error" role="alert">{error}</p>}
      <pre tabIndex={0} role="region" aria-label="Program output" data-testid="job-log">
        {lines.length ? lines.map((l) => (l.stream === LogStream.MARKER ? `-- ${l.text} --` : l.text)).join("\n") : "No output yet."}
      </pre>
    </section>
  );
}

/** The attempt's output: what is stored, then live until the attempt ends; resumes after its last line if the stream drops. */
function useJobLog(jobId: string, attempt: number) {
  const [lines, setLines] = useState<JobLogLine[]>([]);
  const [error, setError] = useState("");
  const [ended, setEnded] = useState(false);
  const pending = useRef<JobLogLine[]>([]);
  useEffect(() => {
    const abort = new AbortController();
    let after = 0n;
    let frame = 0;
    setLines([]); setEnded(false); pending.current = [];
    // Lines are shown once per animation frame, not one render per line.
    const flush = () => {
      frame = 0;
      const add = pending.current;
      pending.current = [];
      setLines((old) => { const next = old.concat(add); return next.length > MAX_SHOWN_LINES ? next.slice(-MAX_SHOWN_LINES) : next; });
    };
    const run = async () => {
      for (let backoff = 250; !abort.signal.aborted; backoff = Math.min(backoff * 2, 5000)) {
        await untilVisible(abort.signal);
        // Closed while the tab is hidden, then resumed after the last line, as after a drop.
        const held = whileVisible(abort.signal);
        try {
          const stream = jobsApi.watchJobLogs({ jobId, attempt, afterLine: after }, { signal: held.signal });
          for await (const line of stream) {
            if (line.stream === LogStream.HEARTBEAT) continue;
            if (line.stream !== LogStream.MARKER && line.line > after) after = line.line;
            backoff = 250;
            setError("");
            pending.current.push(line);
            if (!frame) frame = requestAnimationFrame(flush);
          }
          if (!held.released()) { setEnded(true); return; }
        } catch (e) {
          if (abort.signal.aborted) return;
          if (!held.released()) {
            if (isCode(e, Code.Unauthenticated) || isCode(e, Code.NotFound)) { setError(sentence(e)); return; }
            setError(`Reconnecting… ${sentence(e)}`);
          }
        } finally {
          held.end();
        }
        if (!held.released()) await new Promise((r) => setTimeout(r, backoff));
      }
    };
    void run();
    return () => { abort.abort(); cancelAnimationFrame(frame); };
  }, [jobId, attempt]);
  return { lines, error, ended };
}

function Notes({ jobId }: { jobId: string }) {
  const [notes, setNotes] = useState<Note[] | undefined>();
  const [error, setError] = useState("");
  useEffect(() => {
    // The job's note ids, then each note (markdown and its HTML) by GetNote.
    notesApi.listNotes({ jobId, pageSize: 100 })
      .then((page) => Promise.all(page.notes.map((n) => notesApi.getNote({ noteId: n.id }))))
      .then((read) => setNotes(read.sort((a, b) => a.kind - b.kind)), (e) => setError(sentence(e)));
  }, [jobId]);
  if (error) return <p class="error" role="alert">{error}</p>;
  if (!notes) return <p role="status">Loading the notes…</p>;
  if (!notes.length) return <p>This job left no notes.</p>;
  return <>{notes.map((note) => <NoteView note={note} />)}</>;
}

function NoteView({ note }: { note: Note }) {
  const [copied, setCopied] = useState("");
  const title = note.kind === NoteKind.ASSESSMENT && !/^assessment/i.test(note.title) ? `Assessment: ${note.title}` : note.title;
  const copy = async () => {
    try { await navigator.clipboard.writeText(note.markdown); setCopied("Copied."); }
    catch { setCopied("Copying is not allowed here; use Download instead."); }
  };
  const download = () => {
    const url = URL.createObjectURL(new Blob([note.markdown], { type: "text/markdown;charset=utf-8" }));
    const a = document.createElement("a");
    a.href = url;
    a.download = `${(note.title || "notes").replace(/[<>:"/\\|?*\u0000-\u001f]/g, "_").slice(0, 100)}.md`;
    a.click();
    setTimeout(() => URL.revokeObjectURL(url), 1000);
  };
  return (
    <section class="note" aria-label={title} data-kind={note.kind === NoteKind.ASSESSMENT ? "assessment" : "notes"}>
      <div class="title-row">
        <h2>{title}</h2>
        <span class="actions">
          <button type="button" onClick={copy}>Copy markdown</button>
          <button type="button" onClick={download}>Download .md</button>
          <span role="status">{copied}</span>
        </span>
      </div>
      <p class="help note-meta">{note.subject ? `Subject: ${note.subject} · ` : ""}written {when(note.createdAt)}</p>
      {/* The server renders the markdown with raw HTML escaped, never passed through. */}
      <div class="markdown" dangerouslySetInnerHTML={{ __html: note.html }} />
    </section>
  );
}
