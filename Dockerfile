# Build: docker build -t connectors-csi .
FROM rust:1.95-bookworm AS build
WORKDIR /src
COPY . .
RUN cargo build --release --locked -p connectors-csi && strip target/release/connectors-csi

# The driver needs no shell, libc is the only runtime dependency.
FROM gcr.io/distroless/cc-debian12:nonroot
COPY --from=build /src/target/release/connectors-csi /usr/local/bin/connectors-csi
USER 0
ENTRYPOINT ["/usr/local/bin/connectors-csi"]
