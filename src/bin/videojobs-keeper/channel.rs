//! The keeper's end of its socket to the supervisor: its stdin, a
//! `SOCK_SEQPACKET` socket, read and written one message at a time.
use std::io::IoSliceMut;
use std::os::fd::{AsFd, AsRawFd, BorrowedFd, FromRawFd, OwnedFd};

use nix::sys::socket::{ControlMessageOwned, MsgFlags, recvmsg, send};

use crate::protocol::{MAX_MESSAGE, Reply, Request};

/// What came from the supervisor.
pub enum Received {
    Request(Request, Vec<OwnedFd>),
    /// A message the keeper cannot read; it is dropped.
    Garbled,
    /// The supervisor closed its end, or died.
    Gone,
}

pub struct Channel {
    fd: OwnedFd,
}

impl Channel {
    /// The socket the supervisor gave the keeper as its stdin.
    pub fn stdin() -> std::io::Result<Channel> {
        Ok(Channel { fd: std::io::stdin().as_fd().try_clone_to_owned()? })
    }

    pub fn fd(&self) -> BorrowedFd<'_> {
        self.fd.as_fd()
    }

    /// Waits for the next message (call it once the socket is readable).
    pub fn receive(&self) -> Received {
        let mut buffer = vec![0u8; MAX_MESSAGE];
        let mut space = nix::cmsg_space!([std::os::fd::RawFd; 4]);
        let mut iov = [IoSliceMut::new(&mut buffer)];
        let message = match recvmsg::<()>(self.fd.as_raw_fd(), &mut iov, Some(&mut space), MsgFlags::MSG_CMSG_CLOEXEC) {
            Ok(message) => message,
            Err(nix::errno::Errno::EINTR) => return Received::Garbled,
            Err(_) => return Received::Gone,
        };
        let mut fds = Vec::new();
        if let Ok(cmsgs) = message.cmsgs() {
            for cmsg in cmsgs {
                if let ControlMessageOwned::ScmRights(raw) = cmsg {
                    fds.extend(raw.into_iter().map(owned));
                }
            }
        }
        let length = message.bytes;
        if length == 0 {
            return Received::Gone;
        }
        match Request::decode(&buffer[..length]) {
            Some(request) => Received::Request(request, fds),
            None => Received::Garbled,
        }
    }

    /// Sends `reply`; a supervisor that is gone is noticed at the next read.
    pub fn send(&self, reply: &Reply) {
        let _ = send(self.fd.as_raw_fd(), &reply.encode(), MsgFlags::MSG_NOSIGNAL);
    }
}

/// A descriptor that SCM_RIGHTS just installed in this process.
#[allow(unsafe_code)]
fn owned(raw: std::os::fd::RawFd) -> OwnedFd {
    // SAFETY: the kernel installed `raw` for this message alone; nothing
    // else in the keeper knows it, so this is its only owner.
    unsafe { OwnedFd::from_raw_fd(raw) }
}
