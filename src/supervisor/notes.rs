//! Collects the notes an attempt wrote under its scratch directory:
//! `notes/<subject>/<title>.md` and `…/Assessment_<title>.md`. Only regular
//! files are read (a symlink could point anywhere), each size-capped and
//! checked to be UTF-8 text; the title comes from YAML front matter when
//! present, else the first `# ` heading, else the file name.
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
    pub max_bytes: u64,
}

impl Default for NoteFiles {
    fn default() -> Self {
        NoteFiles { dir: PathBuf::from("notes"), assessment_prefix: "Assessment_".into(), max_bytes: 2 * 1024 * 1024 }
    }
}

const MAX_DEPTH: usize = 4;

/// The notes in `scratch`, or why they cannot be used.
pub fn collect_notes(scratch: &Path, files: &NoteFiles) -> Result<Vec<NewNote>, String> {
    let mut paths = Vec::new();
    find_markdown(&scratch.join(&files.dir), 0, &mut paths);
    paths.sort();
    let mut notes = Vec::with_capacity(paths.len());
    for path in paths {
        let name = path.file_name().and_then(|n| n.to_str()).unwrap_or_default().to_string();
        let size = std::fs::metadata(&path).map(|m| m.len()).unwrap_or(0);
        if size > files.max_bytes {
            return Err(format!("notes file {name:?} is {size} bytes, over the limit of {}", files.max_bytes));
        }
        let bytes = std::fs::read(&path).map_err(|e| format!("cannot read notes file {name:?}: {e}"))?;
        let text = String::from_utf8(bytes).map_err(|_| format!("notes file {name:?} is not UTF-8 text"))?;
        if text.trim().is_empty() {
            return Err(format!("notes file {name:?} is empty"));
        }
        let kind = if name.starts_with(&files.assessment_prefix) { NoteKind::Assessment } else { NoteKind::Notes };
        let stem = name.trim_end_matches(".md").to_string();
        notes.push(parse_note(kind, &text, &stem));
    }
    if !notes.iter().any(|n| n.kind == NoteKind::Notes) {
        return Err("the program reported success but wrote no notes file".into());
    }
    Ok(notes)
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
    NewNote { kind, title: title.trim().chars().take(300).collect(), markdown: body }
}

fn find_markdown(dir: &Path, depth: usize, found: &mut Vec<PathBuf>) {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return;
    };
    for entry in entries.flatten() {
        let Ok(file_type) = entry.file_type() else {
            continue;
        };
        let path = entry.path();
        if file_type.is_dir() && depth < MAX_DEPTH {
            find_markdown(&path, depth + 1, found);
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
        assert!(collect_notes(scratch.path(), &files).unwrap_err().contains("wrote no notes"));
        std::fs::write(folder.join("Lecture.md"), "# Lecture\n\n[YouTube Video](u)\n").unwrap();
        std::fs::write(folder.join("Assessment_Lecture.md"), "# Quiz\n").unwrap();
        std::fs::write(scratch.path().join("notes/processing_log.json"), "{}").unwrap();
        std::os::unix::fs::symlink("/etc/passwd", folder.join("leak.md")).unwrap();
        let notes = collect_notes(scratch.path(), &files).unwrap();
        let kinds: Vec<_> = notes.iter().map(|n| (n.kind, n.title.as_str())).collect();
        assert_eq!(kinds, [(NoteKind::Assessment, "Quiz"), (NoteKind::Notes, "Lecture")]);
        std::fs::write(folder.join("Bad.md"), [0xff, 0xfe, 0x00]).unwrap();
        assert!(collect_notes(scratch.path(), &files).unwrap_err().contains("not UTF-8"));
    }
}
