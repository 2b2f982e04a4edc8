//! What the supervisor (src/supervisor/keeper.rs) and the keeper
//! (src/bin/videojobs-keeper/) say to each other: the keeper's command line,
//! and the messages they exchange over a `SOCK_SEQPACKET` socket pair, one
//! message a packet. A request to run carries the program's stdout and
//! stderr (the write ends of two pipes) as `SCM_RIGHTS`.
#![allow(dead_code)] // each side uses its part
use std::ffi::{OsStr, OsString};
use std::os::unix::ffi::{OsStrExt, OsStringExt};
use std::time::Duration;

/// The keeper's file name, installed beside `videojobs`.
pub const KEEPER_PROGRAM: &str = "videojobs-keeper";
/// Names the supervising process: the keeper stops once it is gone.
pub const PARENT_PID_FLAG: &str = "--parent-pid";
/// The keeper's exit status when it cannot keep at all (it could not become
/// a subreaper, say); its stderr then says why, after [`FAILURE_PREFIX`].
pub const KEEPER_FAILED: i32 = 125;
pub const FAILURE_PREFIX: &str = "videojobs-keeper: ";
/// How much longer than the kill grace the supervisor waits for the keeper,
/// which enforces the grace itself, before it kills the program's group.
pub const MARGIN: Duration = Duration::from_secs(2);
/// The largest request (a run request's command line).
pub const MAX_MESSAGE: usize = 64 * 1024;
/// The largest reply (a reason why the program could not start).
pub const MAX_REPLY: usize = 4096;

/// From the supervisor to the keeper.
#[derive(Debug, PartialEq)]
pub enum Request {
    /// Start `program` with `args` in `dir`, its own process group's leader,
    /// stdin from /dev/null, stdout and stderr the two descriptors sent along.
    Run { grace: Duration, dir: OsString, program: OsString, args: Vec<OsString> },
    /// End the running attempt: every descendant gets SIGTERM, then SIGKILL
    /// after the grace.
    Stop,
}

/// How a program ended.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum Exit {
    Code(i32),
    Signal(i32),
}

/// From the keeper to the supervisor.
#[derive(Debug, PartialEq)]
pub enum Reply {
    /// The program runs, with this pid (and process group id).
    Started { pid: i32 },
    /// The program could not be started, and why.
    NotStarted { reason: String },
    /// The program ended and everything it started is gone.
    Ended(Exit),
}

const RUN: u8 = b'R';
const STOP: u8 = b'S';
const STARTED: u8 = b'P';
const NOT_STARTED: u8 = b'F';
const EXITED: u8 = b'C';
const KILLED: u8 = b'K';

impl Request {
    /// A tag byte, then NUL-separated fields (no argument of a command line
    /// can hold a NUL byte, so none is lost).
    pub fn encode(&self) -> Result<Vec<u8>, String> {
        match self {
            Request::Stop => Ok(vec![STOP]),
            Request::Run { grace, dir, program, args } => {
                let grace = grace.as_millis().to_string();
                let fields = [OsStr::new(&grace), dir.as_os_str(), program.as_os_str()]
                    .into_iter()
                    .chain(args.iter().map(OsString::as_os_str));
                let mut bytes = vec![RUN];
                for (index, field) in fields.enumerate() {
                    if field.as_bytes().contains(&0) {
                        return Err("an argument holds a NUL byte".into());
                    }
                    if index > 0 {
                        bytes.push(0);
                    }
                    bytes.extend_from_slice(field.as_bytes());
                }
                if bytes.len() > MAX_MESSAGE {
                    return Err(format!("the command line is longer than {MAX_MESSAGE} bytes"));
                }
                Ok(bytes)
            }
        }
    }

    pub fn decode(bytes: &[u8]) -> Option<Request> {
        let (&tag, rest) = bytes.split_first()?;
        match tag {
            STOP if rest.is_empty() => Some(Request::Stop),
            RUN => {
                let mut fields = rest.split(|&b| b == 0).map(|f| OsString::from_vec(f.to_vec()));
                let grace = fields.next()?.to_str()?.parse().ok().map(Duration::from_millis)?;
                let dir = fields.next()?;
                let program = fields.next()?;
                Some(Request::Run { grace, dir, program, args: fields.collect() })
            }
            _ => None,
        }
    }
}

impl Reply {
    pub fn encode(&self) -> Vec<u8> {
        let (tag, text) = match self {
            Reply::Started { pid } => (STARTED, pid.to_string()),
            Reply::NotStarted { reason } => (NOT_STARTED, reason.clone()),
            Reply::Ended(Exit::Code(code)) => (EXITED, code.to_string()),
            Reply::Ended(Exit::Signal(signal)) => (KILLED, signal.to_string()),
        };
        let mut bytes = vec![tag];
        let mut end = text.len().min(MAX_REPLY - 1);
        while !text.is_char_boundary(end) {
            end -= 1;
        }
        bytes.extend_from_slice(&text.as_bytes()[..end]);
        bytes
    }

    pub fn decode(bytes: &[u8]) -> Option<Reply> {
        let (&tag, rest) = bytes.split_first()?;
        let text = std::str::from_utf8(rest).ok();
        let number = || text?.parse::<i32>().ok();
        match tag {
            STARTED => Some(Reply::Started { pid: number()? }),
            NOT_STARTED => Some(Reply::NotStarted { reason: String::from_utf8_lossy(rest).into_owned() }),
            EXITED => Some(Reply::Ended(Exit::Code(number()?))),
            KILLED => Some(Reply::Ended(Exit::Signal(number()?))),
            _ => None,
        }
    }
}
