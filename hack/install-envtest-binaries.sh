#!/usr/bin/env bash
# Puts kube-apiserver and etcd, the two binaries envtest runs, into BINDIR,
# building them from the Go module proxy (the usual setup-envtest download
# is not reachable here) once per version and Go toolchain, cached outside
# the clone in ${XDG_CACHE_HOME:-~/.cache}/kubedesk/envtest-<k8s>-<etcd>-<go>/.
#
#   hack/install-envtest-binaries.sh BINDIR
#
# kube-apiserver: k8s.io/kubernetes cannot be required as it stands, since
# its go.mod lists its staging modules (k8s.io/api, k8s.io/apiserver, ...)
# at v0.0.0 with replace lines into its own tree. A throwaway module
# requires it and pins each of those modules to the matching published
# v0.X.Y instead. etcd: its main module carries replace directives that
# `go install` refuses, so a throwaway main calls etcdmain.Main.
#
# The kube-apiserver build takes about 15 minutes and 2.4 GB of memory on
# two cores; later runs only check the cache.
set -euo pipefail

k8s=${KUBE_VERSION:-v1.37.2}
etcd=${ETCD_VERSION:-v3.7.3}
bindir=${1:?usage: $0 BINDIR}
goversion=$(go env GOVERSION)
cache=${XDG_CACHE_HOME:-$HOME/.cache}/kubedesk/envtest-$k8s-$etcd-$goversion

build() { # DIR OUT PACKAGE [LDFLAGS]
	(cd "$1" && GOWORK=off GOFLAGS=-mod=mod GOTOOLCHAIN=local CGO_ENABLED=0 \
		go build -trimpath -ldflags="-s -w ${4:-}" -o "$2" "$3")
}

# The API server reports its version (/version, discovery) from these.
minor=${k8s#v1.}
minor=${minor%%.*}
version_flags="-X k8s.io/component-base/version.gitVersion=$k8s -X k8s.io/component-base/version.gitMajor=1 -X k8s.io/component-base/version.gitMinor=$minor -X k8s.io/component-base/version.gitTreeState=clean"

apiserver_current() {
	[[ -x "$cache/kube-apiserver" ]] && [[ "$("$cache/kube-apiserver" --version 2>/dev/null)" == "Kubernetes $k8s" ]]
}

if ! apiserver_current; then
	echo "install-envtest-binaries: building kube-apiserver $k8s with $goversion (once, ~15 min; cached in $cache)" >&2
	mkdir -p "$cache"
	tmp=$(mktemp -d "$cache/.build.XXXXXX")
	trap 'rm -rf "$tmp"' EXIT
	(
		cd "$tmp"
		GOWORK=off go mod init kubedesk.local/build-kube-apiserver >/dev/null 2>&1
		modfile=$(GOWORK=off go mod download -json "k8s.io/kubernetes@$k8s" | sed -n 's/^\t"GoMod": "\(.*\)",$/\1/p')
		[[ -f "$modfile" ]] || { echo "install-envtest-binaries: no go.mod for k8s.io/kubernetes@$k8s" >&2; exit 1; }
		staging=$(awk '$1 ~ /^k8s\.io\// && $2 == "v0.0.0" {print $1}' "$modfile" | sort -u)
		[[ -n "$staging" ]] || { echo "install-envtest-binaries: found no staging modules in $modfile" >&2; exit 1; }
		args=(-require="k8s.io/kubernetes@$k8s")
		for m in $staging; do args+=(-replace="$m=$m@v0.${k8s#v1.}"); done
		GOWORK=off go mod edit "${args[@]}"
		printf '//go:build tools\n\npackage main\n\nimport _ "k8s.io/kubernetes/cmd/kube-apiserver/app"\n' >tools.go
		GOWORK=off GOFLAGS=-mod=mod go mod tidy >/dev/null
		build . "$tmp/kube-apiserver" k8s.io/kubernetes/cmd/kube-apiserver "$version_flags"
	)
	mv -f "$tmp/kube-apiserver" "$cache/kube-apiserver"
	rm -rf "$tmp"
	trap - EXIT
fi

if [[ ! -x "$cache/etcd" ]]; then
	echo "install-envtest-binaries: building etcd $etcd with $goversion (once; cached in $cache)" >&2
	mkdir -p "$cache"
	tmp=$(mktemp -d "$cache/.build.XXXXXX")
	trap 'rm -rf "$tmp"' EXIT
	(
		cd "$tmp"
		GOWORK=off go mod init kubedesk.local/build-etcd >/dev/null 2>&1
		cat >main.go <<'EOF'
// Command etcd is etcd's server, built outside etcd's own main module.
package main

import (
	"os"

	"go.etcd.io/etcd/server/v3/etcdmain"
)

func main() { etcdmain.Main(os.Args) }
EOF
		GOWORK=off go mod edit -require="go.etcd.io/etcd/server/v3@$etcd"
		GOWORK=off GOFLAGS=-mod=mod go mod tidy >/dev/null
		build . "$tmp/etcd" .
	)
	mv -f "$tmp/etcd" "$cache/etcd"
	rm -rf "$tmp"
	trap - EXIT
fi

apiserver_current || { echo "install-envtest-binaries: $cache/kube-apiserver does not report Kubernetes $k8s" >&2; exit 1; }
# Read the whole output first: grep -q stops at the first match, and etcd
# killed by SIGPIPE would fail the pipeline (pipefail).
etcd_version=$("$cache/etcd" --version)
grep -q "^etcd Version: ${etcd#v}$" <<<"$etcd_version" || { echo "install-envtest-binaries: $cache/etcd is not etcd $etcd" >&2; exit 1; }
mkdir -p "$bindir"
ln -sfn "$cache/kube-apiserver" "$bindir/kube-apiserver"
ln -sfn "$cache/etcd" "$bindir/etcd"
