//! The browser console, end to end: headless Chromium (playwright-core
//! driving Debian's /usr/bin/chromium, `web/console/tests/console.mjs`)
//! against the page and gRPC-web calls a real server serves on its gRPC port,
//! on both backends. The script signs in (a refused token goes back to
//! sign-in; then by pasting a token, and with the link `videojobs console`
//! prints), submits, watches a job to COMPLETED and reads its notes, sees a
//! bad URL's error beside its line, cancels a hanging job with the keyboard
//! only, opens a running job's page in two more tabs and hides one (the
//! other's output shows and its cancel answers once the hidden tab has given
//! its streams back; seen again, the hidden one missed nothing), retries a
//! failed one at a higher priority, reprocesses a completed
//! one (new notes), filters (a search typed just before leaving the list
//! holds), waits in line behind hanging jobs (a job's row
//! and page show its place, which moves up live as this test cancels one
//! through the API and a worker frees), pauses
//! the user's work (a job waits, paused, and completes once resumed) and a
//! batch; a pause this test makes through the API (`PAUSE ALICE reason`,
//! answered `PAUSED`) shows on a page opened afterwards (ListPauses), and is
//! resumed there; a second user sees none of the first's jobs, an admin sees both,
//! retries a failure group, pauses and resumes everything and sees the node
//! serving; axe-core audits each main view at 1280 and 360 px and
//! the script fails on any WCAG 2 A/AA violation; last, the admin drains the
//! node (nothing after that needs a job to run). Midway this test
//! restarts the server (same address, same data) while a job runs: the page
//! says "reconnecting…", resumes from its last sequence, and this test checks
//! against the durable log that it saw every event of that job. The embedded
//! run writes the screenshots kept in docs/console/.
//!
//! Needs `node`, `web/console/node_modules` and `/usr/bin/chromium`: run
//! `scripts/web-setup.sh` (scripts/test.sh does).
mod common;

use std::path::PathBuf;
use std::process::Stdio;
use std::time::Duration;

use common::*;
use tokio::io::{AsyncBufReadExt, AsyncWriteExt, BufReader};
use videojobs::auth::Authenticator;
use videojobs::config::{Secret, ServeConfig};
use videojobs::proto::v1 as pb;

const SCRIPT_TIMEOUT: Duration = Duration::from_secs(300);

fn console_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("web/console")
}

/// Short heartbeats, and `slow` stages (long enough to restart mid-job).
/// Hanging jobs wait to be cancelled (one step keeps two workers busy with
/// them while others wait in line), so the programs' timeout is far off.
fn configure(config: &mut ServeConfig, slow: bool) {
    config.watch.keepalive = Duration::from_millis(500);
    config.supervisor.timeout = Duration::from_secs(120);
    set_stage_delay(config, Duration::from_millis(if slow { 4000 } else { 40 }));
}

async fn start(backend: &Backend, dir: &std::path::Path, addr: Option<std::net::SocketAddr>, slow: bool) -> TestServer {
    let builder = TestServer::on(backend).with(move |c| configure(c, slow));
    match addr {
        Some(addr) => builder.listen_on(addr).start_in(dir).await,
        None => builder.start_in(dir).await,
    }
}

