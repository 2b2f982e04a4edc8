// Names people read, for the API's enums.
import { BatchState, FailureKind, JobEventType, JobState, type PauseState } from "./gen/videojobs/v1/videojobs_pb";
import { when } from "./api";

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
