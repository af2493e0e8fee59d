# syntax=docker/dockerfile:1
# Build:  docker build -t connectors-csi:dev --build-arg REVISION="$(git rev-parse HEAD)" .
# Kind:   kind load docker-image connectors-csi:dev
FROM rust:1.95-bookworm AS build
WORKDIR /src

# Dependencies first, on placeholder sources: this layer is reused until a
# Cargo.toml, Cargo.lock, build.rs or the proto changes.
COPY Cargo.toml Cargo.lock ./
COPY crates/gotemplate/Cargo.toml crates/gotemplate/
COPY crates/sprig/Cargo.toml crates/sprig/
COPY crates/go-conformance/Cargo.toml crates/go-conformance/
COPY crates/connectors-csi/Cargo.toml crates/connectors-csi/build.rs crates/connectors-csi/
COPY crates/connectors-csi/proto crates/connectors-csi/proto/
RUN for crate in gotemplate sprig go-conformance connectors-csi; do \
        mkdir -p "crates/$crate/src" && : > "crates/$crate/src/lib.rs"; \
    done \
 && echo 'fn main() {}' > crates/connectors-csi/src/main.rs \
 && mkdir -p crates/go-conformance/benches \
 && echo 'fn main() {}' > crates/go-conformance/benches/render.rs \
 && cargo build --release --locked -p connectors-csi \
 && rm -rf crates/*/src crates/go-conformance/benches

# The project's own code. COPY keeps the files' old timestamps, older than
# the placeholders': touch them so cargo rebuilds the workspace crates.
# REVISION becomes the commit label of connectors_csi_build_info.
COPY crates crates
ARG REVISION=unknown
RUN find crates -name '*.rs' -exec touch {} + \
 && CONNECTORS_CSI_COMMIT="${REVISION}" cargo build --release --locked -p connectors-csi \
 && strip target/release/connectors-csi

# distroless/cc: glibc and libgcc, which the binary links, and nothing else
# (no shell, no package manager). Its default user is root, on purpose: the
# driver mounts tmpfs into pods' volume directories, which needs root and
# CAP_SYS_ADMIN (the DaemonSet runs the container privileged).
FROM gcr.io/distroless/cc-debian12
ARG VERSION=0.1.0
ARG REVISION=unknown
LABEL org.opencontainers.image.title="connectors-csi" \
      org.opencontainers.image.description="CSI node driver that mounts rendered Connector configuration files into pods" \
      org.opencontainers.image.version="${VERSION}" \
      org.opencontainers.image.revision="${REVISION}" \
      org.opencontainers.image.licenses="Apache-2.0" \
      org.opencontainers.image.base.name="gcr.io/distroless/cc-debian12"
COPY --from=build /src/target/release/connectors-csi /usr/local/bin/connectors-csi
ENTRYPOINT ["/usr/local/bin/connectors-csi"]
