#!/usr/bin/env bash
# Builds a FROM-scratch image of one kubedesk binary without pulling anything:
# the static binary is compiled on the host (no golang image exists here) and
# docker's legacy builder only copies files into an empty base.
#
#   hack/build-image.sh NAME TAG        e.g. hack/build-image.sh kubedesk kubedesk:dev
#
# The context is a temporary directory holding only what the image ships:
#   NAME      the static binary
#   rootfs/   /etc/passwd and /etc/group (nonroot, uid/gid 65532),
#             /etc/nsswitch.conf, the host's CA bundle, Go's time zone
#             database (found through ZONEINFO) and /tmp (1777)
#   owned/    directories the nonroot user must be able to write: data/, home/
#
# Environment (all optional):
#   IMAGE_PKG         Go main package to build   (default ./services/cmd/NAME)
#   IMAGE_DOCKERFILE  Dockerfile                 (default IMAGE_PKG/Dockerfile)
#   IMAGE_BINARY      ship this prebuilt static linux binary instead of building
#   VERSION           version stamped into the binary and the image labels
#   LDFLAGS           go build -ldflags          (default: -s -w and VERSION)
set -euo pipefail

if [[ $# -ne 2 || -z "$1" || -z "$2" ]]; then
	echo "usage: $0 NAME TAG   (e.g. $0 kubedesk kubedesk:dev)" >&2
	exit 2
fi
name=$1 tag=$2
cd "$(dirname "$0")/.."

pkg=${IMAGE_PKG:-./services/cmd/$name}
dockerfile=${IMAGE_DOCKERFILE:-$pkg/Dockerfile}
version=${VERSION:-$(git describe --tags --always --dirty 2>/dev/null || echo dev)}
revision=$(git rev-parse HEAD 2>/dev/null || echo unknown)
ldflags=${LDFLAGS:--s -w -X github.com/kubedesk/kubedesk/services/platform/buildinfo.Version=$version}
cabundle=/etc/ssl/certs/ca-certificates.crt
zoneinfo=$(go env GOROOT)/lib/time/zoneinfo.zip

[[ -f "$dockerfile" ]] || { echo "build-image: no Dockerfile at $dockerfile (set IMAGE_DOCKERFILE)" >&2; exit 1; }
[[ -s "$cabundle" ]] || { echo "build-image: $cabundle is missing: apt-get install ca-certificates" >&2; exit 1; }
[[ -s "$zoneinfo" ]] || { echo "build-image: $zoneinfo is missing from the Go installation" >&2; exit 1; }
if ! docker version --format '{{.Server.Version}}' >/dev/null 2>&1; then
	echo "build-image: the Docker daemon is not reachable (is dockerd running, is DOCKER_HOST right?)" >&2
	docker version >&2 || true
	exit 1
fi

ctx=$(mktemp -d "${TMPDIR:-/tmp}/kubedesk-image.XXXXXX")
trap 'rm -rf "$ctx"' EXIT

if [[ -n "${IMAGE_BINARY:-}" ]]; then
	install -m 0755 "$IMAGE_BINARY" "$ctx/$name"
else
	# GOOS=linux: the image is Linux whatever the host; GOARCH is the host's,
	# which is what the local daemon runs.
	CGO_ENABLED=0 GOOS=linux go build -trimpath -ldflags "$ldflags" -o "$ctx/$name" "$pkg"
fi

mkdir -p "$ctx/rootfs/etc/ssl/certs" "$ctx/rootfs/usr/share" "$ctx/rootfs/tmp" \
	"$ctx/owned/data" "$ctx/owned/home"
cat >"$ctx/rootfs/etc/passwd" <<'EOF'
root:x:0:0:root:/root:/sbin/nologin
nobody:x:65534:65534:nobody:/nonexistent:/sbin/nologin
nonroot:x:65532:65532:nonroot:/home/nonroot:/sbin/nologin
EOF
cat >"$ctx/rootfs/etc/group" <<'EOF'
root:x:0:
nogroup:x:65534:
nonroot:x:65532:
EOF
# Go's resolver reads hosts: files first, then DNS (as glibc would).
echo 'hosts: files dns' >"$ctx/rootfs/etc/nsswitch.conf"
install -m 0644 "$cabundle" "$ctx/rootfs/etc/ssl/certs/ca-certificates.crt"
install -m 0644 "$zoneinfo" "$ctx/rootfs/usr/share/zoneinfo.zip"
install -m 0644 "$dockerfile" "$ctx/Dockerfile"
chmod 1777 "$ctx/rootfs/tmp"
chmod 0755 "$ctx/owned/data" "$ctx/owned/home"

old_id=$(docker image inspect --format '{{.Id}}' "$tag" 2>/dev/null || true)

# DOCKER_BUILDKIT=0: the legacy builder needs no buildx and never resolves
# `FROM scratch` against a registry.
DOCKER_BUILDKIT=0 docker build --quiet \
	--label "org.opencontainers.image.title=$name" \
	--label "org.opencontainers.image.version=$version" \
	--label "org.opencontainers.image.revision=$revision" \
	--label "org.opencontainers.image.source=https://github.com/kubedesk/kubedesk" \
	--tag "$tag" "$ctx" >/dev/null

new_id=$(docker image inspect --format '{{.Id}}' "$tag")
# Drop the image this tag pointed at before, so repeated builds on a CI
# machine that keeps its Docker state do not pile up. In use? Then keep it.
if [[ -n "$old_id" && "$old_id" != "$new_id" ]]; then
	docker image rm "$old_id" >/dev/null 2>&1 || true
fi

size=$(docker image inspect --format '{{.Size}}' "$tag")
echo "build-image: $tag ($name $version) ${new_id:7:12}, $((size / 1024 / 1024)) MiB (${size} bytes)"
