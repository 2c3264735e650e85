#!/usr/bin/env bash
# Builds the pinned etcd, kube-apiserver, kube-scheduler, kubectl, and for the real node kubelet
# and kube-controller-manager, from Go modules into a cache outside the repo, keyed by version:
# only the first run pays (~13 min cold on 2 cores).
# Prints the binary directory on stdout; progress goes to stderr.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
. "$here/versions.env"

cache=${RKTSCHED_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/rktsched}
bin="$cache/bin/kube-$KUBE_VERSION-etcd-$ETCD_VERSION"
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

build_kube() {
  local want=() b
  for b in kube-apiserver kube-scheduler kubectl kubelet kube-controller-manager; do
    [ -x "$bin/$b" ] || want+=("$b")
  done
  [ ${#want[@]} -gt 0 ] || return 0
  local mod="$cache/src/kubernetes-$KUBE_VERSION"
  mkdir -p "$mod"
  # The commands' packages, imported so that tidy records every dependency they need; a
  # scratch module made for fewer commands is made again.
  local tools
  tools=$(printf 'package main\nimport (\n')
  for p in cmd/kube-apiserver/app cmd/kube-scheduler/app cmd/kubelet/app cmd/kube-controller-manager/app; do
    tools+=$(printf '\n_ "k8s.io/kubernetes/%s"' "$p")
  done
  tools+=$(printf '\n_ "k8s.io/kubectl/pkg/cmd"\n)\nfunc main() {}')
  if [ ! -f "$mod/go.sum" ] || [ "$(cat "$mod/tools.go" 2>/dev/null)" != "$tools" ]; then
    log "preparing scratch module for k8s.io/kubernetes $KUBE_VERSION"
    # kubernetes' go.mod replaces its staging modules with ./staging paths; point them at the
    # published modules instead (sample-* are not published at this version and not needed).
    local staging
    staging=$(go mod download -json "k8s.io/kubernetes@$KUBE_VERSION" |
      sed -n 's/.*"GoMod": "\(.*\)".*/\1/p' | xargs cat |
      sed -n 's#^[[:space:]]*\(k8s.io/[a-z0-9-]*\) => ./staging/.*#\1#p' |
      grep -v -e sample-cli-plugin -e sample-controller | sort -u)
    {
      echo "module rktsched.local/kubebuild"
      echo "go 1.26"
      echo "require k8s.io/kubernetes $KUBE_VERSION"
      for m in $staging; do echo "replace $m => $m $KUBE_STAGING_VERSION"; done
    } >"$mod/go.mod"
    printf '%s\n' "$tools" >"$mod/tools.go"
    (cd "$mod" && go mod tidy >&2)
  fi
  local minor
  minor=$(echo "$KUBE_VERSION" | cut -d. -f2)
  local ld="-s -w -X k8s.io/component-base/version.gitVersion=$KUBE_VERSION -X k8s.io/component-base/version.gitMajor=1 -X k8s.io/component-base/version.gitMinor=$minor"
  for b in "${want[@]}"; do
    log "building $b $KUBE_VERSION (cold: several minutes)"
    local pkg="k8s.io/kubernetes/cmd/$b"
    (cd "$mod" && go build -trimpath -ldflags "$ld" -o "$bin/$b.tmp" "$pkg" >&2)
    mv "$bin/$b.tmp" "$bin/$b"
  done
}

build_etcd() {
  [ -x "$bin/etcd" ] && return 0
  local mod="$cache/src/etcd-$ETCD_VERSION"
  mkdir -p "$mod"
  if [ ! -f "$mod/go.sum" ]; then
    log "preparing scratch module for etcd $ETCD_VERSION"
    {
      echo "module rktsched.local/etcdbuild"
      echo "go 1.26"
      echo "require go.etcd.io/etcd/server/v3 $ETCD_VERSION"
      for m in api/v3 client/pkg/v3 client/v3 pkg/v3; do
        echo "replace go.etcd.io/etcd/$m => go.etcd.io/etcd/$m $ETCD_VERSION"
      done
    } >"$mod/go.mod"
    printf 'package main\nimport _ "go.etcd.io/etcd/server/v3/embed"\nfunc main() {}\n' >"$mod/tools.go"
    (cd "$mod" && go mod tidy >&2)
  fi
  log "building etcd $ETCD_VERSION"
  (cd "$mod" && go build -trimpath -ldflags "-s -w" -o "$bin/etcd.tmp" go.etcd.io/etcd/server/v3 >&2)
  mv "$bin/etcd.tmp" "$bin/etcd"
}

build_etcd
build_kube
echo "$bin"
