// Submit one URL (SubmitVideo) or a pasted list (SubmitBatch, one job per
// line under one batch), with the subject, assessments and priority; each
// line's outcome (its job, or why it was refused) is shown beside it.
import { useState } from "preact/hooks";
import { jobsApi, sentence } from "../api";
import { live } from "../live";

interface Line { url: string; jobId?: string; error?: string }

export function SubmitView() {
  const [urls, setUrls] = useState("");
  const [subject, setSubject] = useState("");
  const [assessments, setAssessments] = useState(true);
  const [priority, setPriority] = useState(0);
  const [lines, setLines] = useState<Line[]>([]);
  const [error, setError] = useState("");
  const [batchId, setBatchId] = useState("");
  const [busy, setBusy] = useState(false);

  const submit = async (e: Event) => {
    e.preventDefault();
    const list = urls.split("\n").map((l) => l.trim()).filter((l) => l && !l.startsWith("#"));
    setError(""); setBatchId(""); setLines([]);
    if (!list.length) { setError("Paste at least one YouTube URL."); return; }
    setBusy(true);
    try {
      if (list.length === 1) {
        try {
          const job = await jobsApi.submitVideo({ url: list[0], subject, assessments, priority });
          live.put(job);
          setLines([{ url: list[0], jobId: job.id }]);
        } catch (err) {
          setLines([{ url: list[0], error: sentence(err) }]);
        }
      } else {
        const response = await jobsApi.submitBatch({ urls: list, subject, assessments, priority });
        setBatchId(response.batch?.id ?? "");
        setLines(response.items.map((item) => ({ url: item.url, jobId: item.jobId || undefined, error: item.error || undefined })));
      }
    } catch (err) {
      setError(sentence(err));
    } finally {
      setBusy(false);
    }
  };

  const refused = lines.filter((l) => l.error).length;
  return (
    <section aria-labelledby="submit-title">
      <h1 id="submit-title">Submit videos</h1>
      <form class="submit" onSubmit={submit}>
        <label for="urls">YouTube URLs, one a line</label>
        <textarea id="urls" rows={6} value={urls} spellcheck={false} required
          placeholder="https://youtu.be/dQw4w9WgXcQ" onInput={(e) => setUrls((e.currentTarget as HTMLTextAreaElement).value)} />
        <div class="row">
          <label>Subject
            <input value={subject} maxLength={100} onInput={(e) => setSubject((e.currentTarget as HTMLInputElement).value)} />
          </label>
          <label>Priority
            <input type="number" min={-100} max={100} value={priority}
              onInput={(e) => setPriority(Number((e.currentTarget as HTMLInputElement).value) || 0)} />
          </label>
          <label class="check">
            <input type="checkbox" checked={assessments} onChange={(e) => setAssessments((e.currentTarget as HTMLInputElement).checked)} />
            Write an assessment too
          </label>
        </div>
        <button type="submit" class="primary" disabled={busy}>{busy ? "Submitting…" : "Submit"}</button>
      </form>
      {error && <p class="error" role="alert">{error}</p>}
      {lines.length > 0 && (
        <>
          <h2>Result</h2>
          <p role="status">
            {lines.length - refused} queued, {refused} refused
            {batchId && <> in batch <a href={`#/jobs?batch=${batchId}`}>{batchId.slice(0, 13)}…</a></>}.
          </p>
          <ol class="lines" aria-label="Submitted lines">
            {lines.map((line) => (
              <li class={line.error ? "refused" : "queued"} data-url={line.url}>
                <code>{line.url}</code>
                {line.jobId ? <a href={`#/jobs/${line.jobId}`}>queued — open the job</a>
                  : <span class="error line-error">{line.error}</span>}
              </li>
            ))}
          </ol>
        </>
      )}
    </section>
  );
}
