// The page's live model of the person's jobs: pages from ListJobs, kept
// current by ONE WatchJobs stream. Events are applied in batches once per
// animation frame, and only the rows whose job changed are told (keyed
// listeners), so 1,000 jobs updating stay smooth. When the stream drops
// (a server restart, the network) the page says "reconnecting…" and resumes
// from the last sequence it saw, with backoff, so no event is missed; with
// no sequence yet (or an admin's watch of everyone, which is live only) it
// resubscribes and reloads the list after the new stream is subscribed.
// A tab hidden for a few seconds closes the stream, and opens it again the
// same way once it is seen (visible.ts: over HTTP/1.1 a stream holds one of
// the six connections Chromium gives this host across all tabs).
//
// The pauses in force that hold the person's work back are kept here too:
// read with ListPauses when the stream subscribes (the page's start, and
// each reconnect) and again when one of them is due to end by itself, and
// kept current between reads from the answers of PauseJobs / ResumeJobs and
// from the waiting jobs a pause holds back (Job.paused, PAUSED and RESUMED
// events).
//
// Estimates (Job.estimate: a waiting job's place in line and its estimated
// start and finish, a running job's finish) come with the jobs ListJobs and
// GetJob answer, and as ESTIMATE events on the stream, which carry only
// job_id and estimate (sequence 0, no job). An estimate only ever replaces
// the estimate of a job the page knows and that still waits: it never
// touches the job's state, so it cannot undo a newer event. Events that
// keep the job's state (progress) keep its estimate; a change of state, a
// pause or a resume drops it (the place it was for is gone). The server's
// estimator and its event log race: a new job's first ESTIMATE can come
// before the page knows the job (before its QUEUED event, or the submit's
// answer), and the estimator sends it only once unless it moves; so an
// ESTIMATE for an unknown job is held (the latest 256) and given to the job
// when the page learns of it still waiting, unpaused, with no estimate.
import { Code, ConnectError } from "@connectrpc/connect";
import { date, jobsApi, sentence, sleep } from "./api";
import { session } from "./session";
import { untilVisible, whileVisible } from "./visible";
import { JobEventType, JobState, type Batch, type Job, type JobEstimate, type JobEvent, type PauseState } from "./gen/videojobs/v1/videojobs_pb";

export type Connection = "connecting" | "live" | "reconnecting" | "stopped";
export const PAGE_SIZE = 1000; // the server's largest page
const MAX_BACKOFF_MS = 5000;
const EARLY_ESTIMATES = 256;

type Listener = () => void;

class Listeners {
  private all = new Set<Listener>();
  add(l: Listener): () => void { this.all.add(l); return () => { this.all.delete(l); }; }
  emit() { for (const l of this.all) l(); }
}

export class LiveJobs {
  readonly jobs = new Map<string, Job>();
  /** Job ids, newest first (UUIDv7 ids sort by creation). */
  order: string[] = [];
  readonly batches = new Map<string, Batch>();
  nextPageToken = "";
  loading = false;
  loadError = "";
  states: JobState[] = [];
  /** The server-side filters of the loaded pages (empty: any). */
  batch = "";
  text = "";
  connection: Connection = "connecting";
  connectionDetail = "";
  /** The last sequence of the caller's log this page has seen. */
  lastSequence: bigint | undefined;
  /** The sequences received, in order (read by the browser tests; the latest 100,000). */
  readonly seen: number[] = [];
  readonly list = new Listeners();
  readonly status = new Listeners();
  readonly batchChanged = new Listeners();
  /** Pauses in force the page knows of, by target (see pauseKey). */
  readonly pauses = new Map<string, PauseState>();
  /** Whether `pauses` came from a ListPauses answer (else: only what calls and jobs told). */
  pausesRead = false;
  /** Why the last ListPauses read failed ("" if it did not). */
  pausesError = "";
  readonly pauseChanged = new Listeners();
  /** The targets whose pause a call or an event told of while a ListPauses read was on its way (newer than its answer). */
  private pausesTold: Set<string> | undefined;
  private pauseReads = 0;
  private pauseTimer = 0;
  private readonly rows = new Map<string, Set<Listener>>();
  private pending: JobEvent[] = [];
  /** Counts list reads; only the latest one's answer is kept. */
  private generation = 0;
  private frame = 0;
  private touched = new Set<string>();
  /** Jobs given an ESTIMATE event while a page was being read (its estimate is newer than the page's). */
  private estimated = new Set<string>();
  /** ESTIMATE events for jobs the page did not know yet, by job id (the latest EARLY_ESTIMATES). */
  private early = new Map<string, JobEstimate>();
  private abort = new AbortController();

  start() {
    this.abort.abort();
    this.abort = new AbortController();
    void this.watch(this.abort.signal);
  }

