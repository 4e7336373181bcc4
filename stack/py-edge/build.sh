#!/usr/bin/env bash
# Builds the py-edge image (a non-Go reference-contract edge agent) daemonless, into stack/dist/:
#   dist/py-edge/base-amd64.tar      Debian bookworm rootfs from Debian packages (mmdebstrap --variant=extract:
#                                    dash + python3-minimal + libpython3.11-stdlib and their dependencies;
#                                    docs, man pages, locales and apt/dpkg state removed; stdlib byte-compiled)
#   dist/py-edge/app-amd64.tar       /app (agent.py, start.sh), /etc/passwd + /etc/group with user edge (10001), /data
#   dist/images/py-edge-amd64.tar    the two layers as an OCI image in a docker-archive (mkrootimage, go-containerregistry)
# Needs root (file owners) and mmdebstrap (Debian package), a Debian mirror reachable through apt.
# Idempotent: the base layer is kept once built; the image is rebuilt when the app changes.
set -euo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
stack=$(dirname "$here")
out=$stack/dist/py-edge
img=$stack/dist/images/py-edge-amd64.tar
GO=${GO:-go}
mkdir -p "$out" "$stack/dist/images" "$stack/dist/tools"

command -v mmdebstrap >/dev/null || { echo "py-edge/build.sh: mmdebstrap missing: apt-get install -y mmdebstrap" >&2; exit 3; }

base=$out/base-amd64.tar
if [[ ! -s $base ]]; then
	mmdebstrap --quiet --variant=extract --architectures=amd64 \
		--include=dash,python3-minimal,libpython3.11-stdlib \
		--customize-hook='chroot "$1" /usr/bin/python3.11 -m compileall -q -j0 /usr/lib/python3.11 >/dev/null || true' \
		--customize-hook='rm -rf "$1"/usr/share/doc "$1"/usr/share/man "$1"/usr/share/locale "$1"/usr/share/lintian "$1"/var/lib/apt "$1"/var/cache/apt "$1"/var/lib/dpkg "$1"/var/log/*' \
		bookworm "$out/base-amd64.partial.tar"
	mv "$out/base-amd64.partial.tar" "$base"
fi

tool=$stack/dist/tools/mkrootimage
if [[ ! -x $tool || -n $(find "$here/cmd" "$stack/internal/image" -newer "$tool" -name '*.go' -print -quit) ]]; then
	(cd "$stack" && "$GO" build -trimpath -o "$tool.$$.tmp" ./py-edge/cmd/mkrootimage && mv "$tool.$$.tmp" "$tool")
fi

app=$out/app-amd64.tar
if [[ ! -s $img || $img -ot $here/app/agent.py || $img -ot $here/start.sh || $img -ot $base || $img -ot $tool || $img -ot $here/build.sh ]]; then
	stage=$(mktemp -d)
	trap 'rm -rf "$stage"' EXIT
	chmod 0755 "$stage"
	install -d -m 0755 "$stage/app" "$stage/etc"
	install -m 0444 "$here/app/agent.py" "$stage/app/agent.py"
	install -m 0555 "$here/start.sh" "$stage/app/start.sh"
	printf 'root:x:0:0:root:/root:/bin/sh\nedge:x:10001:10001:py-edge:/data:/usr/sbin/nologin\nnobody:x:65534:65534:nobody:/nonexistent:/usr/sbin/nologin\n' >"$stage/etc/passwd"
	printf 'root:x:0:\nedge:x:10001:\nnogroup:x:65534:\n' >"$stage/etc/group"
	install -d -m 0700 -o 10001 -g 10001 "$stage/data"
	tar --numeric-owner --mtime=@0 --sort=name -C "$stage" -cf "$app" .
	"$tool" -layer "$base" -layer "$app" -entrypoint '["/app/start.sh"]' -user edge -workdir /app \
		-env PATH=/usr/local/bin:/usr/bin:/bin -env PYTHONDONTWRITEBYTECODE=1 -env PYTHONUNBUFFERED=1 \
		-env EDGE_LISTEN=:8080 -env EDGE_DATA_DIR=/data -env EDGE_MODE=auto \
		-arch amd64 -tag edgechaos/py-edge:dev -out "$img"
fi
printf '%-52s %10d bytes\n' "$img" "$(stat -c %s "$img")"
