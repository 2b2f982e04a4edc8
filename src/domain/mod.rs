//! The rules of videojobs, free of transport and storage types: jobs and
//! their states, events, failure kinds, video URLs, subjects, the retry
//! policy, pauses, paging and the limits of a request.
pub mod attempt;
pub mod batch;
pub mod estimate;
pub mod event;
pub mod failure;
pub mod filter;
pub mod history;
pub mod job;
pub mod limits;
pub mod output;
pub mod page;
pub mod pause;
pub mod retry;
pub mod subject;
pub mod video_url;

pub use attempt::{Failure, NewNote, Outcome, StageUpdate};
pub use batch::{Batch, BatchCounts, BatchState};
pub use estimate::{Estimate, RunRate};
pub use event::{JobEvent, JobEventKind};
pub use failure::{FailureFilter, FailureKind, PermanentPatterns};
pub use filter::JobFilter;
pub use history::{AttemptFacts, AttemptOutcome, AttemptRecord, ProgramExit, StageTiming};
pub use job::{Job, JobState, Note, NoteKind, Scope, UserId};
pub use output::{Dropped, OutputChunk, OutputGroup, OutputLine, OutputStream};
pub use pause::{Pause, PauseTarget};
