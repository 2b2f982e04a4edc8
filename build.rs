//! Compiles the protos with protox (pure Rust, no system `protoc`) and writes
//! the descriptor set that server reflection serves.
use prost::Message;

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let proto = "proto/videojobs/v1/videojobs.proto";
    println!("cargo:rerun-if-changed={proto}");
    let descriptors = protox::compile([proto], ["proto"])?;
    let out_dir = std::path::PathBuf::from(std::env::var("OUT_DIR")?);
    std::fs::write(out_dir.join("videojobs_descriptor.bin"), descriptors.encode_to_vec())?;
    // Small per-call buffers; see src/grpc/codec.rs.
    tonic_prost_build::configure().codec_path("crate::grpc::codec::CompactCodec").compile_fds(descriptors)?;
    Ok(())
}
