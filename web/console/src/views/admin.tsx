// Operations, for an admin token: every user's jobs are in the list already
// (an admin's calls see everyone); here the queue (depth, oldest wait,
// running) from GetJobStats, throughput and failure rate over time, and
// the failure groups with a bulk retry, a confirmed pause / resume of
// everyone's work, and the node serving the page (GetNodeStatus, read with
// the stats) with a confirmed drain (DrainNode).
import { useCallback, useEffect, useState } from "preact/hooks";
import { jobsApi, sentence, date } from "../api";
import { live } from "../live";
import { useSignal } from "../hooks";
import { KIND_NAMES, seconds } from "../format";
import { JobState, type FailureGroup, type JobStats, type NodeStatus } from "../gen/videojobs/v1/videojobs_pb";
import { Confirm } from "./confirm";
import { Chart, type Series } from "./chart";
import { PauseControl } from "./pause";

const STATS_EVERY_MS = 5000;
const BUCKET_S = 60;
const WINDOW_BUCKETS = 60;

export function AdminView() {
  const [stats, setStats] = useState<JobStats | undefined>();
  const [error, setError] = useState("");
  const [node, setNode] = useState<NodeStatus | undefined>();
  const [nodeError, setNodeError] = useState("");
  useEffect(() => {
    let stop = false;
    const read = async () => {
      const readNode = jobsApi.getNodeStatus({}).then((n) => { if (!stop) { setNode(n); setNodeError(""); } },
        (e) => { if (!stop) setNodeError(sentence(e)); });
      try { setStats(await jobsApi.getJobStats({})); setError(""); } catch (e) { setError(sentence(e)); }
      await readNode;
      if (!stop) timer = window.setTimeout(read, STATS_EVERY_MS);
    };
    let timer = window.setTimeout(read, 0);
    return () => { stop = true; clearTimeout(timer); };
  }, []);
  return (
    <section aria-labelledby="ops-title">
      <h1 id="ops-title">Operations</h1>
      {error && <p class="error" role="alert">{error}</p>}
      {stats && (
        <dl class="stats" data-testid="stats">
          <div><dt>Queue depth</dt><dd>{String(stats.queueDepth)}</dd></div>
          <div><dt>Oldest wait</dt><dd>{seconds(stats.oldestWaitingSeconds)}</dd></div>
          <div><dt>Running</dt><dd>{String(stats.processing)}</dd></div>
          <div><dt>Retrying</dt><dd>{String(stats.retrying)}</dd></div>
          <div><dt>Completed</dt><dd>{String(stats.completed)}</dd></div>
          <div><dt>Failed</dt><dd>{String(stats.failed)}</dd></div>
          <div><dt>Success rate</dt><dd>{(stats.successRate * 100).toFixed(1)}%</dd></div>
          <div><dt>p95 run time</dt><dd>{seconds(stats.p95ProcessingSeconds)}</dd></div>
        </dl>
      )}
      <section aria-labelledby="pause-title" class="pause-all">
        <h2 id="pause-title">Pause everything</h2>
        <PauseControl target={{ everything: true }} what="everyone's work" pauseLabel="Pause everything…" resumeLabel="Resume everything"
          unpaused="Not paused: no pause of everyone's work is in force." testId="pause-everything" />
      </section>
      <ThisNode node={node} error={nodeError} onStatus={setNode} />
      <Charts />
      <FailureGroups />
    </section>
  );
}

function nodeState(node: NodeStatus): string {
  return node.drained ? "drained" : node.draining ? "draining" : "serving";
}

/**
 * The node that answered the page's calls (behind a balancer, whichever one
 * did): its name, state and running programs, and a confirmed drain.
 */
function ThisNode(props: { node: NodeStatus | undefined; error: string; onStatus: (node: NodeStatus) => void }) {
  const { node } = props;
  const [error, setError] = useState("");
  const drain = async () => {
    setError("");
    try { props.onStatus(await jobsApi.drainNode({ wait: false })); } catch (e) { setError(sentence(e)); }
  };
  const state = node && nodeState(node);
  const after = "Waiting jobs run on another node, or here once this node restarts (only a restart undoes a drain).";
  return (
    <section aria-labelledby="node-title" class="this-node" data-testid="node" data-state={state}>
      <h2 id="node-title">This node</h2>
      {(error || props.error) && <p class="error" role="alert">{error || props.error}</p>}
      {node && (
        <>
          <dl class="stats node-stats">
            <div class="node-name"><dt>Node</dt><dd>{node.node}</dd></div>
            <div><dt>State</dt><dd data-testid="node-state">{state}</dd></div>
            <div><dt>Programs running</dt><dd data-testid="node-running">{node.running}</dd></div>
          </dl>
          {node.draining
            ? <p class="help" role="status">{node.drained
              ? `Drained: it runs nothing and takes no new job. ${after}`
              : `Draining: it finishes the ${node.running} job${node.running === 1 ? "" : "s"} it runs and takes no new one. ${after}`}</p>
            : <Confirm label="Drain this node…" danger yes="Yes, drain it"
                question="Drain this node? It finishes the jobs it runs and takes no new ones; waiting jobs then need another node, or a restart of this one (only a restart undoes a drain)."
                onYes={drain} />}
        </>
      )}
    </section>
  );
}

