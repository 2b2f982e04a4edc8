# videojobs: release build, small runtime image, non-root, configured by
# environment variables only. The bundled stand-in program is included; point
# VIDEOJOBS_CLI at the real youtube-study-buddy to use it instead.
#
# Two forms, one runtime stage:
# - With an image registry (the default): the Rust image builds the release
#   binaries, the runtime is debian:bookworm-slim.
#     docker build -t videojobs .
#     podman build --format docker -t videojobs .
# - From binaries built outside the image (no registry, no toolchain in the
#   build): the build context is a directory holding videojobs,
#   videojobs-keeper and study-buddy-standin, and BASE is any Debian bookworm
#   image (one with ca-certificates and tini needs no network).
#   scripts/container-check.sh makes such a base with debootstrap and builds:
#     podman build --format docker --build-arg BINARIES=prebuilt \
#       --build-arg BASE=localhost/debian:bookworm-minbase -f Dockerfile DIR
# Each form skips the other's stage (BuildKit, podman and buildah do; the
# legacy docker builder builds every stage, so set DOCKER_BUILDKIT=1 there).
# `--format docker` keeps the HEALTHCHECK (the OCI format has none).
ARG BINARIES=build
ARG BASE=debian:bookworm-slim

FROM rust:1.95-slim-bookworm AS build
WORKDIR /src
COPY . .
RUN cargo build --release --locked --bins

FROM scratch AS prebuilt
COPY videojobs videojobs-keeper study-buddy-standin /src/target/release/

FROM ${BINARIES} AS binaries
# A step of its own: buildah 1.28 (Debian 12's podman) fails on an empty stage
# when it builds without --layers.
WORKDIR /src

FROM ${BASE}
# Installs only what the base lacks: debian:bookworm-slim needs both, the
# debootstrap base carries them (--include), so its build needs no network.
RUN if ! dpkg -s ca-certificates tini >/dev/null 2>&1; then \
      apt-get update \
      && apt-get install -y --no-install-recommends ca-certificates tini \
      && rm -rf /var/lib/apt/lists/*; \
    fi \
 && useradd --system --uid 10001 --home-dir /var/lib/videojobs --create-home videojobs
# videojobs-keeper runs every program (it must sit beside videojobs): as a
# child subreaper with a parent-death signal it ends all the program started,
# even what left its process group, when the attempt or the node ends. It
# needs no privileges.
COPY --from=binaries /src/target/release/videojobs /src/target/release/videojobs-keeper \
     /src/target/release/study-buddy-standin /usr/local/bin/
USER videojobs
WORKDIR /var/lib/videojobs
ENV VIDEOJOBS_LISTEN=0.0.0.0:50051 \
    VIDEOJOBS_DATA_DIR=/var/lib/videojobs \
    VIDEOJOBS_ADDR=http://127.0.0.1:50051
EXPOSE 50051
HEALTHCHECK --interval=15s --timeout=5s --start-period=10s CMD ["videojobs", "health"]
# tini reaps what a killed node leaves to PID 1 (its keepers, after they have
# ended their programs).
ENTRYPOINT ["/usr/bin/tini", "--", "videojobs"]
CMD ["serve"]
