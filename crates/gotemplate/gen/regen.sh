#!/bin/sh
# Regenerates src/go/tables.rs with the Go toolchain the oracle is built with
# (Debian's golang-go: /work/shared/tools/gotmpl-oracle/build.sh installs it).
set -eu
cd "$(dirname "$0")"
GO111MODULE=off go run tables.go > ../src/go/tables.rs.tmp
mv ../src/go/tables.rs.tmp ../src/go/tables.rs
echo "wrote src/go/tables.rs ($(go version))"
