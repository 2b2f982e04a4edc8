//! A stand-in for the real `youtube-study-buddy` program, for tests, benchmarks
//! and the embedded default's demo.
//!
//! It takes the same flags, logs to stderr in the same loguru format, prints
//! only a banner on stdout, writes the same files relative to its working
//! directory and, like the real one, exits 0 even when a video failed.
//!
//! Failure modes are chosen per video by the start of its 11-character id, so
//! one server can run good and bad jobs side by side:
//! `fail…` says `✗ Job failed` with a reason no retry can mend (no
//! transcript), `flaky…` fails once per `--state-dir` with one another attempt
//! may mend, then works, `offline…` fails that way every time, `hang…` never finishes, `crash…` dies with a traceback and exit 1,
//! `kids…` starts children and hangs, `orphan…` leaves a child behind and
//! exits, `escape…` starts a child that leaves its session and process group
//! (setsid) and ignores SIGTERM, then hangs, `setsid…` does the same but
//! finishes normally, `flood…` floods its output, `empty…` claims success but
//! writes nothing, `garb…` writes a notes file that is not UTF-8, `leak…`
//! prints its API key everywhere (stdout, a debug line, a stage line, the
//! notes) and `leakfail…` also fails with the key in its reason.
//! What it writes can be unstorable or dangerous to read: `nul…` puts NUL
//! bytes and bytes that are not UTF-8 in its stderr lines and NUL bytes in
//! its notes (heading included), `nulfail…` fails with a reason holding
//! both, `many…` writes 5,000 small notes files besides its own, `links…`
//! adds a notes file that is a symbolic link to `/etc/passwd`, and
//! `linkdir…` makes its notes folder a symbolic link to a folder outside
//! its working directory (under `--state-dir`) that already holds a notes
//! file. `gate…` prints its first lines, then waits until a file
//! `<video id>.open` appears beside its working directory (so a test decides
//! when the rest of its output comes), then prints its API key on stderr,
//! waits for `<video id>.finish` likewise and goes on as a good video does.
//! `chatty<N>` (N: the rest of the id, in thousands) prints N thousand log
//! lines as fast as it can, then works. `tidy…` prints its first lines and
//! `waiting to be stopped`, then waits for SIGTERM; when it comes it prints
//! `caught SIGTERM, cleaning up` and a few more lines (the cleanup a real
//! program does on its way out), then exits 143. `stubborn…` does the same
//! but never finishes cleaning up (`still cleaning up` each stage delay)
//! until SIGKILL.
//!
//! `escape…` and `setsid…` write `<video id>.pids` to the state directory:
//! `program <pid>` and `escapee <pid>` lines, once the escapee is in its own
//! session.
//!
//! Stand-in-only flags (put them in the configured command line before the
//! URL): `--stage-delay-ms N` (default 200) and `--state-dir DIR`.
#![forbid(unsafe_code)]

use std::io::{BufRead, Write};
use std::path::{Path, PathBuf};
use std::process::{Command, ExitCode, Stdio};
use std::time::{Duration, Instant};

const USAGE: &str = "usage: youtube-study-buddy [-h] [--subject SUBJECT] [--file FILE] [--parallel] \
[--workers WORKERS] [--no-assessments] [--no-auto-categorize] [--export-pdf] [urls ...]";

struct Options {
    urls: Vec<String>,
    subject: Option<String>,
    assessments: bool,
    parallel: bool,
    stage_delay: Duration,
    state_dir: Option<PathBuf>,
}

/// How the stand-in starts its escapee: itself, with this first argument.
const ESCAPEE_FLAG: &str = "--be-escapee";

fn main() -> ExitCode {
    if std::env::args().nth(1).as_deref() == Some(ESCAPEE_FLAG) {
        be_escapee();
    }
    let options = match parse_args(std::env::args().skip(1)) {
        Ok(options) => options,
        Err(message) => {
            eprintln!("{USAGE}\nyoutube-study-buddy: error: {message}");
            return ExitCode::from(2);
        }
    };
    println!("YouTube Study Buddy (stand-in) — turning videos into study notes");
    let total = options.urls.len();
    let mut succeeded = 0;
    let mut records = Vec::new();
    for (index, url) in options.urls.iter().enumerate() {
        if !options.parallel {
            log("INFO", &format!("\n[{}/{}] Processing: {url}", index + 1, total));
        }
        let started = Instant::now();
        let result = process_video(&options, index + 1, url);
        records.push(report_record(&options, url, &result, started));
        let ok = result.is_ok();
        if options.parallel {
            let mark = if ok { "✓" } else { "✗" };
            log("INFO", &format!("[{}/{}] {mark} {url}", index + 1, total));
        }
        succeeded += usize::from(ok);
    }
    write_report(&records, &options.urls);
    log("INFO", &format!("COMPLETE: {succeeded}/{total} URL(s) processed successfully"));
    ExitCode::SUCCESS
}

