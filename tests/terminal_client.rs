//! The terminal client, black-box: the real `videojobs` binary run as a user
//! would run it (`submit`, `watch`, `jobs`, `notes`, `logs`, `pause`, `resume`) against a real server,
//! checking what it prints and its exit status. Settings reach the child
//! through its flags and its own environment only.
mod common;

use std::path::Path;
use std::time::Duration;

use common::*;
use rcgen::{
    BasicConstraints, CertificateParams, DnType, ExtendedKeyUsagePurpose, IsCa, Issuer, KeyPair, KeyUsagePurpose,
};
use serde_json::Value;
use videojobs::config::{Secret, TlsConfig};
use videojobs::proto::v1 as pb;

const GOOD: &str = "https://youtu.be/dQw4w9WgXcQ";
const FAILING: &str = "https://youtu.be/fail0000001";
/// Client settings a developer's shell might hold; no child inherits them.
const CLIENT_ENV: [&str; 7] = [
    "VIDEOJOBS_ADDR",
    "VIDEOJOBS_TOKEN",
    "VIDEOJOBS_DATA_DIR",
    "VIDEOJOBS_JWT_SECRET",
    "VIDEOJOBS_CA_CERT",
    "VIDEOJOBS_CLIENT_CERT",
    "VIDEOJOBS_CLIENT_KEY",
];

struct Run {
    status: i32,
    stdout: String,
    stderr: String,
}

impl Run {
    /// Every stdout line as a JSON object.
    fn json_lines(&self) -> Vec<Value> {
        self.stdout
            .lines()
            .map(|line| serde_json::from_str(line).unwrap_or_else(|e| panic!("{line:?} is not JSON: {e}")))
            .collect()
    }
}

impl std::fmt::Debug for Run {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "status {}\n--- stdout\n{}--- stderr\n{}", self.status, self.stdout, self.stderr)
    }
}

/// Runs the binary with `args` and the child-only environment `env`.
async fn run(args: &[&str], env: &[(&str, &str)]) -> Run {
    let mut command = tokio::process::Command::new(env!("CARGO_BIN_EXE_videojobs"));
    command.args(args).kill_on_drop(true).stdin(std::process::Stdio::null());
    for name in CLIENT_ENV {
        command.env_remove(name);
    }
    command.envs(env.iter().copied());
    let output = tokio::time::timeout(WAIT, command.output())
        .await
        .unwrap_or_else(|_| panic!("videojobs {args:?} did not end"))
        .unwrap();
    let run = Run {
        status: output.status.code().unwrap_or(-1),
        stdout: String::from_utf8_lossy(&output.stdout).into_owned(),
        stderr: String::from_utf8_lossy(&output.stderr).into_owned(),
    };
    assert!(!run.stderr.contains("panicked") && !run.stderr.contains("backtrace"), "{run:?}");
    run
}

/// Runs `args` against `server` as `user`, the token given by flag.
async fn as_user(server: &TestServer, user: &str, args: &[&str]) -> Run {
    let addr = format!("http://{}", server.addr);
    let token = server.token(user);
    let mut all = args.to_vec();
    all.extend(["--addr", &addr, "--token", &token]);
    run(&all, &[]).await
}

fn one_job(run: &Run) -> Value {
    let lines = run.json_lines();
    assert_eq!(lines.len(), 1, "{run:?}");
    lines.into_iter().next().unwrap()
}

#[tokio::test]
async fn submit_and_watch_a_good_video_ends_completed_with_its_notes() {
    let (server, _dir) = TestServer::embedded().start().await;
    let done = as_user(&server, "alice", &["submit", GOOD, "--subject", "Physics", "--watch"]).await;
    assert_eq!(done.status, 0, "{done:?}");
    let job_id = done.stdout.lines().next().unwrap().trim().to_string();
    let job = server.jobs("alice").await.get_job(pb::GetJobRequest { job_id: job_id.clone() }).await.unwrap();
    let job = job.into_inner();
    assert_eq!(state(&job), pb::JobState::Completed);
    assert_eq!(job.subject, "Physics");
    let summary = done.stdout.lines().find(|l| l.contains("COMPLETED")).unwrap_or_else(|| panic!("{done:?}"));
    assert!(summary.starts_with(&job_id), "{done:?}");
    assert!(!job.note_ids.is_empty());
    for note_id in &job.note_ids {
        assert!(summary.contains(note_id.as_str()), "{done:?}");
    }

    let json = as_user(&server, "alice", &["submit", GOOD, "--watch", "--json", "--no-assessments"]).await;
    assert_eq!(json.status, 0, "{json:?}");
    let job = one_job(&json);
    assert_eq!(job["state"], "COMPLETED", "{json:?}");
    assert_eq!(job["assessments"], false);
    assert_eq!(job["note_ids"].as_array().unwrap().len(), 1, "notes only");
    let id = job["id"].as_str().unwrap();
    let stored = server.jobs("alice").await.get_job(pb::GetJobRequest { job_id: id.into() }).await.unwrap();
    assert_eq!(state(&stored.into_inner()), pb::JobState::Completed);

    // Without --watch, submit answers at once with the queued job.
    let queued = as_user(&server, "alice", &["submit", GOOD, "--json", "--priority", "-5"]).await;
    assert_eq!(queued.status, 0, "{queued:?}");
    assert_eq!(one_job(&queued)["priority"], -5);
    server.stop().await;
}

