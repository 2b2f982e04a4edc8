//! Collects the notes an attempt wrote under its scratch directory:
//! `notes/<subject>/<title>.md` and `…/Assessment_<title>.md`. Nothing
//! outside the scratch directory is ever read: a notes folder that leads
//! out of it (a symbolic link) is refused, symbolic links below it are
//! skipped, and each file is opened without following one. Each file is
//! size-capped and checked to be UTF-8 text; the title comes from YAML front
//! matter when present, else the first `# ` heading, else the file name.
//!
//! When the program's report names its notes file and its assessment file
//! ([`Chosen`]), those decide which file is which (whatever their names),
//! and the notes take the report's video title. Any other `.md` file in the
//! folder is kept too, its kind told by its name as without a report.
//!
//! What one attempt may leave is bounded too: the real program writes two
//! files per video (notes and assessment) and a job is one video, so a
//! program that writes more than [`NoteFiles::max_files`] files, or more
//! than [`NoteFiles::max_total_bytes`] in all, is misbehaving. Its attempt
//! fails saying so, instead of the node reading without limit, holding
//! every file in memory and storing them all in one transaction.
use std::io::Read;
use std::os::unix::fs::OpenOptionsExt;
use std::path::{Path, PathBuf};

use gray_matter::{Matter, engine::YAML};
use serde::Deserialize;

use crate::domain::NewNote;
use crate::domain::NoteKind;

#[derive(Clone, Debug)]
pub struct NoteFiles {
    /// Folder, relative to the scratch directory, the program writes into.
    pub dir: PathBuf,
    /// File-name prefix that marks an assessment.
    pub assessment_prefix: String,
    /// Largest notes file.
    pub max_bytes: u64,
    /// Most notes files one attempt may write.
    pub max_files: usize,
    /// Most bytes all of one attempt's notes files may hold together.
    pub max_total_bytes: u64,
}

impl Default for NoteFiles {
    fn default() -> Self {
        NoteFiles {
            dir: PathBuf::from("notes"),
            assessment_prefix: "Assessment_".into(),
            max_bytes: 2 * 1024 * 1024,
            max_files: 100,
            max_total_bytes: 16 * 1024 * 1024,
        }
    }
}

const MAX_DEPTH: usize = 4;

/// Why an attempt that exited 0 without a failure produced nothing.
pub const NO_NOTES: &str = "the program reported success but wrote no notes file";

/// The files the program's report names, and the video's title.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Chosen {
    /// As the report gives them: relative to the scratch directory, or absolute.
    pub notes: Option<PathBuf>,
    pub assessment: Option<PathBuf>,
    pub title: Option<String>,
}

impl Chosen {
    pub fn is_empty(&self) -> bool {
        self.notes.is_none() && self.assessment.is_none()
    }
}

