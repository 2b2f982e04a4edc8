# videojobs: release build, small runtime image, non-root, configured by
# environment variables only. The bundled stand-in program is included; point
# VIDEOJOBS_CLI at the real youtube-study-buddy to use it instead.
FROM rust:1.95-slim-bookworm AS build
WORKDIR /src
COPY . .
RUN cargo build --release --locked --bins

FROM debian:bookworm-slim
RUN apt-get update \
 && apt-get install -y --no-install-recommends ca-certificates tini \
 && rm -rf /var/lib/apt/lists/* \
 && useradd --system --uid 10001 --home-dir /var/lib/videojobs --create-home videojobs
# videojobs-keeper runs every program (it must sit beside videojobs): as a
# child subreaper with a parent-death signal it ends all the program started,
# even what left its process group, when the attempt or the node ends. It
# needs no privileges.
COPY --from=build /src/target/release/videojobs /src/target/release/videojobs-keeper \
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