#[tokio::test]
async fn a_failing_video_ends_the_watch_non_zero_with_the_programs_reason() {
    let (server, _dir) = TestServer::embedded().with(|c| c.retry.max_attempts = 1).start().await;
    let failed = as_user(&server, "alice", &["submit", FAILING, "--watch"]).await;
    assert_eq!(failed.status, 1, "{failed:?}");
    let summary = failed.stdout.lines().find(|l| l.contains("FAILED")).unwrap_or_else(|| panic!("{failed:?}"));
    assert!(summary.contains("No transcript found"), "{failed:?}");
    assert!(summary.contains("(attempt 1 of 1, permanent)"), "the kind is shown: {summary}");

    // A later watch of finished jobs reports them at once from their snapshots.
    let failed_id = failed.stdout.lines().next().unwrap().trim().to_string();
    let mut jobs = server.jobs("alice").await;
    let good = jobs.submit_video(submit("dQw4w9WgXcQ")).await.unwrap().into_inner();
    wait_final(&mut jobs, &good.id).await;
    let completed = as_user(&server, "alice", &["watch", &good.id]).await;
    assert_eq!(completed.status, 0, "{completed:?}");
    assert!(completed.stdout.contains(&format!("{} COMPLETED", good.id)), "{completed:?}");
    let both = as_user(&server, "alice", &["watch", &good.id, &failed_id, "--json"]).await;
    assert_eq!(both.status, 1, "{both:?}");
    let mut states: Vec<_> = both.json_lines().iter().map(|j| j["state"].as_str().unwrap().to_string()).collect();
    states.sort();
    assert_eq!(states, ["COMPLETED", "FAILED"]);
    server.stop().await;
}

#[tokio::test]
async fn failures_are_listed_by_group_and_retried_by_kind_from_the_terminal() {
    let (server, _dir) = TestServer::embedded().with(|c| c.retry.max_attempts = 1).start().await;
    let mut jobs = server.jobs("alice").await;
    let mut ids = Vec::new();
    for video in ["offline0001", "offline0002", "fail0000001"] {
        ids.push(jobs.submit_video(submit(video)).await.unwrap().into_inner().id);
    }
    for id in &ids {
        assert_eq!(state(&wait_final(&mut jobs, id).await), pb::JobState::Failed);
    }
    let listed = as_user(&server, "alice", &["jobs", "failures"]).await;
    assert_eq!(listed.status, 0, "{listed:?}");
    let lines: Vec<_> = listed.stdout.lines().collect();
    assert_eq!(lines.len(), 2, "{listed:?}");
    assert!(lines[0].trim_start().starts_with("2  transient"), "{listed:?}");
    assert!(lines[0].contains("both tor and yt-dlp fallback failed"), "{listed:?}");
    assert!(lines[1].trim_start().starts_with("1  permanent"), "{listed:?}");

    let retried = as_user(&server, "alice", &["jobs", "retry-failed", "--kind", "transient", "--json"]).await;
    assert_eq!(retried.status, 0, "{retried:?}");
    assert_eq!(retried.json_lines()[0]["retried"], 2, "{retried:?}");
    let bad = as_user(&server, "alice", &["jobs", "retry-failed", "--batch", "nope"]).await;
    assert_ne!(bad.status, 0, "{bad:?}");
    assert!(bad.stderr.contains("batch_id"), "the error names the field: {bad:?}");
    server.stop().await;
}

