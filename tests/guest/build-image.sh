#!/usr/bin/env bash
# build-image.sh OUTDIR — builds the end-to-end tests' guest: the Debian kernel and an initramfs with
# busybox (as init and shell), the real qemu-ga from Debian's qemu-guest-agent on the virtio-serial
# port org.qemu.guest_agent.0, and users logged in through session-leader (real processes, real utmp
# records). Packages are fetched with apt-get download and unpacked with dpkg-deb -x: nothing is
# installed on the host. The result is cached: OUTDIR/stamp records the inputs, and a build whose
# inputs have not changed does nothing. Writes OUTDIR/vmlinuz and OUTDIR/initrd.img.
set -euo pipefail

here=$(cd "$(dirname "$0")" && pwd)
out=${1:?usage: build-image.sh OUTDIR}
mkdir -p "$out"
out=$(cd "$out" && pwd)

kernel_pkg=$(apt-cache depends linux-image-amd64 2>/dev/null | sed -n 's/^ *Depends: \(linux-image-[0-9].*-amd64\)$/\1/p' | head -n1)
if [ -z "$kernel_pkg" ]; then
        apt-get update -q >/dev/null
        kernel_pkg=$(apt-cache depends linux-image-amd64 | sed -n 's/^ *Depends: \(linux-image-[0-9].*-amd64\)$/\1/p' | head -n1)
fi
[ -n "$kernel_pkg" ] || { echo "build-image: cannot resolve linux-image-amd64" >&2; exit 1; }
packages=("$kernel_pkg" qemu-guest-agent busybox-static)

versions=$(for p in "${packages[@]}"; do apt-cache policy "$p" | sed -n "s/^  Candidate: /$p=/p"; done)
stamp=$( (cat "$here/build-image.sh" "$here/session-leader.c" "$here"/rootfs/* ; echo "$versions") | sha256sum | cut -d' ' -f1)
if [ -f "$out/stamp" ] && [ "$(cat "$out/stamp")" = "$stamp" ] && [ -s "$out/vmlinuz" ] && [ -s "$out/initrd.img" ]; then
        echo "build-image: $out is up to date"
        exit 0
fi

work=$(mktemp -d /tmp/vpc-guest-build.XXXXXX)
trap 'rm -rf "$work"' EXIT
echo "build-image: downloading ${packages[*]}"
(cd "$work" && apt-get download -q "${packages[@]}" >/dev/null 2>&1) ||
        (apt-get update -q >/dev/null && cd "$work" && apt-get download -q "${packages[@]}")
for deb in "$work"/*.deb; do
        dpkg-deb -x "$deb" "$work/pkg"
done

root=$work/root
mkdir -p "$root"/{bin,sbin,etc,proc,sys,dev,run,tmp,root,lib/modules,usr/bin,usr/sbin,usr/local/bin,var/log}
ln -s ../run "$root/var/run"
chmod 1777 "$root/tmp"

# busybox, with a link per applet
cp "$work/pkg/bin/busybox" "$root/bin/busybox"
for applet in $("$root/bin/busybox" --list-full); do
        [ -e "$root/$applet" ] || ln -s /bin/busybox "$root/$applet"
done

# qemu-ga and the libraries it links (the host's, which are the same Debian release)
cp "$work/pkg/usr/sbin/qemu-ga" "$root/usr/sbin/qemu-ga"
if ldd "$root/usr/sbin/qemu-ga" | grep 'not found' >&2; then
        echo "build-image: qemu-ga needs libraries the host lacks (scripts/install-deps installs them)" >&2
        exit 1
fi
for lib in $(ldd "$root/usr/sbin/qemu-ga" | awk '/=>/ { print $3 } /ld-linux/ { print $1 }'); do
        mkdir -p "$root$(dirname "$lib")"
        cp -L "$lib" "$root$lib"
done
mkdir -p "$root/lib64"
[ -e "$root/lib64/ld-linux-x86-64.so.2" ] || cp -L /lib64/ld-linux-x86-64.so.2 "$root/lib64/"

# the kernel, and the virtio modules the agent's port needs, in load order
kver=$(ls "$work/pkg/lib/modules")
cp "$work/pkg/boot/vmlinuz-$kver" "$out/vmlinuz.new"
moddir=$root/lib/modules
: >"$root/etc/modules.order"
for m in virtio_ring virtio virtio_pci_modern_dev virtio_pci_legacy_dev virtio_pci virtio_console; do
        f=$(find "$work/pkg/lib/modules/$kver" -name "$m.ko*" | head -n1)
        if [ -n "$f" ]; then
                case $f in
                *.xz) xz -dc "$f" >"$moddir/$m.ko" ;;
                *) cp "$f" "$moddir/$m.ko" ;;
                esac
                echo "$m" >>"$root/etc/modules.order"
        fi
done

# logins
gcc -static -O2 -Wall -Wextra -Werror -o "$root/usr/local/bin/session-leader" "$here/session-leader.c"
cp "$here"/rootfs/* "$root/etc/"
chmod +x "$root"/etc/rc.* "$root/etc/vpc-login"
ln -s /bin/busybox "$root/init"

(cd "$root" && find . | cpio -o -H newc --quiet | gzip -9) >"$out/initrd.img.new"
mv "$out/vmlinuz.new" "$out/vmlinuz"
mv "$out/initrd.img.new" "$out/initrd.img"
echo "$stamp" >"$out/stamp"
echo "build-image: $out/vmlinuz ($kernel_pkg) and initrd.img ($(du -h "$out/initrd.img" | cut -f1))"