/** Jobs finished per minute, and the share that failed, over the last hour of the jobs loaded (live). */
function Charts() {
  useSignal(useCallback((l: () => void) => live.list.add(l), []));
  const now = Math.floor(Date.now() / 1000 / BUCKET_S) * BUCKET_S;
  const xs: number[] = [];
  for (let i = WINDOW_BUCKETS - 1; i >= 0; i--) xs.push(now - i * BUCKET_S);
  const done = new Array(WINDOW_BUCKETS).fill(0);
  const failed = new Array(WINDOW_BUCKETS).fill(0);
  for (const job of live.jobs.values()) {
    if (job.state !== JobState.COMPLETED && job.state !== JobState.FAILED) continue;
    const at = date(job.finishedAt);
    if (!at) continue;
    const i = WINDOW_BUCKETS - 1 - Math.floor((now - Math.floor(at.getTime() / 1000 / BUCKET_S) * BUCKET_S) / BUCKET_S);
    if (i < 0 || i >= WINDOW_BUCKETS) continue;
    done[i]++;
    if (job.state === JobState.FAILED) failed[i]++;
  }
  const rate = done.map((d, i) => (d ? (100 * failed[i]) / d : null));
  const throughput: Series = { label: "finished / min", values: done, color: "#1f6feb" };
  const failures: Series = { label: "failed %", values: rate, color: "#c62828" };
  return (
    <div class="charts">
      <Chart title="Throughput (jobs finished per minute)" xs={xs} series={throughput} />
      <Chart title="Failure rate (% of finished jobs)" xs={xs} series={failures} />
    </div>
  );
}

function FailureGroups() {
  const [groups, setGroups] = useState<FailureGroup[] | undefined>();
  const [truncated, setTruncated] = useState(false);
  const [error, setError] = useState("");
  const [message, setMessage] = useState("");
  const load = async () => {
    try { const r = await jobsApi.listFailureGroups({}); setGroups(r.groups); setTruncated(r.truncated); }
    catch (e) { setError(sentence(e)); }
  };
  useEffect(() => { void load(); }, []);
  const retry = async (group: FailureGroup) => {
    setError(""); setMessage("");
    let retried = 0, skipped = 0;
    try {
      for (let more = true; more;) {
        const r = await jobsApi.retryFailedJobs({ filter: { kind: group.kind, reasonGroup: group.reasonGroup } });
        retried += r.retried; skipped += r.skipped; more = r.more && r.retried > 0;
      }
      setMessage(`Retried ${retried} job${retried === 1 ? "" : "s"}${skipped ? `; ${skipped} skipped (changed meanwhile, or the same video is already waiting)` : ""}.`);
    } catch (e) { setError(sentence(e)); }
    await load();
  };
  return (
    <section aria-labelledby="failures-title">
      <div class="title-row">
        <h2 id="failures-title">Failure groups</h2>
        <button type="button" onClick={() => void load()}>Refresh</button>
      </div>
      {error && <p class="error" role="alert">{error}</p>}
      {message && <p class="ok" role="status">{message}</p>}
      {groups && !groups.length && <p class="empty">No failed jobs.</p>}
      {truncated && <p class="help">More than 10,000 failed jobs: these are the newest.</p>}
      <ul class="groups">
        {groups?.map((group) => (
          <li class="group" data-kind={KIND_NAMES[group.kind]}>
            <div>
              <strong>{String(group.count)}</strong> × <span class="kind">{KIND_NAMES[group.kind] || "unknown"}</span>: <span class="reason">{group.reasonGroup || "(no reason)"}</span>
              {group.newest && <> — newest: <a href={`#/jobs/${group.newest.id}`}>{group.newest.url.replace(/^https:\/\/(www\.)?/, "")}</a></>}
            </div>
            <Confirm label="Retry all" question={`Retry all ${group.count} jobs of this group?`} yes="Yes, retry them" onYes={() => retry(group)} />
          </li>
        ))}
      </ul>
    </section>
  );
}
