//! The program's own report: `notes/processing_log.json`, a JSON array with
//! one record per video, which the real program writes in its working
//! directory (fields `video_id`, `url`, `video_title`, `success`, `error`,
//! `is_retryable`, `timings`, …). When it is there and well-formed it decides
//! the attempt's verdict — success, the reason, whether another attempt can
//! help — over what the output lines say, and which files are the notes and
//! the assessment, and the notes' title (see `notes.rs`). When it is missing or malformed
//! (not JSON, the wrong shape, too large, not a regular file, a link out of
//! the scratch directory) the lines decide; it never fails a job by itself.
use std::path::{Path, PathBuf};

use serde::Deserialize;

use super::notes::{Chosen, NoteFiles, notes_folder, read_capped};
use crate::domain::StageTiming;

pub const REPORT_FILE: &str = "processing_log.json";
/// A report holds a few records of a few hundred bytes; more is not one.
pub const MAX_REPORT_BYTES: u64 = 1024 * 1024;

/// One video's record, as far as the verdict needs it.
#[derive(Debug, Deserialize, PartialEq)]
pub struct Record {
    #[serde(default)]
    pub video_id: Option<String>,
    #[serde(default)]
    pub video_title: Option<String>,
    pub success: bool,
    #[serde(default)]
    pub error: Option<String>,
    #[serde(default)]
    pub is_retryable: Option<bool>,
    /// Seconds per stage; read leniently (anything but numbers is skipped).
    #[serde(default)]
    pub timings: Option<serde_json::Value>,
    #[serde(default)]
    pub notes_filepath: Option<String>,
    #[serde(default)]
    pub assessment_filepath: Option<String>,
}

impl Record {
    /// The files the report names, and the video's title.
    pub fn chosen(&self) -> Chosen {
        let path = |p: &Option<String>| p.as_deref().filter(|p| !p.trim().is_empty()).map(PathBuf::from);
        Chosen {
            notes: path(&self.notes_filepath),
            assessment: path(&self.assessment_filepath),
            title: self.video_title.clone(),
        }
    }

    /// The stages the report times, by name, with their seconds.
    pub fn stage_timings(&self) -> Vec<StageTiming> {
        let Some(serde_json::Value::Object(timings)) = &self.timings else { return Vec::new() };
        timings
            .iter()
            .filter_map(|(stage, seconds)| Some(StageTiming { stage: stage.clone(), seconds: seconds.as_f64()? }))
            .take(MAX_TIMINGS)
            .collect()
    }
}

/// Stages kept from a report's timings at most.
const MAX_TIMINGS: usize = 32;

/// What the scratch directory holds of a report.
#[derive(Debug, PartialEq)]
pub enum ProgramReport {
    Missing,
    /// There, but not usable; says why.
    Unusable(String),
    /// The record of the attempt's video (or the last one, if none names it).
    Found(Record),
}

/// Reads the report in `scratch` for `video_id`. Blocking file I/O.
pub fn read(scratch: &Path, files: &NoteFiles, video_id: &str) -> ProgramReport {
    let folder = match notes_folder(scratch, &files.dir) {
        Ok(Some(folder)) => folder,
        Ok(None) => return ProgramReport::Missing,
        Err(reason) => return ProgramReport::Unusable(reason),
    };
    let path = folder.join(REPORT_FILE);
    if std::fs::symlink_metadata(&path).is_err() {
        return ProgramReport::Missing;
    }
    let bytes = match read_capped(&path, REPORT_FILE, MAX_REPORT_BYTES) {
        Ok(bytes) => bytes,
        Err(reason) => return ProgramReport::Unusable(reason),
    };
    parse(&bytes, video_id)
}

fn parse(bytes: &[u8], video_id: &str) -> ProgramReport {
    let records: Vec<Record> = match serde_json::from_slice(bytes) {
        Ok(records) => records,
        Err(error) => {
            return ProgramReport::Unusable(format!("{REPORT_FILE} is not an array of video records: {error}"));
        }
    };
    let named = records.iter().position(|record| record.video_id.as_deref() == Some(video_id));
    let mut records = records;
    match named.or_else(|| records.len().checked_sub(1)) {
        Some(at) => ProgramReport::Found(records.swap_remove(at)),
        None => ProgramReport::Unusable(format!("{REPORT_FILE} holds no record")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_record_of_the_video_is_found_and_anything_else_is_unusable() {
        let report = br#"[{"video_id": "other000001", "success": true},
            {"video_id": "abc", "url": "u", "success": false, "error": "Video unavailable", "is_retryable": false,
             "timings": {"transcript": 1.5}, "files_created": []}]"#;
        let ProgramReport::Found(record) = parse(report, "abc") else { panic!() };
        assert_eq!((record.success, record.is_retryable), (false, Some(false)));
        assert_eq!(record.error.as_deref(), Some("Video unavailable"));
        assert_eq!(record.stage_timings(), [StageTiming { stage: "transcript".into(), seconds: 1.5 }]);
        assert!(matches!(parse(report, "zzz"), ProgramReport::Found(Record { success: false, .. })), "the last record");
        assert!(matches!(parse(b"{not json", "abc"), ProgramReport::Unusable(_)));
        assert!(matches!(parse(br#"{"processed": []}"#, "abc"), ProgramReport::Unusable(_)), "an object, not an array");
        assert!(matches!(parse(b"[]", "abc"), ProgramReport::Unusable(_)));
        assert!(matches!(parse(br#"[{"video_id": "abc"}]"#, "abc"), ProgramReport::Unusable(_)), "no verdict");
    }

    #[test]
    fn a_fifo_or_a_huge_report_is_unusable_and_a_missing_one_is_missing() {
        let scratch = tempfile::tempdir().unwrap();
        let files = NoteFiles::default();
        assert_eq!(read(scratch.path(), &files, "abc"), ProgramReport::Missing);
        let folder = scratch.path().join("notes");
        std::fs::create_dir_all(&folder).unwrap();
        assert_eq!(read(scratch.path(), &files, "abc"), ProgramReport::Missing);
        let made = std::process::Command::new("mkfifo").arg(folder.join(REPORT_FILE)).status().unwrap();
        assert!(made.success());
        assert!(matches!(read(scratch.path(), &files, "abc"), ProgramReport::Unusable(_)), "a FIFO is not waited on");
        std::fs::remove_file(folder.join(REPORT_FILE)).unwrap();
        std::fs::write(folder.join(REPORT_FILE), vec![b' '; MAX_REPORT_BYTES as usize + 1]).unwrap();
        assert!(matches!(read(scratch.path(), &files, "abc"), ProgramReport::Unusable(_)));
    }
}
