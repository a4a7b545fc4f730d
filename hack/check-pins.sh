#!/usr/bin/env bash
# Fails when a module of the workspace build list is not at the version
# hack/pins.txt pins it to (modules not in the build list are fine).
set -euo pipefail
cd "$(dirname "$0")/.."
declare -A have
while read -r mod ver _; do have[$mod]=$ver; done < <(go list -m all 2>/dev/null)
rc=0
while read -r mod want; do
	[[ -z "$mod" || "$mod" == \#* ]] && continue
	got=${have[$mod]:-}
	if [[ -n "$got" && "$got" != "$want" ]]; then
		echo "pin violated: $mod is $got in the workspace build list, hack/pins.txt wants $want" >&2
		rc=1
	fi
done < hack/pins.txt
exit $rc
