// Batches, newest first, with their counts kept live by the events of their
// children, a confirmed pause (with a reason and an optional time it ends by
// itself) and resume, and a confirmed cancel.
import { useCallback, useEffect, useState } from "preact/hooks";
import { jobsApi, sentence, when } from "../api";
import { live } from "../live";
import { useSignal } from "../hooks";
import { BATCH_NAMES } from "../format";
import { BatchState, JobState, type Batch } from "../gen/videojobs/v1/videojobs_pb";
import { Confirm } from "./confirm";
import { PauseControl } from "./pause";

export function BatchesView() {
  const [batches, setBatches] = useState<Batch[]>([]);
  const [next, setNext] = useState("");
  const [error, setError] = useState("");
  const load = async (token: string) => {
    try {
      const page = await jobsApi.listBatches({ pageSize: 50, pageToken: token });
      setBatches((b) => (token ? [...b, ...page.batches] : page.batches));
      setNext(page.nextPageToken);
      // No call reads a batch's pause; a waiting child shows it (Job.paused).
      for (const batch of page.batches) {
        if (batch.state !== BatchState.RUNNING || !batch.queued) continue;
        void jobsApi.listJobs({ batchId: batch.id, states: [JobState.QUEUED, JobState.RETRYING], pageSize: 1 })
          .then((r) => { const p = r.jobs[0]?.paused; if (p?.paused && p.batchId === batch.id) live.notePause(`batch:${batch.id}`, p); }, () => {});
      }
    } catch (e) { setError(sentence(e)); }
  };
  useEffect(() => { void load(""); }, []);
  useSignal(useCallback((l: () => void) => live.batchChanged.add(l), []));
  const shown = batches.map((b) => live.batches.get(b.id) ?? b);
  return (
    <section aria-labelledby="batches-title">
      <h1 id="batches-title">Batches</h1>
      {error && <p class="error" role="alert">{error}</p>}
      {!shown.length && !error && <p class="empty">No batches yet. Paste several URLs on <a href="#/submit">Submit</a>.</p>}
      <ul class="batches">
        {shown.map((batch) => (
          <li class="batch" data-batch-id={batch.id}>
            <div class="title-row">
              <a href={`#/jobs?batch=${batch.id}`}><strong>{batch.subject || "Batch"}</strong> · {when(batch.createdAt)}</a>
              <span class="state">{BATCH_NAMES[batch.state]}</span>
            </div>
            <Counts batch={batch} />
            {batch.state === BatchState.RUNNING && (
              <PauseControl target={{ batchId: batch.id }} what="this batch" pauseLabel="Pause batch…" resumeLabel="Resume batch" />
            )}
            {batch.state === BatchState.RUNNING && (
              <Confirm label="Cancel batch" danger question="Cancel every job of this batch that has not finished?" yes="Yes, cancel them"
                onYes={async () => {
                  try { const b = await jobsApi.cancelBatch({ batchId: batch.id }); live.batches.set(b.id, b); live.batchChanged.emit(); }
                  catch (e) { setError(sentence(e)); }
                }} />
            )}
          </li>
        ))}
      </ul>
      {next && <button type="button" onClick={() => void load(next)}>Load more</button>}
    </section>
  );
}

function Counts({ batch }: { batch: Batch }) {
  const done = batch.completed + batch.failed + batch.cancelled;
  return (
    <div class="counts">
      <progress max={batch.total || 1} value={done} aria-label="Finished jobs" />
      <span>{batch.total} job{batch.total === 1 ? "" : "s"}: {batch.queued} waiting, {batch.processing} running, {batch.completed} completed, {batch.failed} failed, {batch.cancelled} cancelled</span>
    </div>
  );
}