/// The notes in `scratch`, or why they cannot be used; `chosen` is what the
/// report says (empty without one). Also says which source told the kinds.
pub fn collect_notes(scratch: &Path, files: &NoteFiles, chosen: &Chosen) -> Result<(Vec<NewNote>, Source), String> {
    let mut paths = Vec::new();
    if let Some(folder) = notes_folder(scratch, &files.dir)? {
        find_markdown(&folder, 0, files.max_files + 1, &mut paths);
    }
    if paths.len() > files.max_files {
        return Err(format!(
            "the program wrote more than {} notes files; a job keeps at most {} (it writes two per video)",
            files.max_files, files.max_files
        ));
    }
    paths.sort();
    // A path the report names counts only if it is one of the files found
    // (inside the notes folder, no link on the way).
    let named = |path: &Option<PathBuf>| {
        path.as_ref().and_then(|p| scratch.join(p).canonicalize().ok()).filter(|p| paths.contains(p))
    };
    let (chosen_notes, chosen_assessment) = (named(&chosen.notes), named(&chosen.assessment));
    let source = match (&chosen_notes, chosen.is_empty()) {
        (Some(_), _) => Source::Report,
        (None, true) => Source::Names,
        (None, false) => Source::NamesReportUnmatched,
    };
    let mut notes = Vec::with_capacity(paths.len());
    let mut total = 0;
    for path in paths {
        let name = path.file_name().and_then(|n| n.to_str()).unwrap_or_default().to_string();
        let bytes = read_capped(&path, &name, files.max_bytes)?;
        total += bytes.len() as u64;
        if total > files.max_total_bytes {
            let limit = files.max_total_bytes;
            return Err(format!("the notes files hold more than {limit} bytes in all, over the limit for one job"));
        }
        let text = String::from_utf8(bytes).map_err(|_| format!("notes file {name:?} is not UTF-8 text"))?;
        if text.trim().is_empty() {
            return Err(format!("notes file {name:?} is empty"));
        }
        let stem = name.trim_end_matches(".md").to_string();
        let note = if chosen_notes.as_ref() == Some(&path) {
            let mut note = parse_note(NoteKind::Notes, &text, &stem);
            if let Some(title) = chosen.title.as_deref().map(str::trim).filter(|t| !t.is_empty()) {
                note.title = title.chars().take(MAX_TITLE_CHARS).collect();
            }
            note
        } else if chosen_assessment.as_ref() == Some(&path) || name.starts_with(&files.assessment_prefix) {
            parse_note(NoteKind::Assessment, &text, &stem)
        } else {
            parse_note(NoteKind::Notes, &text, &stem)
        };
        notes.push(note);
    }
    if !notes.iter().any(|n| n.kind == NoteKind::Notes) {
        return Err(NO_NOTES.into());
    }
    Ok((notes, source))
}

/// Which source told the notes from the assessment.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Source {
    /// The report named the notes file (and maybe the assessment).
    Report,
    /// No report named files: the file names did.
    Names,
    /// The report named files not found in the notes folder: the names did.
    NamesReportUnmatched,
}

const MAX_TITLE_CHARS: usize = 300;

/// The notes folder, if the program made one, once it is known to lie
/// inside the scratch directory: a symbolic link anywhere on the way could
/// lead the walk to any directory the node may read.
pub(super) fn notes_folder(scratch: &Path, dir: &Path) -> Result<Option<PathBuf>, String> {
    let folder = match scratch.join(dir).canonicalize() {
        Ok(folder) => folder,
        Err(_) => return Ok(None),
    };
    let scratch = scratch.canonicalize().map_err(|e| format!("cannot read the scratch directory: {e}"))?;
    if !folder.starts_with(&scratch) {
        return Err(format!(
            "the notes folder {:?} is a symbolic link out of the job's scratch directory; it was not read",
            dir.display().to_string()
        ));
    }
    Ok(Some(folder))
}

/// The file's bytes, refusing one over `max_bytes`. Opened without
/// following a symbolic link and without blocking (a FIFO would wait for a
/// writer), and checked on the open file, so what is read is the regular
/// file that was found.
pub(super) fn read_capped(path: &Path, name: &str, max_bytes: u64) -> Result<Vec<u8>, String> {
    let cannot = |e: std::io::Error| format!("cannot read notes file {name:?}: {e}");
    let flags = nix::libc::O_NOFOLLOW | nix::libc::O_NONBLOCK;
    let file = std::fs::OpenOptions::new().read(true).custom_flags(flags).open(path).map_err(cannot)?;
    let metadata = file.metadata().map_err(cannot)?;
    if !metadata.is_file() {
        return Err(format!("notes file {name:?} is not a regular file"));
    }
    let too_large = |size: u64| format!("notes file {name:?} is {size} bytes, over the limit of {max_bytes}");
    if metadata.len() > max_bytes {
        return Err(too_large(metadata.len()));
    }
    let mut bytes = Vec::with_capacity(metadata.len() as usize);
    // Still capped, should the file have grown since.
    file.take(max_bytes + 1).read_to_end(&mut bytes).map_err(cannot)?;
    if bytes.len() as u64 > max_bytes {
        return Err(too_large(bytes.len() as u64));
    }
    Ok(bytes)
}

