#!/usr/bin/env bash
# Fails when the operator binary links the Temporal SDK (or any
# go.temporal.io package): the operator validates and renders SLAPolicy
# documents with workflows/policy and workflows/calendar, which are plain
# Go, and never runs a workflow. `make verify` runs it.
#
#   hack/check-operator-deps.sh
set -euo pipefail
cd "$(dirname "$0")/.."

pkg=./operator/cmd/kubedesk-operator
deps=$(go list -deps "$pkg")
if bad=$(grep -E '^go\.temporal\.io/' <<<"$deps"); then
	echo "check-operator-deps: bin/kubedesk-operator ($pkg) links go.temporal.io packages:" >&2
	sed 's/^/  /' <<<"$bad" >&2
	echo "check-operator-deps: these operator dependencies import them (import only pure-Go packages such as workflows/policy):" >&2
	go list -deps -f '{{.ImportPath}}{{range .Imports}} {{.}}{{end}}' "$pkg" |
		awk '$1 !~ /^go\.temporal\.io\// { for (i = 2; i <= NF; i++) if ($i ~ /^go\.temporal\.io\//) { print "  " $1 " imports " $i; break } }' >&2
	exit 1
fi
echo "check-operator-deps: $pkg links no go.temporal.io package ($(wc -l <<<"$deps") packages)"