fn parse_args(mut args: impl Iterator<Item = String>) -> Result<Options, String> {
    let mut options = Options {
        urls: Vec::new(),
        subject: None,
        assessments: true,
        parallel: false,
        stage_delay: Duration::from_millis(200),
        state_dir: None,
    };
    while let Some(arg) = args.next() {
        let mut value = |name: &str| args.next().ok_or(format!("argument {name}: expected one argument"));
        match arg.as_str() {
            "--subject" | "-s" => options.subject = Some(value(&arg)?),
            "--file" | "-f" => {
                let text = std::fs::read_to_string(value(&arg)?).map_err(|e| e.to_string())?;
                let lines = text.lines().map(str::trim);
                options.urls.extend(lines.filter(|l| !l.is_empty() && !l.starts_with('#')).map(String::from));
            }
            "--workers" | "-w" => {
                value(&arg)?.parse::<u32>().map_err(|_| "argument --workers: invalid int value".to_string())?;
            }
            "--parallel" | "-p" => options.parallel = true,
            "--no-assessments" => options.assessments = false,
            "--no-auto-categorize" | "--export-pdf" => {}
            "--stage-delay-ms" => {
                let ms = value(&arg)?.parse().map_err(|_| "argument --stage-delay-ms: invalid int value")?;
                options.stage_delay = Duration::from_millis(ms);
            }
            "--state-dir" => options.state_dir = Some(PathBuf::from(value(&arg)?)),
            flag if flag.starts_with('-') => return Err(format!("unrecognized arguments: {flag}")),
            url => options.urls.push(url.to_string()),
        }
    }
    if options.urls.is_empty() {
        return Err("no URLs given".into());
    }
    Ok(options)
}

