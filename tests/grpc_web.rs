//! gRPC-web as browsers speak it, on the gRPC port: a real gRPC-web client from
//! npm (protobuf-ts, over HTTP/1.1 fetch) submits a job and follows it to
//! COMPLETED over WatchJobs, from Node and from headless Chromium; CORS
//! preflights are answered for the configured origins only.
//!
//! Needs `node`, `web/node_modules` and `/usr/bin/chromium`: run
//! `scripts/web-setup.sh` (scripts/test.sh does).
mod common;

use std::path::PathBuf;
use std::time::Duration;

use common::*;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use videojobs::proto::v1 as pb;

const ALLOWED_ORIGIN: &str = "http://localhost:4321";
const NODE_TIMEOUT: Duration = Duration::from_secs(90);

fn web_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("web")
}

/// Runs `node web/<script> <args>` with the token in the child's environment
/// only; returns its stdout, failing the test on a non-zero exit.
async fn node(script: &str, args: &[&str], token: &str) -> String {
    let dir = web_dir();
    assert!(
        dir.join("node_modules/@protobuf-ts/grpcweb-transport").is_dir(),
        "web/node_modules is missing: run `npm ci --prefix web` (or scripts/web-setup.sh)"
    );
    let child = tokio::process::Command::new("node")
        .arg(dir.join(script))
        .args(args)
        .env("VIDEOJOBS_TOKEN", token)
        .kill_on_drop(true)
        .output();
    let output = tokio::time::timeout(NODE_TIMEOUT, child)
        .await
        .unwrap_or_else(|_| panic!("node {script} did not finish within {NODE_TIMEOUT:?}"))
        .unwrap_or_else(|e| panic!("cannot run node (Node.js 20+ is needed): {e}"));
    let stdout = String::from_utf8_lossy(&output.stdout).into_owned();
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        output.status.success(),
        "node {script} {args:?} failed ({})\nstdout:\n{stdout}\nstderr:\n{stderr}",
        output.status
    );
    stdout
}

/// The job id of the `<tag>COMPLETED <id> notes=2…` line, after checking that
/// the `<tag>EVENT <sequence> <type> <id> …` lines of that job went QUEUED →
/// PROCESSING → PROGRESS… → COMPLETED.
fn completed_job(stdout: &str, tag: &str) -> String {
    let (done_prefix, event_prefix) = (format!("{tag}COMPLETED "), format!("{tag}EVENT "));
    let done = stdout
        .lines()
        .find_map(|l| l.strip_prefix(&done_prefix))
        .unwrap_or_else(|| panic!("no {done_prefix:?} line in:\n{stdout}"));
    let mut words = done.split(' ');
    let (id, notes) = (words.next().unwrap().to_string(), words.next());
    assert_eq!(notes, Some("notes=2"), "notes and assessment: {done}");
    let kinds: Vec<&str> = stdout
        .lines()
        .filter_map(|l| l.strip_prefix(&event_prefix))
        .map(|l| l.split(' ').collect::<Vec<_>>())
        .filter(|words| words.get(2) == Some(&id.as_str()))
        .map(|words| words[1])
        .collect();
    assert_eq!(kinds.first(), Some(&"QUEUED"), "events of {id}: {kinds:?}");
    assert_eq!(kinds.get(1), Some(&"PROCESSING"), "events of {id}: {kinds:?}");
    assert!(kinds.contains(&"PROGRESS"), "events of {id}: {kinds:?}");
    assert_eq!(kinds.last(), Some(&"COMPLETED"), "events of {id}: {kinds:?}");
    id
}

/// What the server, asked with plain gRPC, says about a job the client followed.
async fn assert_completed(server: &TestServer, job_id: &str) {
    let mut jobs = server.jobs("alice").await;
    let job = jobs.get_job(pb::GetJobRequest { job_id: job_id.into() }).await.unwrap().into_inner();
    assert_eq!(state(&job), pb::JobState::Completed);
    assert_eq!(job.note_ids.len(), 2);
}

