#!/usr/bin/env bash
# Builds the reference edge stack into stack/dist/ (idempotent; artefacts
# whose inputs did not change are kept):
#   dist/bin/linux-{amd64,arm64}/{edge-agent,cloud-hub}        reference binaries
#   dist/bin/linux-{amd64,arm64}/ec-stress                     static stressor for boards without stress-ng
#   dist/bin/linux-{amd64,arm64}/ec-fusefs                     FUSE fault layer over edge data dirs (io/disk/power faults)
#   dist/fixtures/linux-amd64/{edge-agent,cloud-hub}-defects   -tags defects (test fixtures)
#   dist/images/{edge-agent,cloud-hub}-{amd64,arm64}.tar       docker-archive images
#   dist/fixtures/images/edge-agent-padded-amd64.tar           bloated image fixture (-pad-mb 12)
set -euo pipefail

cd "$(dirname "${BASH_SOURCE[0]}")"
GO=${GO:-go}
DIST=dist
export CGO_ENABLED=0
LDFLAGS="-s -w -buildid="

# stale OUT: true when OUT is missing or older than any Go input of the module.
stale() {
	[[ ! -e $1 ]] && return 0
	[[ -n $(find cmd internal go.mod go.sum -newer "$1" \( -name '*.go' ! -name '*_test.go' -o -name 'go.mod' -o -name 'go.sum' \) -print -quit) ]]
}

report() { # path [note]
	printf '%-52s %10d bytes  %s\n' "$1" "$(stat -c %s "$1")" "${2:-}"
}

# check_static FILE ARCH: the ELF must be statically linked for ARCH.
check_static() {
	command -v file >/dev/null || return 0
	local want desc
	case $2 in amd64) want="x86-64" ;; arm64) want="aarch64" ;; esac
	desc=$(file -b "$1")
	if [[ $desc != *"$want"* || $desc != *"statically linked"* ]]; then
		echo "build.sh: $1 is not a static $2 ELF: $desc" >&2
		exit 1
	fi
}

build_bin() { # arch name out [tags]
	local arch=$1 name=$2 out=$3 tags=${4:-} note=cached
	if stale "$out"; then
		mkdir -p "$(dirname "$out")"
		GOOS=linux GOARCH=$arch "$GO" build -trimpath -ldflags "$LDFLAGS" ${tags:+-tags "$tags"} -o "$out.tmp" "./cmd/$name"
		mv "$out.tmp" "$out"
		note=built
	fi
	check_static "$out" "$arch"
	report "$out" "$note"
}

image_env() { # name
	case $1 in
	edge-agent) echo "-env EDGE_LISTEN=:8080 -env EDGE_DATA_DIR=/data -env EDGE_MODE=auto" ;;
	cloud-hub) echo "-env HUB_LISTEN=:8080 -env HUB_DATA_DIR=/data" ;;
	esac
}

build_image() { # arch name out tag [extra mkimage args...]
	local arch=$1 name=$2 out=$3 tag=$4 bin=$DIST/bin/linux-$1/$2 note=cached
	shift 4
	if [[ ! -e $out || $out -ot $bin || $out -ot $MKIMAGE ]]; then
		# shellcheck disable=SC2046 # image_env yields separate flags on purpose
		"$MKIMAGE" -name "$name" -bin "$bin" -arch "$arch" -out "$out" -tag "$tag" -port 8080 $(image_env "$name") "$@" >/dev/null
		note=built
	fi
	report "$out" "$note ($tag)"
}

MKIMAGE=$DIST/tools/mkimage
if stale "$MKIMAGE"; then
	mkdir -p "$DIST/tools"
	"$GO" build -trimpath -o "$MKIMAGE.tmp" ./cmd/mkimage
	mv "$MKIMAGE.tmp" "$MKIMAGE"
fi

for arch in amd64 arm64; do
	for name in edge-agent cloud-hub ec-stress ec-fusefs; do
		build_bin "$arch" "$name" "$DIST/bin/linux-$arch/$name"
	done
done
for name in edge-agent cloud-hub; do
	build_bin amd64 "$name" "$DIST/fixtures/linux-amd64/$name-defects" defects
done
for arch in amd64 arm64; do
	for name in edge-agent cloud-hub; do
		build_image "$arch" "$name" "$DIST/images/$name-$arch.tar" "edgechaos/$name:dev"
	done
done
build_image amd64 edge-agent "$DIST/fixtures/images/edge-agent-padded-amd64.tar" "edgechaos/edge-agent:padded" -pad-mb 12