async fn the_console_in_a_browser(backend: Backend) {
    assert!(
        console_dir().join("node_modules/playwright-core").is_dir()
            && std::path::Path::new("/usr/bin/chromium").is_file(),
        "web/console/node_modules or /usr/bin/chromium is missing: run scripts/web-setup.sh"
    );
    let dir = tempfile::tempdir().unwrap();
    let mut server = Some(start(&backend, dir.path(), None, true).await);
    let addr = server.as_ref().unwrap().addr;
    let (alice, bob, admin) = {
        let s = server.as_ref().unwrap();
        (s.token("alice"), s.token("bob"), s.admin_token("ops"))
    };
    let forged = Authenticator::new(&Secret::new("another-secret-0123456789abcdef"))
        .issue("alice", Duration::from_secs(600))
        .unwrap();
    // `videojobs console` prints the link Alice signs in with.
    let printed = tokio::process::Command::new(env!("CARGO_BIN_EXE_videojobs"))
        .args(["console", "--user", "alice", "--ttl-secs", "600", "--addr", &format!("http://{addr}")])
        .env("VIDEOJOBS_JWT_SECRET", SECRET)
        .output()
        .await
        .unwrap();
    assert!(printed.status.success(), "{printed:?}");
    let link = String::from_utf8(printed.stdout).unwrap().trim().to_string();
    assert!(link.starts_with(&format!("http://{addr}/#token=")), "{link}");
    let mut command = tokio::process::Command::new("node");
    command.arg(console_dir().join("tests/console.mjs")).arg(format!("http://{addr}"));
    if !backend.is_scaled() {
        command.arg(PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("docs/console"));
    }
    let mut child = command
        .env("ALICE_TOKEN", &alice)
        .env("ALICE_LINK", &link)
        .env("BOB_TOKEN", &bob)
        .env("ADMIN_TOKEN", &admin)
        .env("FORGED_TOKEN", &forged)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .kill_on_drop(true)
        .spawn()
        .expect("node (Node.js 20+) runs");
    let mut stdin = child.stdin.take().unwrap();
    let mut lines = BufReader::new(child.stdout.take().unwrap()).lines();
    let mut said = Vec::new();
    let conversation = async {
        while let Some(line) = lines.next_line().await.unwrap() {
            eprintln!("browser: {line}");
            match line.as_str() {
                "STOP" => {
                    server.take().unwrap().stop().await;
                    stdin.write_all(b"STOPPED\n").await.unwrap();
                }
                "START" => {
                    server = Some(start(&backend, dir.path(), Some(addr), false).await);
                    stdin.write_all(b"STARTED\n").await.unwrap();
                }
                _ if line.starts_with("PAUSE ALICE ") => {
                    // A pause made elsewhere (as the terminal client would), not through the page.
                    let reason = line["PAUSE ALICE ".len()..].to_string();
                    let mut jobs = server.as_ref().unwrap().jobs("alice").await;
                    jobs.pause_jobs(pb::PauseJobsRequest { reason, ..Default::default() }).await.unwrap();
                    stdin.write_all(b"PAUSED\n").await.unwrap();
                }
                _ if line.starts_with("CANCEL ") => {
                    let job_id = line["CANCEL ".len()..].to_string();
                    let mut jobs = server.as_ref().unwrap().jobs("alice").await;
                    jobs.cancel_job(pb::CancelJobRequest { job_id }).await.unwrap();
                    stdin.write_all(b"CANCELLED\n").await.unwrap();
                }
                _ => {}
            }
            said.push(line);
        }
    };
    let finished = tokio::time::timeout(SCRIPT_TIMEOUT, conversation).await;
    if finished.is_err() {
        let _ = child.start_kill();
    }
    let output = child.wait_with_output().await.unwrap();
    let said = said.join("\n");
    let stderr = String::from_utf8_lossy(&output.stderr);
    let failed = finished.is_err() || !output.status.success() || !said.ends_with("DONE");
    let jobs_on_server = if failed { server_view(server.as_ref()).await } else { String::new() };
    assert!(
        finished.is_ok(),
        "the browser script did not finish in {SCRIPT_TIMEOUT:?}:\n{said}\n{stderr}\n{jobs_on_server}"
    );
    assert!(!failed, "the browser script failed:\n{said}\n{stderr}\n{jobs_on_server}");
    assert!(!said.contains("PAGE ERROR"), "{said}");

    // The page saw every event of the job that ran across the restart.
    let server = server.expect("restarted");
    let job_id = said.lines().find_map(|l| l.strip_prefix("RESTART JOB ")).unwrap().to_string();
    let seen: Vec<u64> =
        said.lines().find_map(|l| l.strip_prefix("SEEN ")).unwrap().split(',').map(|s| s.parse().unwrap()).collect();
    let mut jobs = server.jobs("alice").await;
    let request = pb::WatchJobsRequest { job_ids: vec![job_id.clone()], after_sequence: Some(0), ..Default::default() };
    let mut stream = jobs.watch_jobs(request).await.unwrap().into_inner();
    let logged = events_until_final(&mut stream, &job_id).await;
    let logged: Vec<u64> = logged.iter().map(|e| e.sequence).collect();
    assert!(logged.len() >= 5, "queued, processing, handed back, …, completed: {logged:?}");
    for sequence in &logged {
        assert!(seen.contains(sequence), "the page missed event {sequence} of {job_id}: saw {seen:?}, log {logged:?}");
    }
    server.stop().await;
}

on_both_backends!(the_console_in_a_browser);

/// Every job as the server has it (an admin's list), to tell in a failure
/// whether a job the page waited for ran or the page missed its events.
async fn server_view(server: Option<&TestServer>) -> String {
    let Some(server) = server else { return "the server was stopped".into() };
    let mut jobs = server.admin().await;
    let request = pb::ListJobsRequest { page_size: 1000, ..Default::default() };
    match jobs.list_jobs(request).await {
        Ok(page) => page
            .into_inner()
            .jobs
            .iter()
            .map(|j| format!("server: {} {} {:?} attempt {} {}", j.id, j.video_id, state(j), j.attempt, j.stage))
            .collect::<Vec<_>>()
            .join("\n"),
        Err(status) => format!("the server did not list its jobs: {status}"),
    }
}

#[tokio::test]
async fn the_page_is_served_on_the_grpc_port_and_can_be_turned_off() {
    let (server, _dir) = TestServer::embedded().start().await;
    let page = http_get(server.addr, "/").await;
    assert!(page.starts_with("HTTP/1.1 200"), "{page}");
    assert!(page.to_ascii_lowercase().contains("content-type: text/html; charset=utf-8"), "{page}");
    let script = page.split("src=\"./").nth(1).and_then(|s| s.split('"').next()).expect("a script").to_string();
    let asset = http_get(server.addr, &format!("/{script}")).await;
    assert!(asset.to_ascii_lowercase().contains("cache-control: public, max-age=31536000, immutable"), "{asset}");
    assert!(asset.to_ascii_lowercase().contains("content-type: text/javascript"), "{asset}");
    // gRPC still answers on the same port.
    let mut jobs = server.jobs("alice").await;
    jobs.list_jobs(pb::ListJobsRequest::default()).await.unwrap();
    server.stop().await;

    let (server, _dir) = TestServer::embedded().with(|c| c.console.enabled = false).start().await;
    let page = http_get(server.addr, "/").await;
    assert!(!page.starts_with("HTTP/1.1 200"), "{page}");
    server.stop().await;
}

/// A plain HTTP/1.1 GET; the status line, headers and body as text.
async fn http_get(addr: std::net::SocketAddr, path: &str) -> String {
    use tokio::io::AsyncReadExt;
    let mut stream = tokio::net::TcpStream::connect(addr).await.unwrap();
    let request = format!("GET {path} HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\n\r\n");
    stream.write_all(request.as_bytes()).await.unwrap();
    let mut response = Vec::new();
    tokio::time::timeout(WAIT, stream.read_to_end(&mut response)).await.expect("answered").unwrap();
    String::from_utf8_lossy(&response).into_owned()
}
