//! The program's output as kept and streamed: numbered lines of stdout and
//! stderr, and the marker line that says what was dropped between the head
//! and the tail an attempt keeps.
use serde::{Deserialize, Serialize};
use uuid::Uuid;

/// Which stream a line came from; `Marker` is videojobs' own line saying
/// what was dropped.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum OutputStream {
    Stdout,
    Stderr,
    Marker,
}

impl OutputStream {
    pub fn as_str(self) -> &'static str {
        match self {
            OutputStream::Stdout => "stdout",
            OutputStream::Stderr => "stderr",
            OutputStream::Marker => "marker",
        }
    }

    pub fn parse(text: &str) -> Option<OutputStream> {
        [OutputStream::Stdout, OutputStream::Stderr, OutputStream::Marker].into_iter().find(|s| s.as_str() == text)
    }
}

/// One line, numbered from 1 in the order the attempt's lines arrived.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct OutputLine {
    pub line: u64,
    pub stream: OutputStream,
    pub text: String,
}

/// Lines dropped between the kept head and the kept tail, so far. The
/// marker line takes the number of the first dropped line.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Dropped {
    /// The first dropped line (where the marker stands).
    pub first: u64,
    /// The line after the last dropped one.
    pub until: u64,
    pub bytes: u64,
}

impl Dropped {
    pub fn lines(&self) -> u64 {
        self.until - self.first
    }

    /// The marker line that stands for the dropped lines.
    pub fn marker(&self) -> OutputLine {
        OutputLine {
            line: self.first,
            stream: OutputStream::Marker,
            text: format!(
                "[videojobs] {} lines ({} bytes) dropped here: lines {} to {}; the first and the last of the output are kept",
                self.lines(),
                self.bytes,
                self.first,
                self.until - 1
            ),
        }
    }
}

/// Lines of an attempt to store together: new lines in line order, and
/// what was dropped so far if that changed since the last group (the lines
/// it covers that were stored are removed, and its marker stored instead).
#[derive(Clone, Debug, Default, PartialEq)]
pub struct OutputGroup {
    pub lines: Vec<OutputLine>,
    pub dropped: Option<Dropped>,
}

impl OutputGroup {
    pub fn is_empty(&self) -> bool {
        self.lines.is_empty() && self.dropped.is_none()
    }
}

/// Lines of one attempt just stored, as sent to watchers on every node.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct OutputChunk {
    pub job_id: Uuid,
    pub attempt: u32,
    /// In line order; a marker first when lines were dropped.
    pub lines: Vec<OutputLine>,
    /// The attempt's end is stored: these are its last lines (maybe none),
    /// so its watchers read storage once more and end.
    #[serde(default)]
    pub ended: bool,
}