  stop() {
    this.abort.abort();
    window.clearTimeout(this.pauseTimer);
    // The next person signed in on this tab sees their own pauses only.
    this.pauseReads++;
    this.pauses.clear();
    this.pausesRead = false;
    this.pausesError = "";
    this.connection = "stopped";
  }

  job(id: string): Job | undefined { return this.jobs.get(id); }

  onRow(id: string, l: Listener): () => void {
    let set = this.rows.get(id);
    if (!set) this.rows.set(id, (set = new Set()));
    set.add(l);
    return () => { set!.delete(l); if (!set!.size) this.rows.delete(id); };
  }

  /**
   * Puts a job the page learned of by a call (submit, retry, …) in place at
   * once, unless the stream already told of it: the call's answer and the
   * stream's events travel on different connections, so the answer can arrive
   * after the events that follow it and must not undo them.
   */
  put(job: Job) {
    this.pending.push({ sequence: 0n, jobId: job.id, type: JobEventType.SNAPSHOT, job } as JobEvent);
    this.schedule();
  }

  /**
   * Keeps the estimate a call answered with (GetJob) for a job the page
   * knows, if the job still stands as the answer saw it; nothing else of the
   * answer is taken (the stream's events are newer).
   */
  keepEstimate(answer: Job) {
    const known = this.jobs.get(answer.id);
    if (!answer.estimate || !known || !sameStanding(known, answer)) return;
    this.jobs.set(answer.id, { ...known, estimate: answer.estimate });
    this.emitRow(answer.id);
  }

  /** What a PauseJobs or ResumeJobs call answered for `key`'s target. */
  notePause(key: string, state: PauseState) {
    if (state.paused) this.pauses.set(key, state); else this.pauses.delete(key);
    this.pausesTold?.add(key);
    this.pauseChanged.emit();
  }

  /**
   * Reads the pauses in force (ListPauses) and puts them in place of the
   * ones the page knew, except for the targets a call or an event told of
   * meanwhile (theirs is newer). Read again when the first of them is due
   * to end by itself. A failed read keeps what the page knew.
   */
  async loadPauses(): Promise<void> {
    const read = ++this.pauseReads;
    const told = (this.pausesTold = new Set());
    try {
      const { pauses } = await jobsApi.listPauses({});
      if (read !== this.pauseReads) return; // a newer read owns the answer
      const known = new Map(this.pauses);
      this.pauses.clear();
      for (const pause of pauses) if (pause.paused) this.pauses.set(pauseKey(pause), pause);
      for (const key of told) {
        const newer = known.get(key);
        if (newer) this.pauses.set(key, newer); else this.pauses.delete(key);
      }
      this.pausesRead = true;
      this.pausesError = "";
      this.pauseChanged.emit();
      this.readPausesWhenOneEnds();
    } catch (error) {
      // Keep what the page knew (its pauses come from calls and jobs meanwhile).
      if (read === this.pauseReads) { this.pausesError = sentence(error); this.pauseChanged.emit(); }
    } finally {
      if (read === this.pauseReads) this.pausesTold = undefined;
    }
  }

  /** A pause that ends by itself may leave no job to tell of it: read them again once the first one is due. */
  private readPausesWhenOneEnds() {
    window.clearTimeout(this.pauseTimer);
    let first = Infinity;
    for (const pause of this.pauses.values()) {
      const at = date(pause.resumeAt)?.getTime();
      if (at !== undefined && at < first) first = at;
    }
    if (first === Infinity) return;
    // A second late, so the server has let it go; at most a day ahead (setTimeout's range), then again.
    const wait = Math.min(Math.max(first - Date.now() + 1000, 1000), 86_400_000);
    this.pauseTimer = window.setTimeout(() => { if (this.connection !== "stopped") void this.loadPauses(); }, wait);
  }

  /** A job as read or told: the pause holding it back is in force; a RESUMED job's former pause may have ended. */
  private learnPause(job: Job, before: Job | undefined, type: JobEventType): boolean {
    const now = job.paused?.paused ? job.paused : undefined;
    if (now) {
      const key = pauseKey(now);
      const known = this.pauses.get(key);
      if (known && known.reason === now.reason && known.pausedAt?.seconds === now.pausedAt?.seconds) return false;
      this.pauses.set(key, now);
      this.pausesTold?.add(key);
      return true;
    }
    if (type === JobEventType.RESUMED && before?.paused?.paused) {
      const key = pauseKey(before.paused);
      this.pausesTold?.add(key);
      return this.pauses.delete(key);
    }
    return false;
  }

  /** Reloads the first page for `states` (empty: every state), `batch` and `text` (empty: any). */
  async reload(states = this.states, batch = this.batch, text = this.text): Promise<void> {
    this.states = states;
    this.batch = batch;
    this.text = text;
    this.nextPageToken = "";
    await this.loadPage(true);
  }

