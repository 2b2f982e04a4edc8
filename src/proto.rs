//! Code generated from `proto/videojobs/v1/videojobs.proto` by `build.rs`.
#![allow(clippy::all, missing_docs)]

pub mod v1 {
    tonic::include_proto!("videojobs.v1");
}

/// The encoded descriptor set that server reflection serves.
pub const FILE_DESCRIPTOR_SET: &[u8] = tonic::include_file_descriptor_set!("videojobs_descriptor");
