#!/usr/bin/env bash
# Copies the CRDs controller-gen writes (operator/config/crd/bases) into the
# operator chart's crds/ folder, which Helm installs before the templates,
# and removes copies whose CRD is gone. `make generate` runs it, so
# `make verify` fails when the chart's CRDs differ from the generated ones.
#
#   hack/sync-chart-crds.sh
set -euo pipefail

cd "$(dirname "$0")/.."
src=operator/config/crd/bases
dst=charts/kubedesk-operator/crds

shopt -s nullglob
crds=("$src"/*.yaml)
((${#crds[@]})) || { echo "sync-chart-crds: no CRDs in $src (run make generate)" >&2; exit 1; }
mkdir -p "$dst"
for f in "$dst"/*.yaml; do
	[[ -f "$src/${f##*/}" ]] || rm -f "$f"
done
for f in "${crds[@]}"; do
	cmp -s "$f" "$dst/${f##*/}" || cp "$f" "$dst/${f##*/}"
done
