#!/usr/bin/env bash
# Puts the helm CLI into BINDIR, building it from the Go module proxy (the
# release downloads from get.helm.sh are not reachable here) once per
# version and Go toolchain, cached outside the clone in
# ${XDG_CACHE_HOME:-~/.cache}/kubedesk/helm-<version>-<go>/.
#
#   hack/install-helm.sh BINDIR
#
# A throwaway module requires helm.sh/helm/v4 and builds its cmd/helm.
# Helm's go.mod carries no replace directives at the pinned version; should
# a later one add some, they are mirrored into the throwaway module (a plain
# require ignores them), and a replacement by a local path stops the build.
#
# The build takes about 6 minutes of CPU (15 on two cores shared with
# other builds); later runs only check the cache, in under a second.
set -euo pipefail

helm=${HELM_VERSION:-v4.3.1}
bindir=${1:?usage: $0 BINDIR}
goversion=$(go env GOVERSION)
cache=${XDG_CACHE_HOME:-$HOME/.cache}/kubedesk/helm-$helm-$goversion
module=helm.sh/helm/${helm%%.*}

current() {
	[[ -x "$cache/helm" ]] && [[ "$("$cache/helm" version --template '{{.Version}}' 2>/dev/null)" == "$helm" ]]
}

if ! current; then
	echo "install-helm: building helm $helm with $goversion (once, several minutes; cached in $cache)" >&2
	mkdir -p "$cache"
	tmp=$(mktemp -d "$cache/.build.XXXXXX")
	trap 'rm -rf "$tmp"' EXIT
	(
		cd "$tmp"
		GOWORK=off go mod init kubedesk.local/build-helm >/dev/null 2>&1
		modfile=$(GOWORK=off go mod download -json "$module@$helm" | sed -n 's/^\t"GoMod": "\(.*\)",$/\1/p')
		[[ -f "$modfile" ]] || { echo "install-helm: no go.mod for $module@$helm" >&2; exit 1; }
		args=(-require="$module@$helm")
		# "old [v] => new [v]" from single-line and block replace directives.
		while read -r old oldv arrow new newv; do
			if [[ $oldv == "=>" ]]; then newv=$new new=$arrow arrow=$oldv oldv=''; fi
			[[ $arrow == "=>" && -n $newv ]] || { echo "install-helm: $module@$helm replaces $old by the local path $new; cannot mirror that" >&2; exit 1; }
			args+=(-replace="$old${oldv:+@$oldv}=$new@$newv")
		done < <(awk '/^replace *\($/ {b = 1; next} b && /^\)/ {b = 0; next}
			b {sub(/\/\/.*/, ""); if (NF) print; next}
			/^replace / {sub(/^replace /, ""); sub(/\/\/.*/, ""); print}' "$modfile")
		GOWORK=off go mod edit "${args[@]}"
		out=$(GOWORK=off GOFLAGS=-mod=mod go get "$module/cmd/helm@$helm" 2>&1) || { echo "$out" >&2; exit 1; }
		GOWORK=off GOFLAGS=-mod=mod GOTOOLCHAIN=local CGO_ENABLED=0 \
			go build -trimpath -o "$tmp/helm" \
			-ldflags="-s -w -X $module/internal/version.version=$helm -X $module/internal/version.gitTreeState=clean" \
			"$module/cmd/helm"
	)
	mv -f "$tmp/helm" "$cache/helm"
	rm -rf "$tmp"
	trap - EXIT
fi

current || { echo "install-helm: $cache/helm does not report $helm" >&2; exit 1; }
mkdir -p "$bindir"
ln -sfn "$cache/helm" "$bindir/helm"
