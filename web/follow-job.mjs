// Submits a video over gRPC-web and follows the job over WatchJobs until it
// completes; exits non-zero on anything else.
//
//   VIDEOJOBS_TOKEN=$(videojobs token --user alice) node web/follow-job.mjs http://127.0.0.1:50051 [binary|text]
//
// Prints one line per event of the job, then "COMPLETED <job id> notes=<n>".
// Also checks that a call without a token fails with UNAUTHENTICATED, i.e.
// that the gRPC status travels in the gRPC-web trailers.
import { RpcError } from "@protobuf-ts/runtime-rpc";
import { JobEventType, JobServiceClient, JobState, describe, submitAndFollow } from "./videojobs-client.mjs";

const VIDEO = { url: "https://youtu.be/dQw4w9WgXcQ", subject: "Physics" };

function check(condition, message) {
  if (!condition) throw new Error(message);
}

async function main() {
  const [baseUrl, format = "binary"] = process.argv.slice(2);
  const token = process.env.VIDEOJOBS_TOKEN;
  check(baseUrl && token, "usage: VIDEOJOBS_TOKEN=<jwt> node follow-job.mjs <base url> [binary|text]");
  check(format === "binary" || format === "text", `format must be binary or text, not ${format}`);

  const anonymous = new JobServiceClient({ baseUrl, token: "not-a-token", format });
  try {
    await anonymous.submitVideo(VIDEO);
    throw new Error("SubmitVideo with a forged token succeeded");
  } catch (error) {
    check(error instanceof RpcError && error.code === "UNAUTHENTICATED", `expected UNAUTHENTICATED, got ${error}`);
    console.log("UNAUTHENTICATED with a forged token");
  }

  const client = new JobServiceClient({ baseUrl, token, format });
  const { job, events } = await submitAndFollow(client, VIDEO, {
    onEvent: (event) => console.log(`EVENT ${describe(event)}`),
  });
  check(job.state === JobState.QUEUED && job.videoId === "dQw4w9WgXcQ", `unexpected submitted job ${JSON.stringify(job)}`);

  const types = events.map((e) => e.type);
  check(types[0] === JobEventType.QUEUED, `first event is ${JobEventType[types[0]]}, not QUEUED`);
  check(types.includes(JobEventType.PROCESSING), "no PROCESSING event");
  check(types.includes(JobEventType.PROGRESS), "no PROGRESS event");
  const sequences = events.map((e) => e.sequence);
  check(
    sequences.every((s, i) => i === 0 || s > sequences[i - 1]),
    `sequences do not increase: ${sequences.join(",")}`,
  );
  const last = events.at(-1);
  check(last.type === JobEventType.COMPLETED, `job ended ${JobEventType[last.type]}: ${last.job?.error}`);
  const done = last.job;
  check(done.state === JobState.COMPLETED && done.progressPercent === 100, `final job ${JSON.stringify(done)}`);
  check(done.finishedAt && done.finishedAt.seconds > 0, "the completed job has no finished_at");
  console.log(`COMPLETED ${done.id} notes=${done.noteIds.length}`);
}

main().catch((error) => {
  console.error(`FAILED: ${error?.stack ?? error}`);
  process.exit(1);
});
