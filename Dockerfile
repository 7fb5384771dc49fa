# Multi-stage build: compile in the Rust image, run in a small Debian image
# as a non-root user. SQLite lives on a volume at /data; PostgreSQL is used
# when DATABASE_URL=postgres://… is set.
FROM rust:1-slim-bookworm AS build
WORKDIR /src
# Cache dependencies: build once with the manifests only.
COPY Cargo.toml Cargo.lock ./
COPY bench/Cargo.toml bench/Cargo.toml
COPY mock-carrier/Cargo.toml mock-carrier/Cargo.toml
RUN mkdir -p src bench/src mock-carrier/src && echo 'fn main() {}' > src/main.rs && touch src/lib.rs \
    && echo 'fn main() {}' > bench/src/main.rs && touch mock-carrier/src/lib.rs \
    && cargo build --release -p ringback || true
COPY . .
RUN touch src/main.rs src/lib.rs && cargo build --release -p ringback --locked

FROM debian:bookworm-slim AS runtime
RUN apt-get update && apt-get install -y --no-install-recommends ca-certificates tini \
    && rm -rf /var/lib/apt/lists/* \
    && useradd --system --uid 10001 --home /app ringback \
    && mkdir -p /data /app && chown ringback /data /app
WORKDIR /app
COPY --from=build /src/target/release/ringback /usr/local/bin/ringback
COPY ringback.toml /app/ringback.toml
COPY prompts /app/prompts
USER ringback
ENV RINGBACK_CONFIG=/app/ringback.toml \
    DATABASE_URL=sqlite:///data/ringback.db \
    PORT=8080 \
    RINGBACK_ADDR=0.0.0.0
EXPOSE 8080
# tini forwards SIGTERM so ringback shuts down gracefully.
ENTRYPOINT ["/usr/bin/tini", "--", "ringback"]
CMD ["serve"]
