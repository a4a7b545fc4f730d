#!/usr/bin/env bash
# Fails when modules of the workspace require each other in a cycle.
# Modules depend one way only, from the edges to the middle: proto and
# operator/api (types only) at the bottom, workflows on them, operator and
# services on top (docs: house style). A cycle means a package sits in the
# wrong module. `make verify` runs it.
#
#   hack/check-modules.sh
set -euo pipefail
cd "$(dirname "$0")/.."

# The workspace's module directories (go.work's use directives).
mapfile -t dirs < <(go work edit -json | awk -F'"' '$2 == "DiskPath" {print $4}')
((${#dirs[@]})) || { echo "check-modules: go.work uses no modules" >&2; exit 1; }

# Each module's path and its requirements, from `go mod edit -json`.
declare -A path_of requires
for dir in "${dirs[@]}"; do
	json=$(cd "$dir" && go mod edit -json)
	mod=$(awk -F'"' '$2 == "Module" {m = 1} m && $2 == "Path" {print $4; exit}' <<<"$json")
	path_of[$dir]=$mod
	requires[$mod]=$(awk -F'"' '$2 == "Require" {r = 1; next} r && /^\t\]/ {exit} r && $2 == "Path" {print $4}' <<<"$json")
done

# Edges between workspace modules, "a b" for "a requires b"; a module on
# its own keeps it in tsort's output.
declare -A in_workspace
for mod in "${path_of[@]}"; do in_workspace[$mod]=1; done
edges=()
for mod in "${path_of[@]}"; do
	edges+=("$mod $mod")
	while read -r req; do
		[[ -n $req && -n ${in_workspace[$req]:-} && $req != "$mod" ]] && edges+=("$mod $req")
	done <<<"${requires[$mod]}"
done

if ! out=$(printf '%s\n' "${edges[@]}" | tsort 2>&1 >/dev/null) || [[ -n $out ]]; then
	# tsort names the modules of a loop, one "tsort: <module>" line each.
	mapfile -t loop < <(sed -n 's/^tsort: \([^ ]*\)$/\1/p' <<<"$out")
	echo "check-modules: the workspace's modules require each other in a cycle: ${loop[*]:-(see below)}" >&2
	for mod in "${loop[@]}"; do
		while read -r req; do
			for other in "${loop[@]}"; do
				[[ $req == "$other" ]] && echo "  $mod requires $req" >&2
			done
		done <<<"${requires[$mod]}"
	done
	[[ ${#loop[@]} -gt 0 ]] || echo "$out" >&2
	echo "check-modules: move the package that closes the cycle to the module below (e.g. types to operator/api)" >&2
	exit 1
fi
echo "check-modules: ${#dirs[@]} modules, no cycle"