  async loadMore(): Promise<void> {
    if (this.nextPageToken) await this.loadPage(false);
  }

  private async loadPage(first: boolean) {
    const generation = ++this.generation;
    this.loading = true;
    this.loadError = "";
    this.list.emit();
    this.touched = new Set();
    this.estimated = new Set();
    try {
      const asked = { states: this.states, batchId: this.batch, text: this.text };
      const page = await jobsApi.listJobs({ ...asked, pageSize: PAGE_SIZE, pageToken: first ? "" : this.nextPageToken });
      if (generation !== this.generation) return; // a newer read (the filters changed) owns the list
      if (first) {
        // Keep what events changed while the page was being read: they are newer.
        for (const id of [...this.jobs.keys()]) if (!this.touched.has(id)) this.jobs.delete(id);
      }
      let paused = false;
      for (const job of page.jobs) {
        const known = this.jobs.get(job.id);
        if (this.touched.has(job.id)) {
          // An event told of it meanwhile; the page's estimate may still be the only one.
          if (known && !known.estimate && job.estimate && sameStanding(known, job)) this.jobs.set(job.id, { ...known, estimate: job.estimate });
          continue;
        }
        const newer = this.estimated.has(job.id) && known?.estimate && sameStanding(known, job);
        this.jobs.set(job.id, newer ? { ...job, estimate: known.estimate } : known ? job : this.withEarlyEstimate(job));
        paused = this.learnPause(job, undefined, JobEventType.SNAPSHOT) || paused;
      }
      if (paused) this.pauseChanged.emit();
      this.nextPageToken = page.nextPageToken;
      this.resort();
      for (const job of page.jobs) this.emitRow(job.id);
    } catch (error) {
      this.loadError = sentence(error);
    } finally {
      if (generation === this.generation) {
        this.loading = false;
        this.list.emit();
      }
    }
  }

  private async watch(signal: AbortSignal) {
    let backoff = 250;
    while (!signal.aborted && session.token()) {
      await untilVisible(signal);
      if (signal.aborted) return;
      const resume = this.lastSequence !== undefined && !session.isAdmin();
      // Closed while the tab is hidden (see visible.ts), then resumed as after a drop.
      const held = whileVisible(signal);
      try {
        // With the waiting jobs' estimates (a user's watch; an admin's watch of everyone gets none).
        const stream = jobsApi.watchJobs({ ...(resume ? { afterSequence: this.lastSequence } : {}), estimates: true }, {
          signal: held.signal,
          // Headers come once the server has subscribed: from here on no event is missed.
          onHeader: () => {
            backoff = 250;
            this.setConnection("live", "");
            // The pauses in force, read afresh: one may have begun or ended while the page was away.
            void this.loadPauses();
            if (!resume) void this.reload();
          },
        });
        for await (const event of stream) this.receive(event);
        if (!signal.aborted && !held.released()) this.setConnection("reconnecting", "The connection to the server was lost.");
      } catch (error) {
        if (signal.aborted) return;
        if (!held.released()) {
          if (error instanceof ConnectError && error.code === Code.Unauthenticated) return;
          if (error instanceof ConnectError && error.code === Code.OutOfRange) this.lastSequence = undefined;
          this.setConnection("reconnecting", sentence(error));
        }
      } finally {
        held.end();
      }
      if (held.released()) {
        // Given back while the tab is hidden: open again, from the last sequence, once it is seen.
        backoff = 250;
        this.setConnection("connecting", "Updates pause while this tab is hidden; they resume where they stopped.");
        continue;
      }
      await sleep(backoff + Math.random() * backoff * 0.3, signal);
      backoff = Math.min(backoff * 2, MAX_BACKOFF_MS);
    }
  }

  private setConnection(connection: Connection, detail: string) {
    if (this.connection === connection && this.connectionDetail === detail) return;
    this.connection = connection;
    this.connectionDetail = detail;
    this.status.emit();
  }

  private receive(event: JobEvent) {
    if (event.sequence > 0n && !session.isAdmin()) {
      if (event.type !== JobEventType.HEARTBEAT) {
        this.seen.push(Number(event.sequence));
        if (this.seen.length > 100_000) this.seen.splice(0, 50_000);
      }
      if (this.lastSequence === undefined || event.sequence > this.lastSequence) this.lastSequence = event.sequence;
    }
    if (event.type === JobEventType.HEARTBEAT) return;
    this.pending.push(event);
    this.schedule();
  }

  private schedule() {
    if (this.frame) return;
    const flush = () => { this.frame = 0; this.flush(); };
    this.frame = document.hidden ? window.setTimeout(flush, 50) : requestAnimationFrame(flush);
  }

