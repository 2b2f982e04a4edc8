// A gRPC-web client for videojobs, for Node (20+, global fetch) and browsers.
//
// The message types are declared at runtime from proto/videojobs/v1/videojobs.proto
// with @protobuf-ts/runtime's MessageType, so no protoc or code generation is
// needed. Only the messages and the two JobService methods the client uses are
// declared; field numbers and types must match the proto. 64-bit integers
// (sequence, Timestamp.seconds) are plain JavaScript numbers.
import { LongType, MessageType, RepeatType, ScalarType } from "@protobuf-ts/runtime";
import { ServiceType } from "@protobuf-ts/runtime-rpc";
import { GrpcWebFetchTransport } from "@protobuf-ts/grpcweb-transport";

/** enum videojobs.v1.JobState */
export const JobState = Object.freeze({
  UNSPECIFIED: 0,
  QUEUED: 1,
  PROCESSING: 2,
  RETRYING: 3,
  COMPLETED: 4,
  FAILED: 5,
  CANCELLED: 6,
  0: "UNSPECIFIED",
  1: "QUEUED",
  2: "PROCESSING",
  3: "RETRYING",
  4: "COMPLETED",
  5: "FAILED",
  6: "CANCELLED",
});

/** enum videojobs.v1.JobEventType */
export const JobEventType = Object.freeze({
  UNSPECIFIED: 0,
  QUEUED: 1,
  PROCESSING: 2,
  PROGRESS: 3,
  RETRYING: 4,
  COMPLETED: 5,
  FAILED: 6,
  CANCELLED: 7,
  DELETED: 8,
  SNAPSHOT: 9,
  0: "UNSPECIFIED",
  1: "QUEUED",
  2: "PROCESSING",
  3: "PROGRESS",
  4: "RETRYING",
  5: "COMPLETED",
  6: "FAILED",
  7: "CANCELLED",
  8: "DELETED",
  9: "SNAPSHOT",
});

const string = (no, name) => ({ no, name, kind: "scalar", T: ScalarType.STRING });
const uint32 = (no, name) => ({ no, name, kind: "scalar", T: ScalarType.UINT32 });
const int32 = (no, name) => ({ no, name, kind: "scalar", T: ScalarType.INT32 });

export const Timestamp = new MessageType("google.protobuf.Timestamp", [
  { no: 1, name: "seconds", kind: "scalar", T: ScalarType.INT64, L: LongType.NUMBER },
  int32(2, "nanos"),
]);

export const Job = new MessageType("videojobs.v1.Job", [
  string(1, "id"),
  string(2, "url"),
  string(3, "video_id"),
  string(4, "subject"),
  { no: 5, name: "state", kind: "enum", T: () => ["videojobs.v1.JobState", JobState, "JOB_STATE_"] },
  string(6, "stage"),
  uint32(7, "progress_percent"),
  uint32(8, "attempt"),
  uint32(9, "max_attempts"),
  string(10, "error"),
  { ...string(11, "note_ids"), repeat: RepeatType.UNPACKED },
  { no: 12, name: "created_at", kind: "message", T: () => Timestamp },
  { no: 13, name: "started_at", kind: "message", T: () => Timestamp },
  { no: 14, name: "finished_at", kind: "message", T: () => Timestamp },
  { no: 15, name: "assessments", kind: "scalar", T: ScalarType.BOOL },
  int32(16, "priority"),
]);

export const SubmitVideoRequest = new MessageType("videojobs.v1.SubmitVideoRequest", [
  string(1, "url"),
  string(2, "subject"),
  { no: 3, name: "assessments", kind: "scalar", T: ScalarType.BOOL, opt: true },
  int32(4, "priority"),
]);

export const WatchJobsRequest = new MessageType("videojobs.v1.WatchJobsRequest", [
  { ...string(1, "job_ids"), repeat: RepeatType.UNPACKED },
]);

