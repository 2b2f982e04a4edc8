//! The process keepers: every attempt's program runs under a
//! `videojobs-keeper` (src/bin/videojobs-keeper/), which is the subreaper of
//! everything the program starts and ends it all when the attempt ends or
//! the node dies. That way nothing outlives its attempt or its node, not
//! even a descendant that called setsid(). A keeper serves one worker slot,
//! one attempt at a time, and is kept for the next attempt, so an attempt
//! costs the spawn of its program and no second exec. This module finds the
//! keeper binary, starts keepers, and speaks their protocol.
use std::ffi::OsString;
use std::io::IoSlice;
use std::os::fd::{AsRawFd, OwnedFd, RawFd};
use std::os::unix::process::ExitStatusExt;
use std::path::{Path, PathBuf};
use std::process::{ExitStatus, Stdio};
use std::sync::Mutex;
use std::time::Duration;

use nix::fcntl::{FcntlArg, OFlag, fcntl};
use nix::sys::socket::{AddressFamily, ControlMessage, MsgFlags, SockFlag, SockType, recv, sendmsg, socketpair};
use nix::unistd::Pid;
use tokio::io::Interest;
use tokio::io::unix::AsyncFd;
use tokio::net::unix::pipe;
use tokio::process::{Child, Command};

pub use protocol::*;

/// How the supervisor and the keeper speak: shared word for word with the
/// keeper binary, which includes this file rather than linking the library.
#[path = "keeper_protocol.rs"]
mod protocol;

/// The keeper installed beside this binary (cargo puts every binary of the
/// package in `target/<profile>`, test binaries one level down in `deps`;
/// the Dockerfile copies it beside `videojobs`), else its name on `PATH`.
pub fn keeper_path() -> PathBuf {
    std::env::current_exe()
        .ok()
        .and_then(|exe| {
            let dir = exe.parent()?;
            [dir.join(KEEPER_PROGRAM), dir.parent()?.join(KEEPER_PROGRAM)].into_iter().find(|p| p.is_file())
        })
        .unwrap_or_else(|| PathBuf::from(KEEPER_PROGRAM))
}

/// Whether `keeper` names a file, directly or on `PATH`.
pub fn is_installed(keeper: &Path) -> bool {
    if keeper.components().count() > 1 {
        return keeper.is_file();
    }
    let path = std::env::var_os("PATH").unwrap_or_default();
    std::env::split_paths(&path).any(|dir| dir.join(keeper).is_file())
}

/// The idle keepers of a node, each ready for its next attempt. There are
/// never more than the attempts that ran at once.
pub struct Keepers {
    path: PathBuf,
    /// The programs' environment: each keeper passes its own on.
    env: Vec<(OsString, OsString)>,
    idle: Mutex<Vec<Keeper>>,
}

impl Keepers {
    pub fn new(path: PathBuf, env: Vec<(OsString, OsString)>) -> Keepers {
        Keepers { path, env, idle: Mutex::new(Vec::new()) }
    }

    /// An idle keeper, or a new one when none is.
    pub fn take(&self) -> Result<Keeper, String> {
        if let Some(keeper) = self.idle.lock().unwrap_or_else(|e| e.into_inner()).pop() {
            return Ok(keeper);
        }
        self.spawn()
    }

    fn spawn(&self) -> Result<Keeper, String> {
        Keeper::spawn(&self.path, &self.env).map_err(|error| {
            format!(
                "could not start the process keeper {}: {error} (build it with `cargo build --bins`; it belongs beside videojobs)",
                self.path.display()
            )
        })
    }

    /// Starts `program` under an idle keeper, or a new one when none is. An
    /// idle keeper can have died meanwhile (killed by someone, say): then the
    /// program is started once more under a new one, so the attempt is not
    /// spent on it.
    pub async fn start(
        &self,
        program: &Path,
        args: Vec<OsString>,
        dir: &Path,
        grace: Duration,
    ) -> Result<(Keeper, Started), NotStarted> {
        let pooled = self.idle.lock().unwrap_or_else(|e| e.into_inner()).pop();
        if let Some(mut keeper) = pooled {
            match keeper.start(program, args.clone(), dir, grace).await {
                Ok(started) => return Ok((keeper, started)),
                Err(NotStarted::Program(reason)) => {
                    self.give_back(keeper);
                    return Err(NotStarted::Program(reason));
                }
                Err(NotStarted::Keeper(reason)) => {
                    tracing::warn!(%reason, "an idle process keeper was gone; starting a new one");
                }
            }
        }
        let mut keeper = self.spawn().map_err(NotStarted::Keeper)?;
        match keeper.start(program, args, dir, grace).await {
            Ok(started) => Ok((keeper, started)),
            Err(NotStarted::Program(reason)) => {
                self.give_back(keeper);
                Err(NotStarted::Program(reason))
            }
            Err(error) => Err(error),
        }
    }

