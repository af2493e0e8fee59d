//! Volume directories on disk: tmpfs mounts, atomic ..data swaps, per-volume state.
