// Pause and resume (PauseJobs / ResumeJobs): a batch, the person's own work,
// or (admin token) everyone's. Shows the pause in force (live.pauses: read
// with ListPauses, kept current by the calls' answers and the jobs' events),
// a confirmed Pause with an optional reason and an optional time it ends by
// itself, and a confirmed Resume.
import { useCallback, useState } from "preact/hooks";
import { timestampFromDate } from "@bufbuild/protobuf/wkt";
import { jobsApi, sentence } from "../api";
import { live, pauseKey } from "../live";
import { session } from "../session";
import { useSignal } from "../hooks";
import { pauseSentence } from "../format";
import type { PauseState } from "../gen/videojobs/v1/videojobs_pb";
import { Confirm } from "./confirm";

/** Nothing set: the person's own work. */
export interface PauseTarget { batchId?: string; userId?: string; everything?: boolean }

/**
 * `what` names the target in the question ("this batch", "your work",
 * "everyone's work"); `resumeOnly` shows only the pause and its Resume (a
 * job's page, for the pause that holds the job back).
 */
export function PauseControl(props: {
  target: PauseTarget; what: string; pauseLabel: string; resumeLabel: string;
  /** Said when the pauses in force were read and none is of the target. */
  unpaused?: string;
  resumeOnly?: boolean; testId?: string;
  /** The pause as a job showed it, until the page learns better. */
  known?: PauseState;
}) {
  useSignal(useCallback((l: () => void) => live.pauseChanged.add(l), []));
  const { target } = props;
  const key = pauseKey({ ...target, userId: target.userId ?? session.claims()?.sub });
  const [answered, setAnswered] = useState(false);
  // Once the pauses in force were read (or a call answered), the page knows; until then, the job's word.
  const pause = live.pauses.has(key) || answered || live.pausesRead ? live.pauses.get(key) : props.known;
  const [reason, setReason] = useState("");
  const [until, setUntil] = useState("");
  const [error, setError] = useState("");
  const [message, setMessage] = useState("");
  const request = { batchId: target.batchId ?? "", userId: target.userId ?? "", everything: !!target.everything };

  const doPause = async () => {
    setError(""); setMessage("");
    let resumeAt;
    if (until) {
      const at = new Date(until);
      if (Number.isNaN(at.getTime()) || at.getTime() <= Date.now()) {
        setError("The time it resumes by itself must be in the future."); return;
      }
      resumeAt = timestampFromDate(at);
    }
    const asked = Date.now();
    try {
      const state = await jobsApi.pauseJobs({ ...request, reason: reason.trim(), resumeAt });
      live.notePause(key, state);
      setAnswered(true);
      const already = state.pausedAt && Number(state.pausedAt.seconds) * 1000 < asked - 2000;
      setMessage(already ? "It was paused already; that pause stays as it was." : "Paused. Waiting jobs will not start until it is resumed; running ones finish.");
    } catch (e) { setError(sentence(e)); }
  };
  const doResume = async () => {
    setError(""); setMessage("");
    try {
      const state = await jobsApi.resumeJobs(request);
      live.notePause(key, state);
      setAnswered(true);
      setMessage("Resumed. Its waiting jobs take their turn again.");
    } catch (e) { setError(sentence(e)); }
  };

  return (
    <div class="pause" data-testid={props.testId} data-paused={pause ? "true" : "false"}>
      {pause
        ? <p class="paused-note"><strong>{props.what[0].toUpperCase() + props.what.slice(1)} is paused.</strong> {pauseSentence(pause)}</p>
        : props.unpaused && (live.pausesRead
          ? <p class="help">{props.unpaused}</p>
          : live.pausesError && <p class="help">Not paused as far as this page can tell (no waiting job shows a pause): it could not read the pauses in force. {live.pausesError}</p>)}
      <div class="actions">
        {pause
          ? <Confirm label={props.resumeLabel} question={`Resume ${props.what}?`} yes="Yes, resume" onYes={doResume} />
          : !props.resumeOnly && (
            <Confirm label={props.pauseLabel} question={`Pause ${props.what}? Waiting jobs do not start; running ones finish.`} yes="Yes, pause"
              onOpen={() => { setReason(""); setUntil(""); }}
              fields={() => (
                <>
                  <label>Reason (optional)
                    <input value={reason} maxLength={500} onInput={(e) => setReason((e.currentTarget as HTMLInputElement).value)} />
                  </label>
                  <label>Resume by itself at (optional)
                    <input type="datetime-local" value={until} onInput={(e) => setUntil((e.currentTarget as HTMLInputElement).value)} />
                  </label>
                </>
              )}
              onYes={doPause} />
          )}
      </div>
      {error && <p class="error" role="alert">{error}</p>}
      {message && <p class="ok" role="status">{message}</p>}
    </div>
  );
}
