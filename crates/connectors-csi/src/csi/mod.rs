//! The CSI gRPC services: thin adapters between proto messages and the domain.