    /// A keeper whose attempt ended in order, for the next attempt.
    pub fn give_back(&self, keeper: Keeper) {
        self.idle.lock().unwrap_or_else(|e| e.into_inner()).push(keeper);
    }

    /// Lets every idle keeper go and waits for it to exit.
    pub async fn close(&self) {
        let idle = std::mem::take(&mut *self.idle.lock().unwrap_or_else(|e| e.into_inner()));
        futures::future::join_all(idle.into_iter().map(Keeper::close)).await;
    }
}

/// One keeper process and the supervisor's end of its socket. Dropping it
/// closes the socket: the keeper then ends whatever it runs and exits.
pub struct Keeper {
    child: Child,
    socket: AsyncFd<OwnedFd>,
}

/// A program the keeper started: the leader of its own process group.
pub struct Started {
    pub pid: Pid,
    pub stdout: pipe::Receiver,
    pub stderr: pipe::Receiver,
}

/// Why an attempt's program did not start.
pub enum NotStarted {
    /// The program could not be started; the keeper is fine.
    Program(String),
    /// The keeper did not answer as it should: let it go.
    Keeper(String),
}

impl Keeper {
    /// `keeper --parent-pid <this process>`, the leader of its own process
    /// group, its stdin a socket to this process. No shell is involved.
    fn spawn(path: &Path, env: &[(OsString, OsString)]) -> std::io::Result<Keeper> {
        let (ours, theirs) = socketpair(AddressFamily::Unix, SockType::SeqPacket, None, SockFlag::SOCK_CLOEXEC)?;
        fcntl(&ours, FcntlArg::F_SETFL(OFlag::O_NONBLOCK))?;
        let child = Command::new(path)
            .arg(PARENT_PID_FLAG)
            .arg(std::process::id().to_string())
            .env_clear()
            .envs(env.iter().cloned())
            .process_group(0)
            .stdin(Stdio::from(theirs))
            .stdout(Stdio::null())
            .stderr(Stdio::inherit())
            .spawn()?;
        Ok(Keeper { child, socket: register(ours)? })
    }

    /// The keeper's process id.
    pub fn pid(&self) -> Option<u32> {
        self.child.id()
    }

    /// Starts `program` in `dir`, its output piped back here.
    pub async fn start(
        &mut self,
        program: &Path,
        args: Vec<OsString>,
        dir: &Path,
        grace: Duration,
    ) -> Result<Started, NotStarted> {
        let request = Request::Run { grace, dir: dir.into(), program: program.into(), args };
        let request = request.encode().map_err(NotStarted::Program)?;
        let pipes = std::io::pipe().and_then(|out| Ok((out, std::io::pipe()?)));
        let ((stdout, stdout_writer), (stderr, stderr_writer)) =
            pipes.map_err(|e| NotStarted::Program(format!("could not make the program's pipes: {e}")))?;
        let sent = self.send(&request, &[stdout_writer.as_raw_fd(), stderr_writer.as_raw_fd()]).await;
        // Only the program holds the write ends now, so its end closes them.
        drop((stdout_writer, stderr_writer));
        sent.map_err(|e| NotStarted::Keeper(format!("the process keeper is gone: {e}")))?;
        let pid = match self.reply().await {
            Ok(Reply::Started { pid }) => Pid::from_raw(pid),
            Ok(Reply::NotStarted { reason }) => return Err(NotStarted::Program(reason)),
            Ok(other) => return Err(NotStarted::Keeper(format!("the process keeper answered {other:?} to a run"))),
            Err(error) => return Err(NotStarted::Keeper(format!("the process keeper is gone: {error}"))),
        };
        let receiver = |fd: std::io::PipeReader| pipe::Receiver::from_owned_fd(OwnedFd::from(fd));
        match (receiver(stdout), receiver(stderr)) {
            (Ok(stdout), Ok(stderr)) => Ok(Started { pid, stdout, stderr }),
            (Err(error), _) | (_, Err(error)) => {
                Err(NotStarted::Keeper(format!("could not read the program's output: {error}")))
            }
        }
    }

