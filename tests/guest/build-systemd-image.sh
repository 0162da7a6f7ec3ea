#!/usr/bin/env bash
# build-systemd-image.sh OUTDIR — builds the systemd tier of the end-to-end tests' guest: Debian 12
# with systemd as PID 1, systemd-logind, dbus, udev, libpam-systemd, the real qemu-guest-agent and
# openssh-server, made by mmdebstrap from Debian's packages. Nothing is installed on the host:
# mmdebstrap itself and the kernel are fetched with apt-get download and unpacked with dpkg-deb -x,
# and the root filesystem is built in a temporary directory (--skip=chroot/mount: nothing is
# mounted in the host's namespace). The guest boots the kernel as an uncompressed ELF (OUTDIR/vmlinux,
# seconds faster under TCG than the bzImage) with the whole root filesystem as one zstd initramfs
# (OUTDIR/initrd.img, /init -> systemd, no /etc/initrd-release: systemd runs it as the real system).
# Cached like build-image.sh: OUTDIR/stamp records the inputs; unchanged inputs do nothing.
# The guest's own files (users, logind and systemd settings, /etc/vpc-login) are in systemd/.
set -euo pipefail

here=$(cd "$(dirname "$0")" && pwd)
out=${1:?usage: build-systemd-image.sh OUTDIR}
mkdir -p "$out"
out=$(cd "$out" && pwd)
suite=bookworm
mirror=http://deb.debian.org/debian
include=passwd,systemd,systemd-sysv,udev,dbus,libpam-systemd,qemu-guest-agent,kmod,procps,openssh-server,openssh-client

kernel_pkg=$(apt-cache depends linux-image-amd64 2>/dev/null | sed -n 's/^ *Depends: \(linux-image-[0-9].*-amd64\)$/\1/p' | head -n1)
if [ -z "$kernel_pkg" ]; then
        apt-get update -q >/dev/null
        kernel_pkg=$(apt-cache depends linux-image-amd64 | sed -n 's/^ *Depends: \(linux-image-[0-9].*-amd64\)$/\1/p' | head -n1)
fi
[ -n "$kernel_pkg" ] || { echo "build-systemd-image: cannot resolve linux-image-amd64" >&2; exit 1; }

# The stamp: this script, the guest's files, and the candidate versions of what goes in (as the
# host's package lists know them; a newer point release on the mirror shows up there after apt-get
# update).
# shellcheck disable=SC2086
versions=$(apt-cache policy "$kernel_pkg" mmdebstrap ${include//,/ } | awk '/^[^ ]/ { p = $1 } /^  Candidate:/ { print p $2 }')
stamp=$( (cat "$here/build-systemd-image.sh"; find "$here/systemd" -type f | sort | xargs cat; echo "$versions") | sha256sum | cut -d' ' -f1)
if [ -f "$out/stamp" ] && [ "$(cat "$out/stamp")" = "$stamp" ] && [ -s "$out/vmlinux" ] && [ -s "$out/initrd.img" ]; then
        echo "build-systemd-image: $out is up to date"
        exit 0
fi

work=$(mktemp -d /tmp/vpc-systemd-guest-build.XXXXXX)
trap 'rm -rf "$work"' EXIT
echo "build-systemd-image: downloading mmdebstrap and $kernel_pkg"
(cd "$work" && apt-get download -q mmdebstrap "$kernel_pkg" >/dev/null 2>&1) ||
        (apt-get update -q >/dev/null && cd "$work" && apt-get download -q mmdebstrap "$kernel_pkg")
dpkg-deb -x "$work"/mmdebstrap_*.deb "$work/mmdebstrap"
dpkg-deb -x "$work"/linux-image-*.deb "$work/kernel"
kver=$(ls "$work/kernel/lib/modules")

# The kernel as an ELF: the bzImage's payload (boot protocol >= 2.08: payload_offset and
# payload_length in the setup header) is the compressed vmlinux.
python3 - "$work/kernel/boot/vmlinuz-$kver" "$work/vmlinux.payload" <<'PY'
import struct, sys
data = open(sys.argv[1], "rb").read()
setup_sects = data[0x1f1] or 4
offset, length = struct.unpack_from("<II", data, 0x248)
start = (setup_sects + 1) * 512 + offset
open(sys.argv[2], "wb").write(data[start:start + length])
PY
case $(head -c 6 "$work/vmlinux.payload" | od -An -tx1 | tr -d ' \n') in
fd377a585a00) xz -dc --single-stream <"$work/vmlinux.payload" >"$out/vmlinux.new" ;;
28b52ffd*) zstd -dcq <"$work/vmlinux.payload" >"$out/vmlinux.new" ;;
1f8b*) gzip -dc <"$work/vmlinux.payload" >"$out/vmlinux.new" 2>/dev/null || [ -s "$out/vmlinux.new" ] ;;
*) echo "build-systemd-image: unknown kernel compression" >&2; exit 1 ;;
esac
[ "$(head -c 4 "$out/vmlinux.new" | od -An -tx1 | tr -d ' \n')" = 7f454c46 ] ||
        { echo "build-systemd-image: the kernel's payload is not an ELF" >&2; exit 1; }

# Hooks get the kernel's directory and this directory through the environment.
export VPC_KERNEL_DIR=$work/kernel VPC_KVER=$kver VPC_GUEST_FILES=$here/systemd
echo "build-systemd-image: mmdebstrap $suite ($include)"
PATH=$work/mmdebstrap/usr/bin:$PATH "$work/mmdebstrap/usr/bin/mmdebstrap" \
        --mode=root --variant=essential --format=directory --quiet \
        --hook-dir="$work/mmdebstrap/usr/share/mmdebstrap/hooks/merged-usr" \
        --skip=chroot/mount \
        --include="$include" \
        --dpkgopt='path-exclude=/usr/share/man/*' \
        --dpkgopt='path-exclude=/usr/share/doc/*' \
        --dpkgopt='path-include=/usr/share/doc/*/copyright' \
        --dpkgopt='path-exclude=/usr/share/locale/*' \
        --dpkgopt='path-exclude=/usr/share/info/*' \
        --dpkgopt='path-exclude=/usr/share/lintian/*' \
        --customize-hook="$here/systemd/customize.sh \"\$1\"" \
        "$suite" "$work/root" \
        "deb $mirror $suite main" "deb $mirror $suite-updates main" \
        "deb http://deb.debian.org/debian-security $suite-security main" >"$work/mmdebstrap.log" 2>&1 ||
        { tail -n 30 "$work/mmdebstrap.log" >&2; echo "build-systemd-image: mmdebstrap failed" >&2; exit 1; }

(cd "$work/root" && find . | LC_ALL=C sort | cpio -o -H newc --quiet | zstd -3 -q -T0) >"$out/initrd.img.new"
mv "$out/vmlinux.new" "$out/vmlinux"
mv "$out/initrd.img.new" "$out/initrd.img"
echo "$stamp" >"$out/stamp"
echo "build-systemd-image: $out/vmlinux ($kernel_pkg) and initrd.img ($(du -h "$out/initrd.img" | cut -f1))"
