#!/usr/bin/env bash
# Puts golangci-lint (pinned below) into BINDIR, building it from the Go
# module proxy once per version and Go toolchain into a cache outside the
# clone, ${XDG_CACHE_HOME:-~/.cache}/kubedesk/golangci-lint-<version>/.
#
#   hack/install-golangci-lint.sh BINDIR
#
# It is built with GOWORK=off in an empty directory: golangci-lint's
# dependencies never join the workspace build list, whose versions
# hack/pins.txt holds still. Later runs only check the cached binary.
set -euo pipefail

version=${GOLANGCI_LINT_VERSION:-v2.15.0}
bindir=${1:?usage: $0 BINDIR}
cache=${XDG_CACHE_HOME:-$HOME/.cache}/kubedesk/golangci-lint-$version
bin=$cache/golangci-lint
goversion=$(go env GOVERSION)

# A linter built by an older Go cannot load code that needs a newer one:
# rebuild when the toolchain changes.
current() {
	[[ -x "$bin" ]] && "$bin" version 2>/dev/null | grep -q -- "version ${version#v} built with $goversion "
}

if ! current; then
	echo "install-golangci-lint: building golangci-lint $version with $goversion (once; cached in $cache)" >&2
	mkdir -p "$cache"
	tmp=$(mktemp -d "$cache/.build.XXXXXX")
	trap 'rm -rf "$tmp"' EXIT
	(
		cd "$tmp"
		GOWORK=off GOFLAGS=-mod=mod GOTOOLCHAIN=local GOBIN="$tmp" CGO_ENABLED=0 \
			go install "github.com/golangci/golangci-lint/v2/cmd/golangci-lint@$version"
	)
	mv -f "$tmp/golangci-lint" "$bin" # atomic: a concurrent run sees old or new
	current || { echo "install-golangci-lint: $bin does not report version $version built with $goversion:" >&2; "$bin" version >&2; exit 1; }
fi

mkdir -p "$bindir"
ln -sfn "$bin" "$bindir/golangci-lint"
