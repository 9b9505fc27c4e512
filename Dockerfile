# syntax=docker/dockerfile:1
# Build stage: compile the release binary with the toolchain CI tests with.
FROM rust:1.95-bookworm AS build
WORKDIR /src
COPY . .
RUN --mount=type=cache,target=/usr/local/cargo/registry \
    --mount=type=cache,target=/src/target \
    cargo build --release --locked -p madoguchi \
 && cp target/release/madoguchi /usr/local/bin/madoguchi

# Runtime stage: a small image, a non-root user, nothing else.
FROM debian:bookworm-slim
RUN apt-get update \
 && apt-get install -y --no-install-recommends ca-certificates \
 && rm -rf /var/lib/apt/lists/* \
 && useradd --system --uid 10001 --home-dir /var/lib/madoguchi --create-home madoguchi
COPY --from=build /usr/local/bin/madoguchi /usr/local/bin/madoguchi
USER madoguchi
WORKDIR /var/lib/madoguchi
# Without DATABASE_URL the server keeps an SQLite file here: a volume, so that
# a plain `docker run` keeps its data across containers.
VOLUME /var/lib/madoguchi
ENV DATABASE_URL=sqlite:///var/lib/madoguchi/madoguchi.db?mode=rwc \
    MADOGUCHI_LISTEN=0.0.0.0:8080 \
    MADOGUCHI_LOG_FORMAT=json
EXPOSE 8080
# `madoguchi healthcheck` asks /readyz on whatever MADOGUCHI_LISTEN says.
HEALTHCHECK --interval=10s --timeout=3s --start-period=20s \
  CMD ["/usr/local/bin/madoguchi", "healthcheck"]
STOPSIGNAL SIGTERM
ENTRYPOINT ["/usr/local/bin/madoguchi"]
