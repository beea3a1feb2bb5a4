# Solidarity Ledger service image: built in a full Rust image, run from a slim Debian one as an
# unprivileged user. `docker build -t solidarity-ledger .`; `docker-compose.yml` runs it with
# PostgreSQL.

# --- build ---------------------------------------------------------------------------------------
FROM rust:1.95-bookworm AS build
WORKDIR /src
# Dependencies first, so a change to our code does not rebuild them: a stub of every crate, then
# the real sources.
COPY Cargo.toml Cargo.lock ./
# Build settings (the bundled SQLite's compile flags) apply to the dependencies too.
COPY .cargo/ .cargo/
COPY crates/ledger-core/Cargo.toml crates/ledger-core/
COPY crates/ledger-store/Cargo.toml crates/ledger-store/
COPY crates/ledger-api/Cargo.toml crates/ledger-api/
COPY crates/ledger-app/Cargo.toml crates/ledger-app/
COPY crates/ledger-verify/Cargo.toml crates/ledger-verify/
COPY crates/ledger-web/Cargo.toml crates/ledger-web/
COPY crates/ledger-testkit/Cargo.toml crates/ledger-testkit/
COPY crates/ledger-bench/Cargo.toml crates/ledger-bench/
RUN for crate in ledger-core ledger-store ledger-api ledger-app ledger-verify ledger-web ledger-testkit; do \
        mkdir -p crates/$crate/src && echo '' > crates/$crate/src/lib.rs; \
    done \
    && mkdir -p crates/ledger-bench/src src \
    && echo 'fn main() {}' > crates/ledger-bench/src/main.rs \
    && echo 'fn main() {}' > src/main.rs \
    && cargo build --release --locked --bin solidarity-ledger \
    && rm -rf src crates/*/src
COPY . .
# Make cargo see the real sources as newer than the stubs' build.
RUN find src crates migrations -type f -exec touch {} + \
    && cargo build --release --locked --bin solidarity-ledger \
    && strip target/release/solidarity-ledger

# --- run -----------------------------------------------------------------------------------------
FROM debian:bookworm-slim
# ca-certificates: TLS to a managed PostgreSQL; curl: the health check of /readyz.
RUN apt-get update \
    && apt-get install -y --no-install-recommends ca-certificates curl \
    && rm -rf /var/lib/apt/lists/* \
    && useradd --system --uid 10001 --user-group --home-dir /var/lib/solidarity-ledger \
       --create-home --shell /usr/sbin/nologin ledger
COPY --from=build /src/target/release/solidarity-ledger /usr/local/bin/solidarity-ledger
USER ledger:ledger
WORKDIR /var/lib/solidarity-ledger
ENV SOLIDARITY_DATA_DIR=/var/lib/solidarity-ledger \
    SOLIDARITY_BIND=0.0.0.0:8080 \
    RUST_LOG=info
VOLUME ["/var/lib/solidarity-ledger"]
EXPOSE 8080
HEALTHCHECK --interval=10s --timeout=3s --start-period=20s --retries=3 \
    CMD curl --fail --silent --show-error http://127.0.0.1:8080/readyz || exit 1
ENTRYPOINT ["solidarity-ledger"]
CMD ["serve"]