#[tokio::test]
async fn a_grpc_web_client_in_node_follows_its_job_to_completed_in_binary_and_text() {
    let (server, _dir) =
        TestServer::embedded().with(|c| c.cors_allowed_origins = vec![ALLOWED_ORIGIN.into()]).start().await;
    let base_url = format!("http://{}", server.addr);
    let token = server.token("alice");
    for format in ["binary", "text"] {
        let stdout = node("follow-job.mjs", &[&base_url, format], &token).await;
        assert!(stdout.contains("UNAUTHENTICATED with a forged token"), "{format}: {stdout}");
        let id = completed_job(&stdout, "");
        assert_completed(&server, &id).await;
    }
    server.stop().await;
}

#[tokio::test]
async fn in_headless_chromium_an_allowed_origin_follows_its_job_and_another_origin_is_refused() {
    assert!(
        std::path::Path::new("/usr/bin/chromium").is_file(),
        "/usr/bin/chromium is missing: run scripts/web-setup.sh (apt-get install -y chromium)"
    );
    // The page is served on this port; the server allows http://localhost:<port>
    // and not http://127.0.0.1:<port>, which the script tries as well.
    let page_port = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
    let page_origin = format!("http://localhost:{page_port}");
    let (server, _dir) =
        TestServer::embedded().with(|c| c.cors_allowed_origins = vec![page_origin.clone()]).start().await;
    let stdout = node(
        "follow-job-browser.mjs",
        &[&format!("http://{}", server.addr), &page_port.to_string()],
        &server.token("alice"),
    )
    .await;
    let id = completed_job(&stdout, "BROWSER ");
    assert!(stdout.contains(&format!("origin={page_origin}")), "{stdout}");
    assert!(stdout.contains(&format!("BROWSER REFUSED origin=http://127.0.0.1:{page_port}")), "{stdout}");
    assert_completed(&server, &id).await;
    server.stop().await;
}

/// Sends a CORS preflight for SubmitVideo over plain HTTP/1.1; returns the
/// status line and the headers, names lowercased.
async fn preflight(addr: std::net::SocketAddr, origin: &str) -> (String, Vec<(String, String)>) {
    let mut stream = tokio::net::TcpStream::connect(addr).await.unwrap();
    let request = format!(
        "OPTIONS /videojobs.v1.JobService/SubmitVideo HTTP/1.1\r\nHost: {addr}\r\nOrigin: {origin}\r\n\
         Access-Control-Request-Method: POST\r\n\
         Access-Control-Request-Headers: authorization,content-type,x-grpc-web,x-user-agent\r\n\
         Connection: close\r\n\r\n"
    );
    stream.write_all(request.as_bytes()).await.unwrap();
    let mut response = Vec::new();
    tokio::time::timeout(WAIT, stream.read_to_end(&mut response)).await.expect("preflight answered").unwrap();
    let response = String::from_utf8_lossy(&response);
    let head = response.split("\r\n\r\n").next().unwrap();
    let mut lines = head.lines();
    let status = lines.next().unwrap_or_default().to_string();
    let headers = lines
        .filter_map(|l| l.split_once(':'))
        .map(|(name, value)| (name.trim().to_ascii_lowercase(), value.trim().to_string()))
        .collect();
    (status, headers)
}

fn header<'a>(headers: &'a [(String, String)], name: &str) -> Option<&'a str> {
    headers.iter().find(|(n, _)| n == name).map(|(_, v)| v.as_str())
}

#[tokio::test]
async fn cors_preflights_are_answered_for_configured_origins_only() {
    let (server, _dir) =
        TestServer::embedded().with(|c| c.cors_allowed_origins = vec![ALLOWED_ORIGIN.into()]).start().await;

    let (status, allowed) = preflight(server.addr, ALLOWED_ORIGIN).await;
    assert!(status.starts_with("HTTP/1.1 200"), "{status}");
    assert_eq!(header(&allowed, "access-control-allow-origin"), Some(ALLOWED_ORIGIN), "{allowed:?}");
    let allow_headers = header(&allowed, "access-control-allow-headers").unwrap_or_default().to_ascii_lowercase();
    for needed in ["authorization", "content-type", "x-grpc-web", "x-user-agent", "grpc-timeout"] {
        assert!(allow_headers.split(',').any(|h| h.trim() == needed), "{needed} not allowed: {allow_headers}");
    }
    assert!(header(&allowed, "access-control-allow-methods").unwrap_or_default().contains("POST"), "{allowed:?}");

    let (_, refused) = preflight(server.addr, "http://evil.example").await;
    assert_eq!(header(&refused, "access-control-allow-origin"), None, "{refused:?}");
    server.stop().await;
}
