// Names people read, for the API's enums.
import { BatchState, FailureKind, JobEventType, JobState, type Job, type PauseState } from "./gen/videojobs/v1/videojobs_pb";
import { date, when } from "./api";
import { isWaiting } from "./live";

export const STATE_NAMES: Record<JobState, string> = {
  [JobState.UNSPECIFIED]: "unknown",
  [JobState.QUEUED]: "queued",
  [JobState.PROCESSING]: "processing",
  [JobState.RETRYING]: "retrying",
  [JobState.COMPLETED]: "completed",
  [JobState.FAILED]: "failed",
  [JobState.CANCELLED]: "cancelled",
};

export const FILTER_STATES: JobState[] = [
  JobState.QUEUED, JobState.PROCESSING, JobState.RETRYING, JobState.COMPLETED, JobState.FAILED, JobState.CANCELLED,
];

export const EVENT_NAMES: Record<JobEventType, string> = {
  [JobEventType.UNSPECIFIED]: "event",
  [JobEventType.QUEUED]: "queued",
  [JobEventType.PROCESSING]: "started",
  [JobEventType.PROGRESS]: "progress",
  [JobEventType.RETRYING]: "retrying",
  [JobEventType.COMPLETED]: "completed",
  [JobEventType.FAILED]: "failed",
  [JobEventType.CANCELLED]: "cancelled",
  [JobEventType.DELETED]: "deleted",
  [JobEventType.SNAPSHOT]: "as it stands",
  [JobEventType.HEARTBEAT]: "heartbeat",
  [JobEventType.PAUSED]: "paused",
  [JobEventType.RESUMED]: "resumed",
  [JobEventType.ESTIMATE]: "estimate",
};

export const KIND_NAMES: Record<FailureKind, string> = {
  [FailureKind.UNSPECIFIED]: "",
  [FailureKind.PERMANENT]: "permanent",
  [FailureKind.TRANSIENT]: "transient",
  [FailureKind.TIMEOUT]: "timed out",
  [FailureKind.STALLED]: "stalled",
  [FailureKind.CRASHED]: "crashed",
  [FailureKind.NO_OUTPUT]: "no output",
  [FailureKind.CANCELLED]: "cancelled",
};

export const BATCH_NAMES: Record<BatchState, string> = {
  [BatchState.UNSPECIFIED]: "unknown",
  [BatchState.RUNNING]: "running",
  [BatchState.COMPLETED]: "completed",
  [BatchState.COMPLETED_WITH_ERRORS]: "completed with errors",
  [BatchState.FAILED]: "failed",
  [BatchState.CANCELLED]: "cancelled",
};

export function seconds(value: number): string {
  if (!value) return "0 s";
  if (value < 90) return `${value.toFixed(value < 10 ? 1 : 0)} s`;
  if (value < 5400) return `${(value / 60).toFixed(1)} min`;
  return `${(value / 3600).toFixed(1)} h`;
}

/** What a pause holds back, for the person reading it (`me`: who is signed in). */
export function pauseWhat(pause: PauseState, me?: string): string {
  if (pause.everything) return "everyone's work";
  if (pause.batchId) return "this batch";
  return pause.userId && pause.userId !== me ? `${pause.userId}'s work` : "your work";
}

/** A pause in force as one line: "Paused by ops since …: “reason”. Resumes by itself at …". */
export function pauseSentence(pause: PauseState): string {
  const by = pause.pausedBy ? ` by ${pause.pausedBy}` : "";
  const reason = pause.reason ? `: “${pause.reason}”` : "";
  const until = pause.resumeAt ? ` Resumes by itself at ${when(pause.resumeAt)}.` : " Until someone resumes it.";
  return `Paused${by} since ${when(pause.pausedAt)}${reason}.${until}`;
}

/** How long until `at`, roughly: "40 s", "2 min", "1 h 5 min"; "" once it is about now, or past. */
export function untilText(at: Date, now: number): string {
  const s = (at.getTime() - now) / 1000;
  if (s < 3) return "";
  if (s < 57.5) return `${Math.max(5, Math.round(s / 5) * 5)} s`;
  const m = Math.round(s / 60);
  if (m < 60) return `${m} min`;
  const h = Math.floor(m / 60);
  return m % 60 ? `${h} h ${m % 60} min` : `${h} h`;
}

/** Whether the job's estimate has a time that reads differently as time passes. */
export function estimateTicks(job: Job): boolean {
  const e = job.estimate;
  return !!e && (isWaiting(job.state) ? !!e.start : job.state === JobState.PROCESSING && !!e.finish);
}

/** A row's short line: "3 ahead · starts in ~2 min", "next in line", "done in ~40 s"; "" with no estimate. */
export function estimateShort(job: Job, now: number): string {
  const e = job.estimate;
  if (!e) return "";
  if (isWaiting(job.state)) {
    const parts: string[] = [];
    if (e.jobsAhead !== undefined) parts.push(e.jobsAhead === 0n ? "next in line" : `${e.jobsAhead} ahead`);
    const start = date(e.start);
    if (start) { const until = untilText(start, now); parts.push(until ? `starts in ~${until}` : "starts soon"); }
    return parts.join(" · ");
  }
  const finish = job.state === JobState.PROCESSING ? date(e.finish) : undefined;
  if (!finish) return "";
  const until = untilText(finish, now);
  return until ? `done in ~${until}` : "done soon";
}

/** A clock time to the minute ("14:05"), with the day when it is not today. */
function clockTime(d: Date, now: number): string {
  return d.toDateString() === new Date(now).toDateString()
    ? d.toLocaleTimeString(undefined, { hour: "2-digit", minute: "2-digit" })
    : d.toLocaleString(undefined, { dateStyle: "short", timeStyle: "short" });
}

/**
 * The job page's line: "Place in line: 3 jobs ahead. Estimated start ~14:05
 * (in 2 min), finish ~14:07."; a running job's "Estimated finish ~14:07 (in
 * 40 s)."; "" with no estimate.
 */
export function estimateSentence(job: Job, now: number): string {
  const e = job.estimate;
  if (!e) return "";
  const until = (d: Date) => { const t = untilText(d, now); return t ? `in ${t}` : "any moment now"; };
  const start = date(e.start);
  const finish = date(e.finish);
  if (isWaiting(job.state)) {
    const out: string[] = [];
    if (e.jobsAhead !== undefined) {
      out.push(`Place in line: ${e.jobsAhead === 0n ? "next, no job ahead" : `${e.jobsAhead} ${e.jobsAhead === 1n ? "job" : "jobs"} ahead`}.`);
    }
    if (start) out.push(`Estimated start ~${clockTime(start, now)} (${until(start)})${finish ? `, finish ~${clockTime(finish, now)}` : ""}.`);
    else if (out.length) out.push("No times yet: no job has finished recently to estimate them from.");
    return out.join(" ");
  }
  if (job.state === JobState.PROCESSING && finish) return `Estimated finish ~${clockTime(finish, now)} (${until(finish)}).`;
  return "";
}