/// Runs one video the way the real program does; returns why it failed.
fn process_video(options: &Options, number: usize, url: &str) -> Result<(), String> {
    let job = format!("{number:04}");
    let video_id = video_id(url);
    let mode = video_id.to_ascii_lowercase();
    let pause = || std::thread::sleep(options.stage_delay);
    note_run(options, &video_id);
    let leaked = if mode.starts_with("leak") { api_key() } else { String::new() };
    let key_note = if leaked.is_empty() { String::new() } else { format!(" (key {leaked})") };
    if !leaked.is_empty() {
        println!("api key: {leaked}");
        log("DEBUG", &format!("anthropic client ready, api_key={leaked}"));
    }
    log("INFO", &format!("[Job {job}] Fetching transcript...{key_note}"));
    pause();
    if mode.starts_with("gate") {
        log("INFO", "waiting for the gate");
        wait_for_file(&Path::new("..").join(format!("{video_id}.open")));
        log("INFO", &format!("the gate is open; key {}", api_key()));
        wait_for_file(&Path::new("..").join(format!("{video_id}.finish")));
    }
    if mode.starts_with("nulfail") {
        raw_log(b"ERROR", b"\xe2\x9c\x97 Job failed: the caption track had a \0 and \xff\xfe in it");
        return Err("the caption track had a \0 and \u{FFFD}\u{FFFD} in it".into());
    }
    if mode.starts_with("nul") {
        raw_log(b"WARNING", b"caption chunk with a NUL \0 here and bytes \xff\xfe that are not UTF-8");
        raw_log(b"INFO", b"\0\0\0 three NULs first");
    }
    if mode.starts_with("leakfail") {
        return Err(failed(format!("the API refused the key {leaked}")));
    }
    if mode.starts_with("fail") {
        // Permanent by the real program's own rule ("no transcript").
        return Err(failed(
            "Could not get transcript: No transcript found (subtitles are disabled for this video)".into(),
        ));
    }
    if mode.starts_with("offline") {
        // Every attempt fails the way the real program does offline.
        return Err(failed("Could not get transcript: Both Tor and yt-dlp fallback failed".into()));
    }
    if mode.starts_with("flaky") && first_time(options, &video_id) {
        // What the real program says offline: another attempt may work.
        return Err(failed("Could not get transcript: Both Tor and yt-dlp fallback failed".into()));
    }
    if mode.starts_with("crash") {
        eprintln!(
            "Traceback (most recent call last):\n  File \"cli.py\", line 42, in main\nRuntimeError: model returned no content"
        );
        std::process::exit(1);
    }
    if mode.starts_with("tidy") || mode.starts_with("stubborn") {
        stop_tidily(options, mode.starts_with("stubborn"));
    }
    if mode.starts_with("hang") {
        loop {
            std::thread::sleep(Duration::from_secs(3600));
        }
    }
    if mode.starts_with("kids") {
        spawn_sleepers(2);
        loop {
            std::thread::sleep(Duration::from_secs(3600));
        }
    }
    if mode.starts_with("orphan") {
        spawn_sleepers(1);
    }
    if mode.starts_with("escape") || mode.starts_with("setsid") {
        start_escapee(options, &video_id);
    }
    if mode.starts_with("escape") {
        loop {
            std::thread::sleep(Duration::from_secs(3600));
        }
    }
    if mode.starts_with("flood") {
        flood();
    }
    if let Some(thousands) = mode.strip_prefix("chatty") {
        chatty(thousands.parse::<usize>().unwrap_or(1) * 1000);
    }
    let title = format!("Lecture {video_id}{key_note}");
    let notes = notes_markdown(&title, url);
    log("INFO", &format!("✓ Notes generated ({} chars)", notes.len()));
    pause();
    if mode.starts_with("empty") {
        log("INFO", &format!("[Job {job}] ✓ Notes saved: {title}.md"));
        return Ok(());
    }
    let subject = options.subject.clone().unwrap_or_else(|| "General".into());
    if mode.starts_with("linkdir") {
        link_notes_folder_outside(options, &video_id, &subject);
    }
    let folder = Path::new("notes").join(&subject);
    std::fs::create_dir_all(&folder).expect("create notes folder");
    let bytes: Vec<u8> = if mode.starts_with("garb") {
        vec![0xff, 0xfe, 0x00, 0x9f, 0x92]
    } else if mode.starts_with("named") {
        notes.replacen(&format!("# {title}"), "# Untitled draft", 1).into_bytes()
    } else if mode.starts_with("nul") {
        notes.replacen("# ", "# \0", 1).replace("central idea", "central\0idea").into_bytes()
    } else {
        notes.into_bytes()
    };
    std::fs::write(folder.join(format!("{title}.md")), bytes).expect("write notes");
    log("INFO", &format!("[Job {job}] ✓ Notes saved: {title}.md"));
    if mode.starts_with("many") {
        for part in 1..=5000 {
            std::fs::write(folder.join(format!("Part {part:04}.md")), format!("# Part {part}\n\nOne small note.\n"))
                .expect("write a part");
        }
    }
    if mode.starts_with("links") {
        std::os::unix::fs::symlink("/etc/passwd", folder.join("Leaked.md")).expect("link to /etc/passwd");
    }
    if options.assessments {
        pause();
        let assessment = format!(
            "# Assessment: {title}\n\n1. What is the main idea of the video?\n2. Explain one key point in your own words.\n"
        );
        let name = assessment_file(&mode, &title);
        std::fs::write(folder.join(&name), assessment).expect("write assessment");
        log("INFO", &format!("[Job {job}] ✓ Assessment saved: {name}"));
    }
    write_side_files();
    Ok(())
}

/// Makes `notes` a symbolic link to a folder outside the working directory
/// that already holds a notes file for `subject`.
fn link_notes_folder_outside(options: &Options, video_id: &str, subject: &str) {
    let base = options.state_dir.clone().unwrap_or_else(std::env::temp_dir);
    let outside = base.join(format!("outside-{video_id}"));
    std::fs::create_dir_all(outside.join(subject)).expect("create the outside folder");
    let secret = "# Secret\n\nThis file lies outside the job's scratch directory.\n";
    std::fs::write(outside.join(subject).join("Secret.md"), secret).expect("write the outside notes");
    std::os::unix::fs::symlink(&outside, "notes").expect("link the notes folder");
}

fn video_id(url: &str) -> String {
    let after = url.split(['=', '/']).next_back().unwrap_or_default();
    after.split(['&', '?', '#']).next().unwrap_or_default().to_string()
}

/// With `--state-dir`, appends a line to `<video id>.runs` for each run
/// of that video, so a test can count how often the program was started.
fn note_run(options: &Options, video_id: &str) {
    use std::io::Write;
    let Some(dir) = &options.state_dir else { return };
    let _ = std::fs::create_dir_all(dir);
    let runs = std::fs::OpenOptions::new().create(true).append(true).open(dir.join(format!("{video_id}.runs")));
    if let Ok(mut runs) = runs {
        let _ = runs.write_all(b"run\n");
    }
}

