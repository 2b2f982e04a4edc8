// The public API, and nothing else: Connect clients generated from proto/
// (protoc-gen-es) over the gRPC-web transport, same origin, every call with
// the person's bearer token. Errors become sentences here, once.
import { Code, ConnectError, createClient, type Client, type Interceptor } from "@connectrpc/connect";
import { createGrpcWebTransport } from "@connectrpc/connect-web";
import { timestampDate, type Timestamp } from "@bufbuild/protobuf/wkt";
import { JobService, NoteService } from "./gen/videojobs/v1/videojobs_pb";
import { session } from "./session";

const bearer: Interceptor = (next) => async (request) => {
  const token = session.token();
  if (token) request.header.set("authorization", `Bearer ${token}`);
  try {
    return await next(request);
  } catch (error) {
    // An expired or refused token sends the person back to sign-in.
    if (error instanceof ConnectError && error.code === Code.Unauthenticated) session.expire(error.rawMessage);
    throw error;
  }
};

const transport = createGrpcWebTransport({
  baseUrl: location.origin,
  useBinaryFormat: true,
  interceptors: [bearer],
});

export const jobsApi: Client<typeof JobService> = createClient(JobService, transport);
export const notesApi: Client<typeof NoteService> = createClient(NoteService, transport);

const SENTENCES: Partial<Record<Code, string>> = {
  [Code.InvalidArgument]: "The server did not accept that",
  [Code.NotFound]: "That no longer exists, or it is not yours",
  [Code.FailedPrecondition]: "That cannot be done in the job's current state",
  [Code.Unauthenticated]: "Your sign-in is no longer valid; please sign in again",
  [Code.PermissionDenied]: "Your token is not allowed to do that",
  [Code.ResourceExhausted]: "The server is busy (its queue is full); try again in a moment",
  [Code.Unavailable]: "The server cannot be reached right now; try again in a moment",
  [Code.DeadlineExceeded]: "The server took too long to answer; try again",
  [Code.OutOfRange]: "That is beyond what the server keeps",
  [Code.Canceled]: "The request was stopped",
  [Code.Internal]: "Something went wrong on the server; try again, and tell its operator if it persists",
};

/** Any error as one sentence for a person, with the server's own words when it gave some. */
export function sentence(error: unknown): string {
  if (error instanceof ConnectError) {
    const head = SENTENCES[error.code] ?? "The request failed";
    const detail = error.rawMessage.trim();
    const useful = detail && !/^(fetch failed|Failed to fetch|NetworkError.*|Load failed|missing trailer)$/i.test(detail);
    return useful && error.code !== Code.Internal ? `${head}: ${detail}.` : `${head}.`;
  }
  if (error instanceof Error) return `Something went wrong: ${error.message}.`;
  return "Something went wrong.";
}

export function isCode(error: unknown, code: Code): boolean {
  return error instanceof ConnectError && error.code === code;
}

export function date(ts: Timestamp | undefined): Date | undefined {
  return ts && (ts.seconds !== 0n || ts.nanos !== 0) ? timestampDate(ts) : undefined;
}

export function when(ts: Timestamp | undefined): string {
  const d = date(ts);
  return d ? d.toLocaleString(undefined, { dateStyle: "short", timeStyle: "medium" }) : "—";
}

export function sleep(ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    const timer = setTimeout(resolve, ms);
    signal?.addEventListener("abort", () => { clearTimeout(timer); resolve(); }, { once: true });
  });
}