#[derive(Deserialize)]
struct FrontMatter {
    title: Option<String>,
}

/// Splits off YAML front matter and finds the title.
pub fn parse_note(kind: NoteKind, text: &str, fallback_title: &str) -> NewNote {
    let parsed = Matter::<YAML>::new().parse::<FrontMatter>(text).ok();
    let (front_title, body) = match parsed {
        Some(entity) if !entity.matter.is_empty() => (entity.data.and_then(|d| d.title), entity.content),
        _ => (None, text.to_string()),
    };
    let heading = body.lines().find_map(|line| line.strip_prefix("# ")).map(str::trim).filter(|t| !t.is_empty());
    let title = front_title
        .filter(|t| !t.trim().is_empty())
        .or(heading.map(String::from))
        .unwrap_or_else(|| fallback_title.to_string());
    NewNote { kind, title: title.trim().chars().take(MAX_TITLE_CHARS).collect(), markdown: body }
}

/// Regular `.md` files under `dir`, symbolic links skipped; stops once
/// `enough` are found, so a program that wrote millions costs no more.
fn find_markdown(dir: &Path, depth: usize, enough: usize, found: &mut Vec<PathBuf>) {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return;
    };
    for entry in entries.flatten() {
        if found.len() >= enough {
            return;
        }
        // The entry's own type: a symbolic link is neither a file nor a folder here.
        let Ok(file_type) = entry.file_type() else {
            continue;
        };
        let path = entry.path();
        if file_type.is_dir() && depth < MAX_DEPTH {
            find_markdown(&path, depth + 1, enough, found);
        } else if file_type.is_file() && path.extension().is_some_and(|e| e == "md") {
            found.push(path);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn title_comes_from_front_matter_then_heading_then_file_name() {
        let with_front = "---\ntitle: Linear Algebra 1\nsubject: Math\n---\n# Other heading\n\nBody";
        let note = parse_note(NoteKind::Notes, with_front, "file");
        assert_eq!(note.title, "Linear Algebra 1");
        assert!(note.markdown.starts_with("# Other heading"), "{:?}", note.markdown);
        assert_eq!(
            parse_note(NoteKind::Notes, "# Heading Title\n\n---\n\n## Key Points", "file").title,
            "Heading Title"
        );
        assert_eq!(parse_note(NoteKind::Notes, "no heading at all", "file").title, "file");
    }

    #[test]
    fn collects_notes_and_assessments_and_refuses_garbage_and_symlinks() {
        let scratch = tempfile::tempdir().unwrap();
        let folder = scratch.path().join("notes/Math");
        std::fs::create_dir_all(&folder).unwrap();
        let files = NoteFiles::default();
        assert!(collect_notes(scratch.path(), &files, &Chosen::default()).unwrap_err().contains("wrote no notes"));
        std::fs::write(folder.join("Lecture.md"), "# Lecture\n\n[YouTube Video](u)\n").unwrap();
        std::fs::write(folder.join("Assessment_Lecture.md"), "# Quiz\n").unwrap();
        std::fs::write(scratch.path().join("notes/processing_log.json"), "{}").unwrap();
        std::os::unix::fs::symlink("/etc/passwd", folder.join("leak.md")).unwrap();
        let (notes, source) = collect_notes(scratch.path(), &files, &Chosen::default()).unwrap();
        assert_eq!(source, Source::Names);
        let kinds: Vec<_> = notes.iter().map(|n| (n.kind, n.title.as_str())).collect();
        assert_eq!(kinds, [(NoteKind::Assessment, "Quiz"), (NoteKind::Notes, "Lecture")]);
        std::fs::write(folder.join("Bad.md"), [0xff, 0xfe, 0x00]).unwrap();
        assert!(collect_notes(scratch.path(), &files, &Chosen::default()).unwrap_err().contains("not UTF-8"));
    }

    #[test]
    fn a_notes_folder_that_leads_out_of_the_scratch_directory_is_not_read() {
        let (scratch, outside) = (tempfile::tempdir().unwrap(), tempfile::tempdir().unwrap());
        std::fs::create_dir_all(outside.path().join("Math")).unwrap();
        std::fs::write(outside.path().join("Math/Secret.md"), "# Secret\n").unwrap();
        std::os::unix::fs::symlink(outside.path(), scratch.path().join("notes")).unwrap();
        let refused = collect_notes(scratch.path(), &NoteFiles::default(), &Chosen::default()).unwrap_err();
        assert!(refused.contains("symbolic link out of the job's scratch directory"), "{refused}");
    }

    #[test]
    fn more_files_or_bytes_than_one_job_may_keep_are_refused() {
        let scratch = tempfile::tempdir().unwrap();
        let folder = scratch.path().join("notes/Math");
        std::fs::create_dir_all(&folder).unwrap();
        for n in 0..4 {
            std::fs::write(folder.join(format!("Part {n}.md")), "# Part\n\n0123456789\n").unwrap();
        }
        let files = NoteFiles { max_files: 4, max_total_bytes: 80, ..NoteFiles::default() };
        assert_eq!(collect_notes(scratch.path(), &files, &Chosen::default()).unwrap().0.len(), 4);
        std::fs::write(folder.join("Part 4.md"), "# Part\n").unwrap();
        assert!(
            collect_notes(scratch.path(), &files, &Chosen::default()).unwrap_err().contains("more than 4 notes files")
        );
        let files = NoteFiles { max_total_bytes: 60, ..NoteFiles::default() };
        assert!(
            collect_notes(scratch.path(), &files, &Chosen::default())
                .unwrap_err()
                .contains("more than 60 bytes in all")
        );
    }

    #[test]
    fn the_reports_files_decide_which_is_the_notes_and_which_the_assessment() {
        let scratch = tempfile::tempdir().unwrap();
        let folder = scratch.path().join("notes/Math");
        std::fs::create_dir_all(&folder).unwrap();
        std::fs::write(folder.join("Lecture.md"), "# Untitled draft\n\nBody\n").unwrap();
        std::fs::write(folder.join("Quiz - Lecture.md"), "# Questions\n").unwrap();
        std::fs::write(folder.join("Assessment_Old.md"), "# Old quiz\n").unwrap();
        let files = NoteFiles::default();
        let chosen = Chosen {
            notes: Some("notes/Math/Lecture.md".into()),
            assessment: Some(folder.join("Quiz - Lecture.md")),
            title: Some("Linear Algebra, lecture 1".into()),
        };
        let (notes, source) = collect_notes(scratch.path(), &files, &chosen).unwrap();
        assert_eq!(source, Source::Report);
        let kinds: Vec<_> = notes.iter().map(|n| (n.kind, n.title.as_str())).collect();
        assert_eq!(
            kinds,
            [
                (NoteKind::Assessment, "Old quiz"),
                (NoteKind::Notes, "Linear Algebra, lecture 1"),
                (NoteKind::Assessment, "Questions")
            ],
            "the report's files as the report says; another file is kept, told by its name"
        );
        // Files the report names that are not in the folder: the names decide.
        let elsewhere = Chosen { notes: Some("/etc/passwd".into()), ..Chosen::default() };
        let (notes, source) = collect_notes(scratch.path(), &files, &elsewhere).unwrap();
        assert_eq!(source, Source::NamesReportUnmatched);
        assert!(notes.iter().all(|n| !n.markdown.contains("root:")));
        let kinds: Vec<_> = notes.iter().map(|n| n.kind).collect();
        assert_eq!(kinds, [NoteKind::Assessment, NoteKind::Notes, NoteKind::Notes]);
    }
}