fn first_time(options: &Options, video_id: &str) -> bool {
    let Some(dir) = &options.state_dir else {
        return true;
    };
    let marker = dir.join(format!("{video_id}.seen"));
    let seen = marker.exists();
    let _ = std::fs::create_dir_all(dir).and_then(|_| std::fs::write(&marker, b""));
    !seen
}

/// Starts children that outlive their parent on purpose: the failure mode
/// the supervisor must clean up after.
#[allow(clippy::zombie_processes)]
fn spawn_sleepers(count: usize) {
    for _ in 0..count {
        let child = Command::new("sleep").arg("300").spawn().expect("spawn child");
        log("DEBUG", &format!("started helper process {}", child.id()));
    }
}

/// Starts a copy of itself that leaves this program's session and process
/// group and ignores SIGTERM, waits until it has, and records both pids.
#[allow(clippy::zombie_processes)]
fn start_escapee(options: &Options, video_id: &str) {
    let exe = std::env::current_exe().expect("own path");
    let mut child =
        Command::new(exe).arg(ESCAPEE_FLAG).stdin(Stdio::null()).stdout(Stdio::piped()).spawn().expect("spawn escapee");
    let mut ready = String::new();
    let _ = std::io::BufReader::new(child.stdout.take().expect("piped")).read_line(&mut ready);
    log("DEBUG", &format!("started helper process {} in a session of its own", child.id()));
    if let Some(dir) = &options.state_dir {
        let pids = format!("program {}\nescapee {}\n", std::process::id(), child.id());
        let (draft, file) = (dir.join(format!("{video_id}.pids.draft")), dir.join(format!("{video_id}.pids")));
        // Renamed into place, so a reader sees both lines or no file.
        std::fs::create_dir_all(dir)
            .and_then(|_| std::fs::write(&draft, pids))
            .and_then(|_| std::fs::rename(&draft, &file))
            .expect("record pids");
    }
}

/// The escapee: its own session (so its own process group), SIGTERM
/// blocked, and a line on stdout once that is so; then it sleeps until
/// killed.
fn be_escapee() -> ! {
    nix::unistd::setsid().expect("setsid");
    let mut term = nix::sys::signal::SigSet::empty();
    term.add(nix::sys::signal::Signal::SIGTERM);
    term.thread_block().expect("block SIGTERM");
    println!("ready");
    let _ = std::io::stdout().flush();
    loop {
        std::thread::sleep(Duration::from_secs(3600));
    }
}

/// Waits for SIGTERM, then says so and cleans up for a while (each line a
/// stage delay apart, well within the kill grace), and exits as a shell
/// reports SIGTERM (143); `forever`: cleans up until SIGKILL.
fn stop_tidily(options: &Options, forever: bool) -> ! {
    let mut term = nix::sys::signal::SigSet::empty();
    term.add(nix::sys::signal::Signal::SIGTERM);
    term.thread_block().expect("block SIGTERM");
    log("INFO", "waiting to be stopped");
    term.wait().expect("wait for SIGTERM");
    log("WARNING", "caught SIGTERM, cleaning up");
    if forever {
        loop {
            std::thread::sleep(options.stage_delay);
            log("INFO", "still cleaning up");
        }
    }
    for step in ["removed the partial transcript", "closed the API session"] {
        std::thread::sleep(options.stage_delay);
        log("INFO", step);
    }
    log("INFO", "cleanup done; exiting");
    std::process::exit(143);
}

/// The key the server handed over, which `leak…` prints.
/// Polls for `path` (a test creates it when it wants the program to go on).
fn wait_for_file(path: &Path) {
    while !path.exists() {
        std::thread::sleep(Duration::from_millis(20));
    }
}

fn api_key() -> String {
    std::env::var("CLAUDE_API_KEY").or_else(|_| std::env::var("ANTHROPIC_API_KEY")).unwrap_or_default()
}

/// `lines` log lines of about 90 bytes, as fast as they can be written.
fn chatty(lines: usize) {
    let mut err = std::io::BufWriter::new(std::io::stderr().lock());
    for i in 0..lines {
        let _ = writeln!(err, "{} | DEBUG    | chatty:chatty:1 - generated token chunk {i}", now());
    }
    let _ = err.flush();
}

fn flood() {
    let mut err = std::io::stderr().lock();
    for i in 0..50_000 {
        let _ = writeln!(err, "{} | DEBUG    | flood:flood:1 - token chunk {i}", now());
    }
    let _ = err.write_all(&vec![b'x'; 1 << 20]);
    let _ = err.write_all(b"\n");
}

