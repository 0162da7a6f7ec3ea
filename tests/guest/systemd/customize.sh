#!/bin/sh
# mmdebstrap --customize-hook of build-systemd-image.sh: ROOT is the finished Debian root filesystem
# (outside any chroot; nothing mounted). Adds what the test guest needs on top of Debian's packages.
# Environment: VPC_KERNEL_DIR (the unpacked kernel package), VPC_KVER, VPC_GUEST_FILES (this dir).
set -eu
root=$1
files=$VPC_GUEST_FILES

# The virtio modules the agent's port needs (udev loads them by modalias), and their index.
m=lib/modules/$VPC_KVER
for ko in drivers/virtio/virtio_ring drivers/virtio/virtio drivers/virtio/virtio_pci_modern_dev \
        drivers/virtio/virtio_pci_legacy_dev drivers/virtio/virtio_pci drivers/char/virtio_console; do
        mkdir -p "$root/usr/$m/kernel/$(dirname "$ko")"
        cp "$VPC_KERNEL_DIR/$m/kernel/$ko.ko" "$root/usr/$m/kernel/$ko.ko"
done
cp "$VPC_KERNEL_DIR/$m"/modules.builtin* "$root/usr/$m/"
chroot "$root" depmod "$VPC_KVER"

# Boot as the real system from the initramfs: /init is systemd, and no /etc/initrd-release.
ln -s /usr/lib/systemd/systemd "$root/init"
rm -f "$root/etc/initrd-release"
: >"$root/etc/fstab"
echo vpc-systemd-guest >"$root/etc/hostname"
# A fixed machine-id: no first-boot setup, and the same journal/unit state on every boot.
echo 5f0c4e2a9b8d4c7e8a1f3b6d2e9c0a71 >"$root/etc/machine-id"

# The busybox guest's users, with the same uids (tests/guest/rootfs/passwd), homes under /home.
for u in alice:1001 bob:1002 carol:1003 dave:1004; do
        chroot "$root" groupadd -g "${u#*:}" "${u%:*}"
        chroot "$root" useradd -u "${u#*:}" -g "${u#*:}" -m -s /bin/bash "${u%:*}"
done
# A key for sshd logins from inside the guest (vpc-login's ssh mode), for every user and root.
mkdir -p "$root/etc/vpc-ssh"
chroot "$root" ssh-keygen -q -t ed25519 -N '' -C vpc-login -f /etc/vpc-ssh/id_ed25519
for home in /root /home/alice /home/bob /home/carol /home/dave; do
        mkdir -p "$root$home/.ssh"
        cp "$root/etc/vpc-ssh/id_ed25519.pub" "$root$home/.ssh/authorized_keys"
        chroot "$root" chown -R --reference="$home" "$home/.ssh"
        chmod 700 "$root$home/.ssh"
done
# dave lingers: his user manager and his own service run from boot without any login.
mkdir -p "$root/var/lib/systemd/linger" "$root/home/dave/.config/systemd/user/default.target.wants"
: >"$root/var/lib/systemd/linger/dave"
cp "$files/vpc-worker.service" "$root/home/dave/.config/systemd/user/"
ln -s ../vpc-worker.service "$root/home/dave/.config/systemd/user/default.target.wants/vpc-worker.service"
chroot "$root" chown -R dave:dave /home/dave/.config

# logind and systemd settings, and the login helper the tests call through the agent.
mkdir -p "$root/etc/systemd/logind.conf.d" "$root/etc/systemd/system.conf.d"
cp "$files/logind.conf" "$root/etc/systemd/logind.conf.d/vpc.conf"
cp "$files/system.conf" "$root/etc/systemd/system.conf.d/vpc.conf"
install -m 755 "$files/vpc-login" "$root/etc/vpc-login"

# What only slows the boot under TCG (the packages' postinst scripts already created the system
# users; there is no fstab, no module to load, no journal to flush). udev's coldplug trigger stays
# whole: without it the virtio port's event is lost and qemu-ga (started by Debian's own udev rule)
# never starts.
for unit in getty@tty1.service serial-getty@ttyS0.service systemd-timesyncd.service systemd-networkd.service \
        systemd-hwdb-update.service ldconfig.service systemd-journal-catalog-update.service \
        systemd-update-done.service systemd-firstboot.service systemd-random-seed.service \
        systemd-pstore.service systemd-boot-system-token.service \
        apt-daily.timer apt-daily-upgrade.timer dpkg-db-backup.timer fstrim.timer e2scrub_all.timer \
        e2scrub_reap.service systemd-tmpfiles-clean.timer \
        dev-hugepages.mount dev-mqueue.mount sys-kernel-debug.mount sys-kernel-tracing.mount \
        sys-fs-fuse-connections.mount sys-kernel-config.mount modprobe@configfs.service \
        modprobe@dm_mod.service modprobe@drm.service modprobe@loop.service modprobe@fuse.service \
        modprobe@efi_pstore.service systemd-sysusers.service systemd-remount-fs.service \
        systemd-journal-flush.service systemd-modules-load.service systemd-update-utmp-runlevel.service; do
        ln -sf /dev/null "$root/etc/systemd/system/$unit"
done
mkdir -p "$root/etc/systemd/system-generators"
for gen in systemd-getty-generator systemd-gpt-auto-generator systemd-hibernate-resume-generator \
        systemd-bless-boot-generator systemd-system-update-generator systemd-veritysetup-generator \
        systemd-cryptsetup-generator systemd-integritysetup-generator systemd-sysv-generator \
        systemd-rc-local-generator; do
        ln -sf /dev/null "$root/etc/systemd/system-generators/$gen"
done
rm -f "$root/etc/systemd/system/getty.target.wants/getty@tty1.service"

# Space: the hwdb is masked, the package lists are not needed in the guest.
rm -rf "$root/usr/lib/udev/hwdb.d" "$root/etc/udev/hwdb.bin" "$root/usr/lib/udev/hwdb.bin" \
        "$root/var/lib/apt/lists"/* "$root/var/cache/apt"/*.bin "$root/var/cache/debconf"/*-old