    /// The keeper's next message: after a start, the program's end (once
    /// everything it started is gone). Cancel-safe: nothing is lost when
    /// another branch of a `select!` wins.
    pub async fn reply(&self) -> std::io::Result<Reply> {
        let mut buffer = [0u8; MAX_REPLY];
        let read = self
            .socket
            .async_io(Interest::READABLE, |fd| {
                recv(fd.as_raw_fd(), &mut buffer, MsgFlags::empty()).map_err(std::io::Error::from)
            })
            .await?;
        if read == 0 {
            return Err(std::io::Error::new(std::io::ErrorKind::UnexpectedEof, "the process keeper ended"));
        }
        Reply::decode(&buffer[..read])
            .ok_or_else(|| std::io::Error::new(std::io::ErrorKind::InvalidData, "the process keeper said nonsense"))
    }

    /// Asks the keeper to end the running program and all it started
    /// (SIGTERM, then SIGKILL after the grace); it answers `Ended`.
    pub async fn stop(&self) -> std::io::Result<()> {
        let request = Request::Stop.encode().map_err(std::io::Error::other)?;
        self.send(&request, &[]).await
    }

    /// Kills the keeper itself: for a keeper that no longer answers.
    pub fn kill(&mut self) {
        let _ = self.child.start_kill();
    }

    async fn send(&self, bytes: &[u8], fds: &[RawFd]) -> std::io::Result<()> {
        let rights = [ControlMessage::ScmRights(fds)];
        let control: &[ControlMessage] = if fds.is_empty() { &[] } else { &rights };
        self.socket
            .async_io(Interest::WRITABLE, |fd| {
                sendmsg::<()>(fd.as_raw_fd(), &[IoSlice::new(bytes)], control, MsgFlags::MSG_NOSIGNAL, None)
                    .map_err(std::io::Error::from)
            })
            .await
            .map(drop)
    }

    /// Closes the socket and waits a little for the keeper to exit.
    async fn close(self) {
        let Keeper { mut child, socket } = self;
        drop(socket);
        if tokio::time::timeout(MARGIN, child.wait()).await.is_err() {
            let _ = child.start_kill();
            let _ = child.wait().await;
        }
    }
}

/// `socket` in tokio's reactor. (`AsyncFd::new`, the safe form, is
/// deprecated as unsound for types whose descriptor may change; an
/// `OwnedFd`'s cannot.)
#[allow(unsafe_code)]
fn register(socket: OwnedFd) -> std::io::Result<AsyncFd<OwnedFd>> {
    // SAFETY: an OwnedFd is open and names the same descriptor until it is
    // dropped, which only the AsyncFd that now owns it can do.
    unsafe { AsyncFd::register(socket) }.map_err(std::io::Error::from)
}

/// The program's end as a process status.
pub fn exit_status(exit: Exit) -> ExitStatus {
    match exit {
        Exit::Code(code) => ExitStatus::from_raw((code & 0xff) << 8),
        Exit::Signal(signal) => ExitStatus::from_raw(signal & 0x7f),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn requests_and_replies_read_back_as_written() {
        let run = Request::Run {
            grace: Duration::from_millis(1500),
            dir: "/tmp/scratch".into(),
            program: "study-buddy".into(),
            args: vec!["https://youtu.be/x".into(), "".into(), "--subject".into(), "Physics 101".into()],
        };
        assert_eq!(Request::decode(&run.encode().unwrap()), Some(run));
        assert_eq!(Request::decode(&Request::Stop.encode().unwrap()), Some(Request::Stop));
        let nul =
            Request::Run { grace: Duration::ZERO, dir: "/".into(), program: "p".into(), args: vec!["a\0b".into()] };
        assert!(nul.encode().is_err());
        for reply in [
            Reply::Started { pid: 4242 },
            Reply::NotStarted { reason: "could not start x: No such file".into() },
            Reply::Ended(Exit::Code(3)),
            Reply::Ended(Exit::Signal(9)),
        ] {
            assert_eq!(Reply::decode(&reply.encode()), Some(reply));
        }
        assert_eq!(Reply::decode(b"Cnot a number"), None);
        assert_eq!(Request::decode(b""), None);
    }

    #[test]
    fn exits_read_as_the_statuses_they_were() {
        assert_eq!(exit_status(Exit::Code(3)).code(), Some(3));
        assert_eq!(exit_status(Exit::Signal(9)).signal(), Some(9));
        assert!(exit_status(Exit::Code(0)).success());
    }
}