fn notes_markdown(title: &str, url: &str) -> String {
    format!(
        "# {title}\n\n[YouTube Video]({url})\n\n---\n\n## Core Concepts\n\n- The video's central idea, stated plainly.\n\n\
         ## Key Points\n\n1. First point.\n2. Second point.\n\n## Summary\n\nA short summary of {title}.\n"
    )
}

fn write_side_files() {
    let _ = std::fs::create_dir_all("debug_logs");
    let _ = std::fs::create_dir_all("data");
}

/// Says why a video failed, the way the real program does, and returns it.
fn failed(reason: String) -> String {
    log("ERROR", &format!("✗ Job failed: {reason}"));
    reason
}

/// The real program's rule for a failure no retry can mend.
fn is_retryable(error: &str) -> bool {
    let error = error.to_lowercase();
    let permanent = [
        "no subtitle",
        "no transcript",
        "video unavailable",
        "video is private",
        "deleted",
        "invalid video id",
        "members-only",
    ];
    !permanent.iter().any(|pattern| error.contains(pattern))
}

/// One video's record in `notes/processing_log.json`, with the real
/// program's fields. `report…` videos say they failed (permanently) though
/// their lines and files say they worked.
fn report_record(options: &Options, url: &str, result: &Result<(), String>, started: Instant) -> serde_json::Value {
    let id = video_id(url);
    let mode = id.to_ascii_lowercase();
    let subject = options.subject.clone().unwrap_or_else(|| "General".into());
    let title = format!("Lecture {id}");
    let notes = format!("notes/{subject}/{title}.md");
    let assessment = format!("notes/{subject}/{}", assessment_file(&mode, &title));
    let error = match result {
        _ if mode.starts_with("report") => {
            Some("Video unavailable: this video has been removed by the uploader".into())
        }
        Ok(()) => None,
        Err(reason) => Some(reason.clone()),
    };
    let exists = |path: &str| Path::new(path).is_file();
    let retryable = error.as_deref().map(is_retryable);
    let assessment_path = options.assessments.then(|| assessment.clone());
    let created: Vec<&String> = [&notes, &assessment].into_iter().filter(|p| exists(p)).collect();
    let duration = started.elapsed().as_secs_f64();
    serde_json::json!({
        "video_id": id,
        "url": url,
        "subject": subject,
        "video_title": title,
        "stage": if error.is_none() { "completed" } else { "failed" },
        "success": error.is_none(),
        "is_retryable": retryable,
        "error": error,
        "notes_filepath": notes,
        "assessment_filepath": assessment_path,
        "notes_file_exists": exists(&notes),
        "assessment_file_exists": exists(&assessment),
        "processing_duration": duration,
        "timings": {"transcript": 0.0, "notes": 0.0, "assessment": 0.0},
        "files_created": created,
    })
}

/// The assessment's file name: the real program's, or for `named…` videos
/// one without its prefix (only the report then says which file it is).
fn assessment_file(mode: &str, title: &str) -> String {
    if mode.starts_with("named") { format!("Quiz - {title}.md") } else { format!("Assessment_{title}.md") }
}

/// Writes `notes/processing_log.json`; `badreport…` writes one that is not JSON.
fn write_report(records: &[serde_json::Value], urls: &[String]) {
    let _ = std::fs::create_dir_all("notes");
    let path = Path::new("notes").join("processing_log.json");
    let bad = urls.iter().any(|url| video_id(url).to_ascii_lowercase().starts_with("badreport"));
    let text = if bad { "{not json".to_string() } else { serde_json::to_string_pretty(records).unwrap_or_default() };
    let _ = std::fs::write(path, text);
}

fn log(level: &str, message: &str) {
    let prefix = format!("{} | {level:<8} | yt_study_buddy.cli:process:120 - ", now());
    let mut err = std::io::stderr().lock();
    // Like loguru: a message that starts with a newline prints the prefix alone.
    let _ = writeln!(err, "{prefix}{message}");
}

/// A log line with bytes that need not be UTF-8.
fn raw_log(level: &[u8], message: &[u8]) {
    let mut line = format!("{} | ", now()).into_bytes();
    line.extend_from_slice(level);
    line.extend_from_slice(b" | yt_study_buddy.cli:process:120 - ");
    line.extend_from_slice(message);
    line.push(b'\n');
    let _ = std::io::stderr().lock().write_all(&line);
}

fn now() -> String {
    chrono::Local::now().format("%Y-%m-%d %H:%M:%S%.3f").to_string()
}
