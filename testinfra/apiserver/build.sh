#!/usr/bin/env bash
# Builds kube-apiserver and etcd (test infrastructure for tests/cluster_real) into $1
# (default: <repo>/.cache/bin). Skips the build when both binaries exist and were built from
# this go.mod/go.sum with this Go. Needs Go and the module proxy (or a warm module cache).
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
out="${1:-$here/../../.cache/bin}"
mkdir -p "$out"
out="$(cd "$out" && pwd)"
if ! command -v go >/dev/null 2>&1; then
  echo "apiserver: Go is not installed; tests/cluster_real will skip" >&2
  exit 1
fi
cd "$here"
k8s_version="$(awk '$1 == "k8s.io/kubernetes" {print $2}' go.mod)"
etcd_version="$(awk '$1 == "go.etcd.io/etcd/server/v3" && $2 ~ /^v/ {print $2}' go.mod)"
key="$( (cat build.sh go.mod go.sum; go version) | sha256sum | cut -c1-16)"
stamp="$out/.apiserver-$key"
if [[ -x "$out/kube-apiserver" && -x "$out/etcd" && -f "$stamp" ]]; then
  echo "apiserver: up to date in $out (kube-apiserver $k8s_version, etcd $etcd_version)"
  exit 0
fi
# The version the binaries report (as hack/lib/version.sh stamps it); without it kube-apiserver
# calls itself v0.0.0-master.
major="${k8s_version#v}"; major="${major%%.*}"
minor="${k8s_version#v*.}"; minor="${minor%%.*}"
kv=k8s.io/component-base/version
ldflags="-s -w -X $kv.gitVersion=$k8s_version -X $kv.gitMajor=$major -X $kv.gitMinor=$minor -X $kv.gitTreeState=clean"
start=$SECONDS
echo "apiserver: building etcd $etcd_version"
go build -trimpath -ldflags "-s -w" -o "$out/etcd.new" go.etcd.io/etcd/server/v3
echo "apiserver: building kube-apiserver $k8s_version"
go build -trimpath -ldflags "$ldflags" -o "$out/kube-apiserver.new" k8s.io/kubernetes/cmd/kube-apiserver
mv "$out/etcd.new" "$out/etcd"
mv "$out/kube-apiserver.new" "$out/kube-apiserver"
rm -f "$out"/.apiserver-*
touch "$stamp"
echo "apiserver: built in $((SECONDS - start)) s into $out"
