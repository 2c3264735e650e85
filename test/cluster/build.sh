#!/usr/bin/env bash
# Builds the pinned etcd, kube-apiserver, kube-scheduler, kubectl, and for the real node kubelet
# and kube-controller-manager, from Go modules into a cache outside the repo, keyed by
# versions.env: only the first run pays (~10 min cold on 2 cores). All of them are built in one
# scratch module, so each dependency is compiled once.
# --runtime builds the real node's containerd, its runc shim, ctr and runc instead (~2 min cold).
# Prints the binary directory on stdout; progress goes to stderr.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
. "$here/versions.env"
. "$here/kube-module.sh"

cache=${RKTSCHED_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/rktsched}
# Keyed by everything versions.env pins for them, not only the Kubernetes version.
key=$(printf '%s\n' "$KUBE_VERSION" "$KUBE_STAGING_VERSION" "$ETCD_VERSION" "$KUBE_RAISE" | sha256sum | cut -c1-12)
bin="$cache/bin/kube-$KUBE_VERSION-etcd-$ETCD_VERSION-$key"
[ "${1:-}" != --runtime ] || bin="$cache/bin/containerd-$CONTAINERD_VERSION-runc-$RUNC_VERSION"
# --module-dir: print the scratch module the Kubernetes binaries are built in (make
# e2e-images builds kube-scheduler's image there, reusing the same build cache).
if [ "${1:-}" = --module-dir ]; then echo "$cache/src/kubernetes-$KUBE_VERSION"; exit 0; fi
mkdir -p "$bin"
log() { printf '[build] %s\n' "$*" >&2; }

# One build at a time per cache: a second run (make e2e beside make demo) waits, then finds
# the binaries built.
if command -v flock >/dev/null; then
  exec 9>"$cache/.build.lock"
  flock 9 || true
fi

export CGO_ENABLED=0 GOFLAGS=-mod=mod GOTOOLCHAIN=local

build() {
  local want=() b
  for b in etcd kube-apiserver kube-scheduler kubectl kubelet kube-controller-manager; do
    [ -x "$bin/$b" ] || want+=("$b")
  done
  [ ${#want[@]} -gt 0 ] || return 0
  local mod="$cache/src/kubernetes-$KUBE_VERSION"
  mkdir -p "$mod"
  # The commands' packages, imported so that tidy records every dependency they need.
  local tools
  tools=$(printf 'package main\nimport (\n')
  for p in k8s.io/kubernetes/cmd/kube-apiserver/app k8s.io/kubernetes/cmd/kube-scheduler/app \
    k8s.io/kubernetes/cmd/kubelet/app k8s.io/kubernetes/cmd/kube-controller-manager/app \
    k8s.io/kubectl/pkg/cmd go.etcd.io/etcd/server/v3/etcdmain; do
    tools+=$(printf '\n_ "%s"' "$p")
  done
  tools+=$(printf '\n)\nfunc main() {}')
  local gomod m
  gomod=$(
    echo "module rktsched.local/kubebuild"
    echo "go 1.26"
    echo "require k8s.io/kubernetes $KUBE_VERSION"
    kube_raise | sed 's/^/require /'
    for m in $(kube_staging); do echo "replace $m => $m $KUBE_STAGING_VERSION"; done
  )
  # A scratch module made from other inputs is made again.
  if [ ! -f "$mod/go.sum" ] || [ "$(cat "$mod/inputs" 2>/dev/null)" != "$gomod$tools" ]; then
    log "preparing scratch module for k8s.io/kubernetes $KUBE_VERSION"
    rm -f "$mod/go.sum"
    printf '%s\n' "$gomod" >"$mod/go.mod"
    printf '%s\n' "$tools" >"$mod/tools.go"
    (cd "$mod" && go mod tidy >&2)
    printf '%s' "$gomod$tools" >"$mod/inputs"
  fi
  local etcd
  etcd=$(cd "$mod" && go list -m -f '{{.Version}}' go.etcd.io/etcd/server/v3)
  if [ "$etcd" != "$ETCD_VERSION" ]; then
    echo "build.sh: k8s.io/kubernetes $KUBE_VERSION builds with etcd $etcd; set ETCD_VERSION=$etcd in versions.env" >&2
    exit 1
  fi
  local minor
  minor=$(echo "$KUBE_VERSION" | cut -d. -f2)
  local ld="-s -w -X k8s.io/component-base/version.gitVersion=$KUBE_VERSION -X k8s.io/component-base/version.gitMajor=1 -X k8s.io/component-base/version.gitMinor=$minor"
  local pkgs=()
  for b in "${want[@]}"; do
    if [ "$b" = etcd ]; then pkgs+=(go.etcd.io/etcd/server/v3); else pkgs+=("k8s.io/kubernetes/cmd/$b"); fi
  done
  log "building ${want[*]} (cold: about 10 minutes)"
  # One go build for all: the commands compile and link in parallel. Into a temporary
  # directory, then moved: a binary in $bin is always whole.
  local tmp="$bin/.tmp"
  rm -rf "$tmp" && mkdir -p "$tmp"
  (cd "$mod" && go build -trimpath -ldflags "$ld" -o "$tmp/" "${pkgs[@]}" >&2)
  # go build names go.etcd.io/etcd/server/v3's binary "server".
  [ ! -e "$tmp/server" ] || mv "$tmp/server" "$tmp/etcd"
  for b in "${want[@]}"; do mv "$tmp/$b" "$bin/$b"; done
  rmdir "$tmp"
}

# build_runtime builds the real node's runtime with go install from the projects' own modules
# (their go.mod and go.sum), version-stamped as their Makefiles stamp it (containerd's without
# the v: kubelet reports containerd://2.4.2, as on any node).
build_runtime() {
  local want=() b
  for b in containerd containerd-shim-runc-v2 ctr runc; do
    [ -x "$bin/$b" ] || want+=("$b")
  done
  [ ${#want[@]} -gt 0 ] || return 0
  log "building containerd $CONTAINERD_VERSION and runc $RUNC_VERSION (cold: about 2 minutes)"
  local tmp="$bin/.tmp" m=github.com/containerd/containerd/v2
  rm -rf "$tmp" && mkdir -p "$tmp"
  GOFLAGS= GOBIN="$tmp" go install -trimpath -ldflags "-s -w -X $m/version.Version=${CONTAINERD_VERSION#v}" \
    "$m/cmd/containerd@$CONTAINERD_VERSION" "$m/cmd/containerd-shim-runc-v2@$CONTAINERD_VERSION" "$m/cmd/ctr@$CONTAINERD_VERSION" >&2
  # runc's nsenter is C, and its seccomp filter needs libseccomp (Debian's libseccomp-dev);
  # the tags are its Makefile's but libpathrs (a Rust library).
  CGO_ENABLED=1 GOFLAGS= GOBIN="$tmp" go install -trimpath -tags "seccomp urfave_cli_no_docs" -ldflags "-s -w" \
    "github.com/opencontainers/runc@$RUNC_VERSION" >&2
  for b in "${want[@]}"; do mv "$tmp/$b" "$bin/$b"; done
  rm -rf "$tmp"
}

if [ "${1:-}" = --runtime ]; then build_runtime; else build; fi
echo "$bin"