  /** Applies every event received since the last frame; tells only what changed. */
  private flush() {
    const events = this.pending;
    this.pending = [];
    const changed = new Set<string>();
    let listChanged = false;
    let batchChanged = false;
    let pauseChanged = false;
    for (const event of events) {
      const id = event.jobId || event.job?.id || "";
      if (event.batch) { this.batches.set(event.batch.id, event.batch); batchChanged = true; }
      if (!id) continue;
      if (event.type === JobEventType.ESTIMATE) {
        if (this.applyEstimate(id, event.estimate)) changed.add(id);
        continue;
      }
      if (event.sequence === 0n && this.jobs.has(id)) continue; // a call's answer, older than the stream
      if (event.type === JobEventType.DELETED) {
        this.touched.add(id);
        if (this.jobs.delete(id)) listChanged = true;
      } else if (event.job) {
        this.touched.add(id);
        const before = this.jobs.get(id);
        const job = before ? keptEstimate(event.job, before, event.type) : this.withEarlyEstimate(event.job);
        this.jobs.set(id, job);
        pauseChanged = this.learnPause(job, before, event.type) || pauseChanged;
        if (!before || before.state !== job.state) listChanged = true;
        if (!before) this.insert(id);
      } else {
        continue; // no job to apply: nothing of the known one changes
      }
      changed.add(id);
    }
    for (const id of changed) this.emitRow(id);
    if (listChanged) this.list.emit();
    if (batchChanged) this.batchChanged.emit();
    if (pauseChanged) this.pauseChanged.emit();
  }

  /**
   * An ESTIMATE event: only for a job the page knows that still waits, and
   * only its estimate; one for a job that runs, ended or is paused is stale.
   */
  private applyEstimate(id: string, estimate: JobEstimate | undefined): boolean {
    const known = this.jobs.get(id);
    if (estimate && !known) {
      // The job's QUEUED event (or the call's answer) may still be on its way: hold it.
      this.early.delete(id);
      this.early.set(id, estimate);
      if (this.early.size > EARLY_ESTIMATES) this.early.delete(this.early.keys().next().value!);
      return false;
    }
    if (!estimate || !known || !isWaiting(known.state) || known.paused?.paused) return false;
    this.jobs.set(id, { ...known, estimate });
    this.estimated.add(id);
    return true;
  }

  /** A job new to the page, with the ESTIMATE that came before it if it still waits for it. */
  private withEarlyEstimate(job: Job): Job {
    const estimate = this.early.get(job.id);
    if (!estimate) return job;
    this.early.delete(job.id);
    if (job.estimate || !isWaiting(job.state) || job.paused?.paused) return job;
    this.estimated.add(job.id);
    return { ...job, estimate };
  }

  private emitRow(id: string) { for (const l of this.rows.get(id) ?? []) l(); }

  private insert(id: string) {
    // Newest first; a new job is nearly always the newest.
    let lo = 0, hi = this.order.length;
    while (lo < hi) { const mid = (lo + hi) >> 1; if (this.order[mid] > id) lo = mid + 1; else hi = mid; }
    if (this.order[lo] !== id) this.order.splice(lo, 0, id);
  }

  private resort() {
    this.order = [...this.jobs.keys()].sort((a, b) => (a < b ? 1 : a > b ? -1 : 0));
  }
}

export const live = new LiveJobs();
(window as unknown as { __videojobs: LiveJobs }).__videojobs = live;

/** QUEUED or RETRYING: the states a job waits in (and has a place in line). */
export function isWaiting(state: JobState): boolean {
  return state === JobState.QUEUED || state === JobState.RETRYING;
}

/** Two copies of a job in the same state and pause, so an estimate of one holds for the other. */
function sameStanding(a: Job, b: Job): boolean {
  return a.state === b.state && a.attempt === b.attempt && !!a.paused?.paused === !!b.paused?.paused;
}

/**
 * The job an event tells of, with the estimate the page had for it when the
 * event leaves it standing where it was (progress of a running job); events
 * carry no estimate of their own.
 */
function keptEstimate(job: Job, before: Job | undefined, type: JobEventType): Job {
  if (job.estimate || !before?.estimate || type === JobEventType.PAUSED || type === JobEventType.RESUMED) return job;
  return sameStanding(before, job) ? { ...job, estimate: before.estimate } : job;
}

export function isFinished(state: JobState): boolean {
  return state === JobState.COMPLETED || state === JobState.FAILED || state === JobState.CANCELLED;
}

/** The target a pause names: everything, a batch, or a user's work. */
export function pauseKey(target: { everything?: boolean; batchId?: string; userId?: string }): string {
  return target.everything ? "everything" : target.batchId ? `batch:${target.batchId}` : `user:${target.userId ?? ""}`;
}