export const JobEvent = new MessageType("videojobs.v1.JobEvent", [
  { no: 1, name: "sequence", kind: "scalar", T: ScalarType.UINT64, L: LongType.NUMBER },
  string(2, "job_id"),
  { no: 3, name: "type", kind: "enum", T: () => ["videojobs.v1.JobEventType", JobEventType, "JOB_EVENT_TYPE_"] },
  { no: 4, name: "job", kind: "message", T: () => Job },
]);

export const JobService = new ServiceType("videojobs.v1.JobService", [
  { name: "SubmitVideo", options: {}, I: SubmitVideoRequest, O: Job },
  { name: "WatchJobs", serverStreaming: true, options: {}, I: WatchJobsRequest, O: JobEvent },
]);

const method = (name) => JobService.methods.find((m) => m.name === name);

/**
 * A JobService client over gRPC-web. `baseUrl` is the server (or a proxy such
 * as Envoy), e.g. "http://127.0.0.1:50051"; `token` a videojobs JWT; `format`
 * "binary" (application/grpc-web+proto) or "text" (application/grpc-web-text).
 * Messages use protobuf-ts's lowerCamelCase field names (videoId, noteIds, ...).
 */
export class JobServiceClient {
  constructor({ baseUrl, token, format = "binary", fetch: fetchImpl }) {
    this.transport = new GrpcWebFetchTransport({ baseUrl, format, ...(fetchImpl ? { fetch: fetchImpl } : {}) });
    this.meta = { authorization: `Bearer ${token}` };
  }

  options(extra = {}) {
    return this.transport.mergeOptions({ ...extra, meta: { ...this.meta, ...(extra.meta ?? {}) } });
  }

  /** SubmitVideo: resolves to the queued Job. */
  async submitVideo({ url, subject, assessments, priority = 0 }, options) {
    const input = SubmitVideoRequest.create({ url, subject, priority });
    if (assessments !== undefined) input.assessments = assessments;
    const call = this.transport.unary(method("SubmitVideo"), input, this.options(options));
    return await call.response;
  }

  /**
   * WatchJobs: returns the ServerStreamingCall. `await call.headers` resolves
   * once the server has subscribed; iterate `call.responses` with
   * `for await`; pass `{ abort: AbortSignal }` in options to end the stream.
   */
  watchJobs(jobIds = [], options) {
    return this.transport.serverStreaming(method("WatchJobs"), WatchJobsRequest.create({ jobIds }), this.options(options));
  }
}

/** A one-line description of an event, e.g. "3 PROGRESS <id> PROCESSING 15% fetching transcript". */
export function describe(event) {
  const job = event.job ?? Job.create();
  const stage = job.stage ? ` ${job.stage}` : "";
  const type = JobEventType[event.type] ?? `TYPE_${event.type}`; // a newer server may send more types
  return `${event.sequence} ${type} ${event.jobId || "-"} ${JobState[job.state] ?? job.state} ${job.progressPercent}%${stage}`;
}

/**
 * Watches every job of the caller, submits `video` once the watch is live, and
 * resolves with the events of that job up to and including its final one
 * (COMPLETED, FAILED or CANCELLED). `onEvent` sees each of them as it arrives.
 */
export async function submitAndFollow(client, video, { timeoutMs = 30_000, onEvent = () => {} } = {}) {
  const abort = new AbortController();
  let timedOut = false;
  const timer = setTimeout(() => {
    timedOut = true;
    abort.abort();
  }, timeoutMs);
  try {
    const call = client.watchJobs([], { abort: abort.signal });
    await call.headers; // the server answers only after it has subscribed
    const job = await client.submitVideo(video, { abort: abort.signal });
    const seen = [];
    const final = [JobEventType.COMPLETED, JobEventType.FAILED, JobEventType.CANCELLED];
    for await (const event of call.responses) {
      if (event.jobId !== job.id) continue;
      seen.push(event);
      onEvent(event);
      if (final.includes(event.type)) {
        abort.abort(); // done: end the stream
        return { job, events: seen };
      }
    }
    throw new Error(`the stream ended before job ${job.id} finished`);
  } catch (error) {
    throw timedOut ? new Error(`no final event within ${timeoutMs} ms`, { cause: error }) : error;
  } finally {
    clearTimeout(timer);
  }
}
