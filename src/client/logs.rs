//! `logs JOB [--follow] [--attempt N]`: what the program printed in one
//! attempt of a job (the latest by default), one line each, stderr and
//! stdout in the order printed; with `--follow`, then live until the attempt
//! ends. `--json` prints one object per line (attempt, line, stream, text).
use super::args::LogsArgs;
use super::connect::connect;
use super::failure::Outcome;
use super::output::emit;
use crate::proto::v1 as pb;

/// Lines per page when printing what is stored.
const PAGE_SIZE: i32 = 1000;

pub async fn logs(args: &LogsArgs) -> Outcome {
    let mut client = connect(&args.options).await?.jobs;
    let json = args.options.json;
    if args.follow {
        let request = pb::WatchJobLogsRequest { job_id: args.job_id.clone(), attempt: args.attempt, after_line: 0 };
        let mut stream = client.watch_job_logs(request).await?.into_inner();
        while let Some(line) = stream.message().await? {
            if line.stream() != pb::LogStream::Heartbeat {
                print_line(&line, json);
            }
        }
        return Ok(());
    }
    let mut after_line = 0;
    loop {
        let request = pb::GetJobLogRequest {
            job_id: args.job_id.clone(),
            attempt: args.attempt,
            after_line,
            page_size: PAGE_SIZE,
        };
        let page = client.get_job_log(request).await?.into_inner();
        page.lines.iter().for_each(|line| print_line(line, json));
        if page.next_after_line == 0 {
            return Ok(());
        }
        after_line = page.next_after_line;
    }
}

fn print_line(line: &pb::JobLogLine, json: bool) {
    let stream = match line.stream() {
        pb::LogStream::Stdout => "stdout",
        pb::LogStream::Stderr => "stderr",
        pb::LogStream::Marker => "marker",
        pb::LogStream::Heartbeat => "heartbeat",
        pb::LogStream::Unspecified => "unspecified",
    };
    if json {
        let value =
            serde_json::json!({"attempt": line.attempt, "line": line.line, "stream": stream, "text": line.text});
        emit(&value.to_string());
    } else if line.stream() == pb::LogStream::Marker {
        emit(&format!("-- {} --", line.text));
    } else {
        emit(&line.text);
    }
}