#[tokio::test]
async fn jobs_and_notes_commands_show_and_change_finished_jobs() {
    let (server, dir) = TestServer::embedded().start().await;
    let mut jobs = server.jobs("alice").await;
    let job = jobs.submit_video(submit("dQw4w9WgXcQ")).await.unwrap().into_inner();
    wait_final(&mut jobs, &job.id).await;

    let listed = as_user(&server, "alice", &["jobs", "list"]).await;
    assert_eq!(listed.status, 0, "{listed:?}");
    let row = listed.stdout.lines().find(|l| l.starts_with(&job.id)).unwrap_or_else(|| panic!("{listed:?}"));
    assert!(row.contains("COMPLETED") && row.contains("dQw4w9WgXcQ"), "{listed:?}");
    let completed =
        as_user(&server, "alice", &["jobs", "list", "--state", "completed", "--json", "--limit", "5"]).await;
    assert_eq!(completed.json_lines().len(), 1, "{completed:?}");
    let none = as_user(&server, "alice", &["jobs", "list", "--state", "failed,cancelled", "--json"]).await;
    assert_eq!((none.status, none.stdout.as_str()), (0, ""), "{none:?}");
    let bob = as_user(&server, "bob", &["jobs", "list", "--json"]).await;
    assert_eq!((bob.status, bob.stdout.as_str()), (0, ""), "another user sees nothing: {bob:?}");

    let got = as_user(&server, "alice", &["jobs", "get", &job.id, "--json"]).await;
    let got = one_job(&got);
    assert_eq!((got["id"].as_str(), got["state"].as_str()), (Some(job.id.as_str()), Some("COMPLETED")));
    let text = as_user(&server, "alice", &["jobs", "get", &job.id]).await;
    assert!(text.stdout.contains("COMPLETED") && text.stdout.contains("Physics"), "{text:?}");

    let cancel = as_user(&server, "alice", &["jobs", "cancel", &job.id]).await;
    assert_eq!(cancel.status, 1, "{cancel:?}");
    assert!(cancel.stderr.contains("FAILED_PRECONDITION"), "{cancel:?}");
    assert_eq!(cancel.stderr.trim().lines().count(), 1, "one line: {cancel:?}");
    let retry = as_user(&server, "alice", &["jobs", "retry", &job.id]).await;
    assert!(retry.status == 1 && retry.stderr.contains("FAILED_PRECONDITION"), "{retry:?}");

    let notes = as_user(&server, "alice", &["notes", "list", "--job", &job.id, "--json"]).await;
    let notes = notes.json_lines();
    let note = notes.iter().find(|n| n["kind"] == "NOTES").unwrap_or_else(|| panic!("{notes:?}"));
    let note_id = note["id"].as_str().unwrap();
    let file = dir.path().join("lecture.md");
    let written = as_user(&server, "alice", &["notes", "get", note_id, "--output", file.to_str().unwrap()]).await;
    assert_eq!(written.status, 0, "{written:?}");
    let markdown = std::fs::read_to_string(&file).unwrap();
    assert!(markdown.starts_with("# Lecture dQw4w9WgXcQ"), "{markdown}");
    let printed = as_user(&server, "alice", &["notes", "get", note_id]).await;
    assert_eq!(printed.stdout.trim_end(), markdown.trim_end());
    let table = as_user(&server, "alice", &["notes", "list"]).await;
    assert!(table.stdout.contains(note_id) && table.stdout.contains("Lecture dQw4w9WgXcQ"), "{table:?}");

    let deleted = as_user(&server, "alice", &["jobs", "delete", &job.id]).await;
    assert_eq!(deleted.status, 0, "{deleted:?}");
    let gone = as_user(&server, "alice", &["jobs", "get", &job.id]).await;
    assert!(gone.status == 1 && gone.stderr.contains("NOT_FOUND"), "{gone:?}");
    server.stop().await;
}

