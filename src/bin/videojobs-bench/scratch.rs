//! Scratch directories for the nodes, the peer and the floor, on tmpfs when
//! there is one.
use std::path::{Path, PathBuf};

/// A scratch directory removed on drop.
pub struct TempDir(PathBuf);

/// Where every scratch directory goes, for videojobs, BullMQ and the floor
/// alike: tmpfs when there is one. On ext4, creating directories soon after
/// deleting many makes the kernel scan for inodes it may reuse, and a run of
/// thousands of jobs slows down as it goes, whoever spawns the program.
pub fn scratch_base() -> PathBuf {
    let shm = Path::new("/dev/shm");
    if shm.is_dir() { shm.to_path_buf() } else { std::env::temp_dir() }
}

impl TempDir {
    pub fn new(label: &str) -> anyhow::Result<TempDir> {
        let path = scratch_base().join(format!("videojobs-bench-{label}-{}", crate::services::short_id()));
        std::fs::create_dir_all(&path)?;
        Ok(TempDir(path))
    }

    pub fn path(&self) -> &Path {
        &self.0
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}
