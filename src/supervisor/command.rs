//! The program's command line and environment. No shell is involved: the
//! program and each argument are passed as they are, the URL is the canonical
//! form built from a validated video id, and the subject has been checked to
//! be a plain name that cannot pass for an option.
use std::ffi::OsString;
use std::path::PathBuf;

use crate::config::Secret;
use crate::domain::Job;

/// Variables of the server's own environment the program may see; everything
/// else (the JWT secret, database passwords) stays out.
const PASSED_THROUGH: &[&str] = &["PATH", "HOME", "LANG", "LC_ALL", "LC_CTYPE", "TZ", "TMPDIR", "USER", "LOGNAME"];
const PASSED_THROUGH_PREFIXES: &[&str] = &["UV_", "XDG_"];

#[derive(Clone, Debug)]
pub struct ProgramCommand {
    pub program: PathBuf,
    /// Arguments before the URL, e.g. `run youtube-study-buddy` for `uv`.
    pub leading_args: Vec<String>,
    /// The program's project, given to `uv run --project`.
    pub project_dir: Option<PathBuf>,
    pub api_key: Option<Secret>,
}

impl ProgramCommand {
    /// The arguments for one job.
    pub fn args(&self, job: &Job) -> Vec<OsString> {
        let mut args: Vec<OsString> = self.leading_args.iter().map(OsString::from).collect();
        let is_uv_run = self.program.file_name().is_some_and(|n| n == "uv") && args.first().is_some_and(|a| a == "run");
        if let (true, Some(project)) = (is_uv_run, &self.project_dir) {
            args.splice(1..1, [OsString::from("--project"), project.clone().into_os_string()]);
        }
        args.push(job.url.clone().into());
        if !job.subject.is_empty() {
            args.push("--subject".into());
            args.push(job.subject.clone().into());
        }
        if !job.assessments {
            args.push("--no-assessments".into());
        }
        args
    }

    /// The environment: a short allow-list of the server's, plus the API key.
    pub fn env(&self) -> Vec<(OsString, OsString)> {
        let mut env: Vec<(OsString, OsString)> = std::env::vars_os()
            .filter(|(name, _)| {
                let name = name.to_string_lossy();
                PASSED_THROUGH.contains(&name.as_ref()) || PASSED_THROUGH_PREFIXES.iter().any(|p| name.starts_with(p))
            })
            .collect();
        if let Some(key) = &self.api_key {
            env.push(("CLAUDE_API_KEY".into(), key.expose().into()));
        }
        env
    }

    /// The values handed to the program that must never come back out of
    /// it (see [`super::redact`]): the API key.
    pub fn secrets(&self) -> impl Iterator<Item = &str> {
        self.api_key.iter().map(Secret::expose)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::JobState;

    fn job(subject: &str, assessments: bool) -> Job {
        Job {
            id: uuid::Uuid::now_v7(),
            user_id: "alice".into(),
            url: "https://www.youtube.com/watch?v=dQw4w9WgXcQ".into(),
            video_id: "dQw4w9WgXcQ".into(),
            subject: subject.into(),
            assessments,
            priority: 0,
            state: JobState::Processing,
            stage: String::new(),
            progress_percent: 0,
            attempt: 1,
            max_attempts: 3,
            error: String::new(),
            failure_kind: None,
            note_ids: vec![],
            created_at: chrono::Utc::now(),
            started_at: None,
            finished_at: None,
            log_tail: String::new(),
            not_before: None,
            paused: None,
            batch_id: None,
        }
    }

    #[test]
    fn uv_gets_the_project_and_the_flags_of_the_current_program() {
        let command = ProgramCommand {
            program: "uv".into(),
            leading_args: vec!["run".into(), "youtube-study-buddy".into()],
            project_dir: Some("/opt/buddy".into()),
            api_key: None,
        };
        let args: Vec<String> =
            command.args(&job("Math", false)).into_iter().map(|a| a.into_string().unwrap()).collect();
        assert_eq!(
            args,
            [
                "run",
                "--project",
                "/opt/buddy",
                "youtube-study-buddy",
                "https://www.youtube.com/watch?v=dQw4w9WgXcQ",
                "--subject",
                "Math",
                "--no-assessments"
            ]
        );
        let args = command.args(&job("", true));
        assert!(!args.iter().any(|a| a == "--subject" || a == "--no-assessments" || a == "--generate-assessments"));
    }

    #[test]
    fn the_api_key_is_passed_and_server_secrets_are_not() {
        let command = ProgramCommand {
            program: "x".into(),
            leading_args: vec![],
            project_dir: None,
            api_key: Some(Secret::new("sk-test")),
        };
        let env = command.env();
        assert!(env.iter().any(|(k, v)| k == "CLAUDE_API_KEY" && v == "sk-test"));
        assert!(!env.iter().any(|(k, _)| k == "VIDEOJOBS_JWT_SECRET" || k == "DATABASE_URL"));
    }
}
