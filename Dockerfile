# videojobs: release build, small runtime image, non-root, configured by
# environment variables only. The bundled stand-in program is included; point
# VIDEOJOBS_CLI at the real youtube-study-buddy to use it instead.
#
# Two ways to build it, both on the `runtime` stage:
# - With an image registry (the default target): the Rust image builds the
#   release binaries, the runtime is debian:bookworm-slim.
#     docker build -t videojobs .
#     podman build --format docker -t videojobs .
# - From binaries built outside the image (no registry, no toolchain in the
#   build): target `prebuilt`, the build context a directory holding
#   videojobs, videojobs-keeper and study-buddy-standin, BASE any Debian
#   bookworm image (with ca-certificates and tini in it, the build needs no
#   network). scripts/container-check.sh makes such a base with debootstrap
#   and builds:
#     podman build --format docker --target prebuilt \
#       --build-arg BASE=localhost/videojobs-base:bookworm -f Dockerfile DIR
# Each way skips the other's stage (BuildKit, podman and buildah do; the
# legacy docker builder builds every stage, so use BuildKit there).
# `--format docker`: podman's default OCI format drops the HEALTHCHECK.
ARG BASE=debian:bookworm-slim

FROM ${BASE} AS runtime
# Installs only what the base lacks: debian:bookworm-slim needs both, the
# debootstrap base carries them.
RUN if ! dpkg -s ca-certificates tini >/dev/null 2>&1; then \
      apt-get update \
      && apt-get install -y --no-install-recommends ca-certificates tini \
      && rm -rf /var/lib/apt/lists/*; \
    fi \
 && useradd --system --uid 10001 --home-dir /var/lib/videojobs --create-home videojobs
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

# Both ways put videojobs-keeper beside videojobs: it runs every program. As
# a child subreaper with a parent-death signal it ends all the program
# started, even what left its process group, when the attempt or the node
# ends. It needs no privileges.

# The binaries built outside the image, from the build context.
FROM runtime AS prebuilt
COPY videojobs videojobs-keeper study-buddy-standin /usr/local/bin/

FROM rust:1.95-slim-bookworm AS build
WORKDIR /src
COPY . .
RUN cargo build --release --locked --bins

FROM runtime
COPY --from=build /src/target/release/videojobs /src/target/release/videojobs-keeper \
     /src/target/release/study-buddy-standin /usr/local/bin/