#[tokio::test]
async fn usage_mistakes_exit_2_and_other_failures_exit_1_on_one_line() {
    let (server, _dir) = TestServer::embedded().start().await;
    let bad_url = as_user(&server, "alice", &["submit", "https://example.com/watch?v=nope"]).await;
    assert_eq!(bad_url.status, 2, "{bad_url:?}");
    assert!(bad_url.stderr.contains("INVALID_ARGUMENT") && bad_url.stderr.contains("url"), "{bad_url:?}");
    assert_eq!(bad_url.stdout, "");

    // The good URL beside a bad one is still submitted; the status tells of the bad one.
    let mixed = as_user(&server, "alice", &["submit", "not a url", GOOD, "--json"]).await;
    assert_eq!(mixed.status, 2, "{mixed:?}");
    assert_eq!(one_job(&mixed)["video_id"], "dQw4w9WgXcQ");

    let bad_id = as_user(&server, "alice", &["jobs", "get", "not-an-id"]).await;
    assert!(bad_id.status == 2 && bad_id.stderr.contains("job_id"), "{bad_id:?}");
    let bad_state = as_user(&server, "alice", &["jobs", "list", "--state", "bogus"]).await;
    assert_eq!(bad_state.status, 2, "{bad_state:?}");
    let forged = run(&["jobs", "list", "--addr", &format!("http://{}", server.addr), "--token", "forged"], &[]).await;
    assert!(forged.status == 1 && forged.stderr.contains("UNAUTHENTICATED"), "{forged:?}");

    // Nothing listens on port 1 of this host.
    let unreachable = run(&["jobs", "list", "--addr", "http://127.0.0.1:1", "--token", "x"], &[]).await;
    assert!(unreachable.status == 1 && unreachable.stderr.contains("UNAVAILABLE"), "{unreachable:?}");
    server.stop().await;
}

#[tokio::test]
async fn without_a_token_one_is_minted_for_the_local_user() {
    let (server, _dir) = TestServer::embedded().start().await;
    let mut jobs = server.jobs("carol").await;
    let job = jobs.submit_video(submit("dQw4w9WgXcQ")).await.unwrap().into_inner();
    let addr = format!("http://{}", server.addr);
    let elsewhere = tempfile::tempdir().unwrap();
    let data_dir = elsewhere.path().to_str().unwrap();

    // VIDEOJOBS_JWT_SECRET, as the server has it: the token is carol's.
    let env = [("VIDEOJOBS_JWT_SECRET", SECRET), ("USER", "carol"), ("VIDEOJOBS_ADDR", addr.as_str())];
    let listed = run(&["jobs", "list", "--json", "--data-dir", data_dir], &env).await;
    assert_eq!(listed.status, 0, "{listed:?}");
    assert_eq!(one_job(&listed)["id"], job.id.as_str());

    // No token, no secret, no data directory: a usage error saying what to do.
    let missing = elsewhere.path().join("absent");
    let env = [("USER", "carol"), ("VIDEOJOBS_DATA_DIR", missing.to_str().unwrap())];
    let refused = run(&["jobs", "list", "--addr", &addr], &env).await;
    assert!(refused.status == 2 && refused.stderr.contains("--token"), "{refused:?}");
    assert!(!missing.exists(), "nothing is created in a data directory that is not there");
    server.stop().await;
}

#[tokio::test]
async fn a_token_is_minted_from_the_secret_a_local_server_keeps_in_its_data_directory() {
    let (server, dir) = TestServer::embedded().with(|c| c.jwt_secret = None).start().await;
    let secret_file = dir.path().join("jwt-secret");
    tokio::time::timeout(WAIT, async {
        while !secret_file.exists() {
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    })
    .await
    .expect("the server writes its secret");
    let addr = format!("http://{}", server.addr);
    let env = [("USER", "dave"), ("VIDEOJOBS_DATA_DIR", dir.path().to_str().unwrap())];
    let submitted = run(&["submit", GOOD, "--watch", "--json", "--addr", &addr], &env).await;
    assert_eq!(submitted.status, 0, "{submitted:?}");
    assert_eq!(one_job(&submitted)["state"], "COMPLETED");
    server.stop().await;
}

/// A CA, a server certificate for 127.0.0.1 and a client certificate, as PEM files in `dir`.
fn tls_files(dir: &Path) -> (String, String, String) {
    let mut ca_params = CertificateParams::new(Vec::<String>::new()).unwrap();
    ca_params.distinguished_name.push(DnType::CommonName, "terminal client test CA");
    ca_params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
    ca_params.key_usages = vec![KeyUsagePurpose::KeyCertSign, KeyUsagePurpose::CrlSign];
    let ca_key = KeyPair::generate().unwrap();
    let ca_pem = ca_params.self_signed(&ca_key).unwrap().pem();
    let issuer = Issuer::new(ca_params, ca_key);
    let leaf = |names: Vec<String>, usage| {
        let mut params = CertificateParams::new(names).unwrap();
        params.key_usages = vec![KeyUsagePurpose::DigitalSignature];
        params.extended_key_usages = vec![usage];
        let key = KeyPair::generate().unwrap();
        (params.signed_by(&key, &issuer).unwrap().pem(), key.serialize_pem())
    };
    let (server_cert, server_key) = leaf(vec!["127.0.0.1".into()], ExtendedKeyUsagePurpose::ServerAuth);
    let (client_cert, client_key) = leaf(vec![], ExtendedKeyUsagePurpose::ClientAuth);
    std::fs::write(dir.join("ca.pem"), &ca_pem).unwrap();
    std::fs::write(dir.join("client.pem"), client_cert).unwrap();
    std::fs::write(dir.join("client.key"), client_key).unwrap();
    (ca_pem, server_cert, server_key)
}

#[tokio::test]
async fn https_addresses_use_tls_with_the_given_ca_and_client_certificate() {
    let files = tempfile::tempdir().unwrap();
    let (ca_pem, cert_pem, key_pem) = tls_files(files.path());
    let (server, _dir) = TestServer::embedded()
        .with(|c| c.tls = Some(TlsConfig { cert_pem, key_pem: Secret::new(key_pem), client_ca_pem: Some(ca_pem) }))
        .start()
        .await;
    let addr = format!("https://{}", server.addr);
    let token = server.token("erin");
    let path = |name: &str| files.path().join(name).display().to_string();
    let (ca, cert, key) = (path("ca.pem"), path("client.pem"), path("client.key"));
    let base = ["jobs", "list", "--json", "--addr", &addr, "--token", &token];

    let mutual =
        run(&[&base[..], &["--ca-cert", &ca, "--client-cert", &cert, "--client-key", &key]].concat(), &[]).await;
    assert_eq!((mutual.status, mutual.stdout.as_str()), (0, ""), "{mutual:?}");
    let by_env = run(
        &base,
        &[("VIDEOJOBS_CA_CERT", ca.as_str()), ("VIDEOJOBS_CLIENT_CERT", &cert), ("VIDEOJOBS_CLIENT_KEY", &key)],
    )
    .await;
    assert_eq!(by_env.status, 0, "{by_env:?}");

    let no_client_cert = run(&[&base[..], &["--ca-cert", &ca]].concat(), &[]).await;
    assert_eq!(no_client_cert.status, 1, "{no_client_cert:?}");
    let system_roots = run(&base, &[]).await;
    assert!(system_roots.status == 1 && system_roots.stderr.contains("UNAVAILABLE"), "{system_roots:?}");
    let half = run(&[&base[..], &["--ca-cert", &ca, "--client-cert", &cert]].concat(), &[]).await;
    assert_eq!(half.status, 2, "a certificate without its key is a usage error: {half:?}");
    server.stop().await;
}

#[tokio::test]
async fn logs_prints_an_attempts_output_and_follows_a_running_one_to_its_end() {
    let (server, dir) = TestServer::embedded().start().await;
    let mut jobs = server.jobs("alice").await;
    // Fails once, then completes: two attempts, each with its own output.
    let flaky = jobs.submit_video(submit("flaky000002")).await.unwrap().into_inner().id;
    wait_final(&mut jobs, &flaky).await;
    let latest = as_user(&server, "alice", &["logs", &flaky]).await;
    assert_eq!(latest.status, 0, "{latest:?}");
    assert!(latest.stdout.lines().last().unwrap().contains("COMPLETE: 1/1"), "{latest:?}");
    let first = as_user(&server, "alice", &["logs", &flaky, "--attempt", "1", "--json"]).await;
    let lines = first.json_lines();
    assert!(lines.iter().all(|line| line["attempt"] == 1), "{first:?}");
    assert!(
        lines.iter().any(|line| line["stream"] == "stderr" && line["text"].as_str().unwrap().contains("✗ Job failed"))
    );
    let detail = as_user(&server, "alice", &["jobs", "get", &flaky]).await;
    assert!(detail.stdout.contains("#1 FAILED transient"), "{detail:?}");
    assert!(detail.stdout.contains("#2 SUCCEEDED"), "{detail:?}");

    // Follows a running attempt: it waits at a gate until the client is following.
    let gated = jobs.submit_video(submit("gate0000002")).await.unwrap().into_inner().id;
    let addr = format!("http://{}", server.addr);
    let token = server.token("alice");
    let mut follower = tokio::process::Command::new(env!("CARGO_BIN_EXE_videojobs"))
        .args(["logs", &gated, "--follow", "--addr", &addr, "--token", &token])
        .stdout(std::process::Stdio::piped())
        .kill_on_drop(true)
        .spawn()
        .unwrap();
    let mut printed = tokio::io::BufReader::new(follower.stdout.take().unwrap());
    let mut seen = String::new();
    tokio::time::timeout(WAIT, async {
        use tokio::io::AsyncBufReadExt;
        while !seen.contains("waiting for the gate") {
            assert!(printed.read_line(&mut seen).await.unwrap() > 0, "ended early: {seen}");
        }
    })
    .await
    .expect("the first lines are printed");
    let scratch = dir.path().join("scratch");
    std::fs::write(scratch.join("gate0000002.open"), b"").unwrap();
    std::fs::write(scratch.join("gate0000002.finish"), b"").unwrap();
    let rest = tokio::time::timeout(WAIT, async {
        use tokio::io::AsyncReadExt;
        let mut rest = String::new();
        printed.read_to_string(&mut rest).await.unwrap();
        rest
    })
    .await
    .expect("--follow ends with the attempt");
    assert!(rest.contains("the gate is open") && rest.contains("COMPLETE: 1/1"), "{rest}");
    assert!(follower.wait().await.unwrap().success());
    server.stop().await;
}

#[tokio::test]
async fn pause_and_resume_from_the_terminal() {
    let (server, _dir) = TestServer::embedded().start().await;
    let paused = as_user(&server, "alice", &["pause", "--reason", "lunch", "--json"]).await;
    assert_eq!(paused.status, 0, "{paused:?}");
    let pause = one_job(&paused);
    assert_eq!((pause["paused"].as_bool(), pause["user_id"].as_str()), (Some(true), Some("alice")), "{pause}");
    assert_eq!(pause["reason"], "lunch");

    let mut jobs = server.jobs("alice").await;
    let job = jobs.submit_video(submit("dQw4w9WgXcQ")).await.unwrap().into_inner();
    let shown = as_user(&server, "alice", &["jobs", "get", &job.id]).await;
    assert!(shown.stdout.contains("paused: lunch") && shown.stdout.contains("alice's work (lunch)"), "{shown:?}");
    let shown = one_job(&as_user(&server, "alice", &["jobs", "get", &job.id, "--json"]).await);
    assert_eq!(shown["paused"]["reason"], "lunch", "{shown}");

    let everyone = as_user(&server, "alice", &["pause", "--all"]).await;
    assert!(everyone.status == 1 && everyone.stderr.contains("PERMISSION_DENIED"), "{everyone:?}");
    let both = as_user(&server, "alice", &["pause", "--all", "--user", "bob"]).await;
    assert_eq!(both.status, 2, "one target at most: {both:?}");

    let resumed = as_user(&server, "alice", &["resume"]).await;
    assert_eq!((resumed.status, resumed.stdout.trim()), (0, "not paused: alice's work"), "{resumed:?}");
    let watched = as_user(&server, "alice", &["watch", &job.id]).await;
    assert_eq!(watched.status, 0, "completes once resumed: {watched:?}");
    server.stop().await;
}

#[tokio::test]
async fn reprocess_and_retry_at_a_priority_from_the_terminal() {
    let (server, _dir) = TestServer::embedded().start().await;
    let mut jobs = server.jobs("alice").await;
    let good = jobs.submit_video(submit("dQw4w9WgXcQ")).await.unwrap().into_inner();
    wait_final(&mut jobs, &good.id).await;
    let args = ["jobs", "reprocess", &good.id, "--subject", "Chemistry", "--no-assessments", "--priority", "-3"];
    let again = one_job(&as_user(&server, "alice", &[&args[..], &["--json"]].concat()).await);
    assert_eq!((again["state"].as_str(), again["subject"].as_str()), (Some("QUEUED"), Some("Chemistry")), "{again}");
    assert_eq!((again["assessments"].as_bool(), again["priority"].as_i64()), (Some(false), Some(-3)), "{again}");
    let done = wait_final(&mut jobs, &good.id).await;
    assert_eq!(done.note_ids.len(), 1, "{done:?}");

    let failing = jobs.submit_video(submit("fail0000001")).await.unwrap().into_inner();
    wait_final(&mut jobs, &failing.id).await;
    let retried = as_user(&server, "alice", &["jobs", "retry", &failing.id, "--priority", "40", "--json"]).await;
    assert_eq!(one_job(&retried)["priority"].as_i64(), Some(40), "{retried:?}");
    let refused =
        as_user(&server, "alice", &["jobs", "reprocess", &good.id, "--assessments", "--no-assessments"]).await;
    assert_eq!(refused.status, 2, "{refused:?}");
    server.stop().await;
}
