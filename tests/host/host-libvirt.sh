#!/usr/bin/env bash
# host-libvirt.sh running|stopped — the host test (suite 'host'): the project's tests and its demo
# run on a machine that has a libvirt of its own, and must leave it exactly as it was.
#
# Run inside tests/lib/run-isolated. In that namespace this script builds "the host": fresh
# directories over /run (a tmpfs, as on every host), /etc/libvirt, /var/lib/libvirt,
# /var/cache/libvirt and /var/log/libvirt, configured the way libvirt-daemon-system leaves a
# Debian host (libvirtd.conf with the socket group libvirt, qemu.conf with QEMU as libvirt-qemu:kvm,
# its output and consoles through virtlogd), a qemu hook that records every call, and the 'default'
# network defined. The host's virtlogd and libvirtd run from there, with the host's domains.
#   running  The host's libvirtd and virtlogd stay up; its domains: a running real guest (the
#            busybox test guest, as libvirt-qemu, alice and bob logged on) and a persistent
#            shut-off domain.
#   stopped  The host's libvirtd and virtlogd ran (defined two domains, both shut off) and are
#            stopped; /run/libvirt holds what they leave, and their sockets, with those of virtlockd
#            and of a modular virtqemud, are held by a stand-in for systemd's socket units
#            (tests/host/listen.py) that records every connection (systemd would start the daemon).
# Then, nested in this namespace, what a user runs: the e2e suite (meson test --suite e2e: the very
# commands of tests/e2e/meson.build, run-isolated + with-env + python3 tests/e2e/X.py; in 'stopped'
# its vpcctl test, see below), scripts/demo,
# fault-libvirtd (its libvirtd restarts through envctl must find the environment's private
# directories again), and an environment with a guest and the daemon killed with SIGKILL mid-run. Each must pass. Then the host must be as it was: the same domains in the same states with
# the same definitions, its guest's users still logged on (its qemu-ga's guest-get-users), not one
# file of /run/libvirt, /etc/libvirt, /var/lib/libvirt, /var/log/libvirt new, gone or replaced
# (sockets included) nor one of /run/libvirt, /etc/libvirt changed, its hook not run, its virtlogd
# and libvirtd the same processes, no connection to the stand-in sockets, and no process left of the
# nested runs.
#
# Where this host differs from a real one, because the machine running the tests must not be
# changed: QEMU gets no cgroups and no mount namespace of its own (libvirt would create them in the
# machine's real cgroup tree), no AppArmor, the network stays defined but inactive (starting it would
# add a bridge to the machine), and there is no systemd (listen.py stands in for its sockets).
#
# Environment (tests/host/meson.build): VPC_SOURCE_ROOT, VPC_BUILD_DIR (the build whose tests and
# binaries run nested), VPC_GUESTOSD, VPCCTL.
set -euo pipefail
mode=${1:?usage: host-libvirt.sh running|stopped}
case $mode in running | stopped) ;; *) echo "host: unknown mode $mode" >&2; exit 2 ;; esac
: "${VPC_SOURCE_ROOT:?}" "${VPC_BUILD_DIR:?}" "${VPC_GUESTOSD:?}" "${VPCCTL:?}"
src=$VPC_SOURCE_ROOT
[ "$$" -eq 1 ] || { echo "host: run inside tests/lib/run-isolated" >&2; exit 2; }

say() { echo "host: $*"; }
failures=()
fail() { echo "host: FAIL: $*"; failures+=("$*"); }

# Nothing of the real machine's bus or libvirt: the host has its own.
unset DBUS_SYSTEM_BUS_ADDRESS LIBVIRT_DEFAULT_URI VIRSH_DEFAULT_CONNECT_URI
HOST=$(mktemp -d /tmp/vpc-host.XXXXXX)
chmod 755 "$HOST"
URI=qemu:///system       # the host's libvirtd, as its own clients reach it
pids=()                  # processes this script started (the host's daemons, listen.py)
cleanup() {
        local rc=$? p
        for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done
        # QEMU of the host's guest: it outlives libvirtd, as on a real host; here it ends with the
        # namespace, whose init this script is.
        [ -n "${VPC_KEEP_ENV:-}" ] || rm -rf "$HOST"
        exit "$rc"
}
trap cleanup EXIT

# --- the host --------------------------------------------------------------------------------------
mount -t tmpfs -o mode=755 tmpfs /run
for d in etc:/etc/libvirt lib:/var/lib/libvirt cache:/var/cache/libvirt log:/var/log/libvirt; do
        mkdir -p "$HOST/${d%%:*}" "${d#*:}"
        chmod 755 "$HOST/${d%%:*}"
        mount --bind "$HOST/${d%%:*}" "${d#*:}"
done
mkdir -p /run/libvirt /var/lib/libvirt/images /var/lib/libvirt/qemu /var/cache/libvirt/qemu \
        /var/log/libvirt/qemu /etc/libvirt/qemu/networks/autostart /etc/libvirt/hooks
# The users and groups libvirt-daemon-system's postinst adds, where this machine lacks them.
mkdir -p "$HOST/users"
cp /etc/passwd /etc/group "$HOST/users/"
grep -q '^kvm:' "$HOST/users/group" || echo "kvm:x:64054:" >>"$HOST/users/group"
grep -q '^libvirt:' "$HOST/users/group" || echo "libvirt:x:64056:" >>"$HOST/users/group"
grep -q '^libvirt-qemu:' "$HOST/users/group" || echo "libvirt-qemu:x:64055:libvirt-qemu" >>"$HOST/users/group"
grep -q '^libvirt-qemu:' "$HOST/users/passwd" ||
        echo "libvirt-qemu:x:64055:$(awk -F: '$1 == "kvm" { print $3 }' "$HOST/users/group")::/var/lib/libvirt:/usr/sbin/nologin" >>"$HOST/users/passwd"
mount --bind "$HOST/users/passwd" /etc/passwd
mount --bind "$HOST/users/group" /etc/group

cat >/etc/libvirt/libvirtd.conf <<'EOC'
# The host's libvirtd (as libvirt-daemon-system's socket units set it up): group libvirt may manage,
# anyone may read; polkit decides for everyone else (root passes).
unix_sock_group = "libvirt"
unix_sock_ro_perms = "0777"
unix_sock_rw_perms = "0770"
EOC
cat >/etc/libvirt/qemu.conf <<'EOC'
# The host's QEMU driver: Debian's defaults (QEMU as libvirt-qemu:kvm, files chowned to it, output
# and consoles through virtlogd), but no cgroups, no per-VM mount namespace and no AppArmor: the
# test must not change the machine it runs on.
user = "libvirt-qemu"
group = "kvm"
dynamic_ownership = 1
stdio_handler = "logd"
security_driver = "none"
namespaces = []
cgroup_controllers = []
EOC
cat >/etc/libvirt/libvirt.conf <<'EOC'
uri_default = "qemu:///system"
EOC
: >/etc/libvirt/virtlogd.conf
: >/etc/libvirt/virtlockd.conf
cat >/etc/libvirt/qemu/networks/default.xml <<'EOC'
<network>
  <name>default</name>
  <bridge name='virbr0'/>
  <forward/>
  <ip address='192.168.122.1' netmask='255.255.255.0'>
    <dhcp>
      <range start='192.168.122.2' end='192.168.122.254'/>
    </dhcp>
  </ip>
</network>
EOC
chmod 600 /etc/libvirt/qemu/networks/default.xml
# libvirtd runs its qemu hook on every domain event of every domain it manages: the log shows
# whether a libvirtd that read this /etc/libvirt managed anything.
cat >/etc/libvirt/hooks/qemu <<EOC
#!/bin/sh
echo "\$(cat /proc/\$PPID/comm)[\$PPID]: \$*" >>$HOST/hooks.log
EOC
chmod 755 /etc/libvirt/hooks/qemu
: >"$HOST/hooks.log"

/usr/sbin/virtlogd >"$HOST/virtlogd.log" 2>&1 &
virtlogd_pid=$!
pids+=("$virtlogd_pid")
start_libvirtd() {
        /usr/sbin/libvirtd >>"$HOST/libvirtd.log" 2>&1 &
        libvirtd_pid=$!
        pids+=("$libvirtd_pid")
        for _ in $(seq 300); do
                virsh -c "$URI" version >/dev/null 2>&1 && return 0
                sleep 0.1
        done
        echo "host: the host's libvirtd did not start:" >&2
        tail -20 "$HOST/libvirtd.log" >&2
        exit 1
}
start_libvirtd
say "the host's virtlogd [$virtlogd_pid] and libvirtd [$libvirtd_pid] run"

# The host's guest: the project's busybox test guest, started by the host's libvirtd from a copy of
# the image in the host's /var/lib/libvirt/images (libvirt chowns it to libvirt-qemu).
# shellcheck disable=SC2034 # read by env.sh's vpc_guest_* (not exported: the nested runs have their own)
VPC_ENV_DIR=$HOST/host-guests VPC_GUEST_URI=$URI
mkdir -p "$VPC_ENV_DIR"
# shellcheck source=../lib/env.sh
. "$src/tests/lib/env.sh"
vpc_guest_image
mkdir -p /var/lib/libvirt/images/vpc-guest
cp -r "$VPC_GUEST_IMAGE"/. /var/lib/libvirt/images/vpc-guest/
VPC_GUEST_IMAGE=/var/lib/libvirt/images/vpc-guest
export -n VPC_GUEST_IMAGE   # the nested runs find their own
if [ "$mode" = running ]; then
        vpc_guest_start host-vm alice,bob
else
        sed -e "s|@NAME@|host-vm|; s|@UUID@|$(cat /proc/sys/kernel/random/uuid)|; s|@KERNEL@|$VPC_GUEST_IMAGE/vmlinuz|" \
                -e "s|@INITRD@|$VPC_GUEST_IMAGE/initrd.img|; s|@CMDLINE@|console=ttyS0|; s|@CONSOLE_LOG@|/var/log/libvirt/qemu/host-vm.console|" \
                "$src/tests/data/guest-domain.xml.in" >"$HOST/host-vm.xml"
        virsh -q -c "$URI" define "$HOST/host-vm.xml" >/dev/null
fi
cat >"$HOST/host-off.xml" <<'EOC'
<domain type='qemu'>
  <name>host-off</name>
  <description>a persistent domain of the host's, shut off</description>
  <memory unit='MiB'>64</memory>
  <os><type arch='x86_64' machine='pc'>hvm</type></os>
  <devices><emulator>/usr/bin/qemu-system-x86_64</emulator></devices>
</domain>
EOC
virsh -q -c "$URI" define "$HOST/host-off.xml" >/dev/null
if [ "$mode" = running ]; then
        qemu_pid=$(cat /run/libvirt/qemu/host-vm.pid)
        vpc_guest_users_are host-vm alice bob || { echo "host: the host's guest does not list alice and bob" >&2; exit 1; }
        say "the host's domains: host-vm running (QEMU [$qemu_pid], as $(ps -o user= -p "$qemu_pid"), alice and bob logged on), host-off shut off"
else
        qemu_pid=""
        say "the host's domains: host-vm and host-off, shut off"
fi

domains() {        # the host's domains, as its libvirtd sees them
        local d
        virsh -c "$URI" list --all --name | sed '/^$/d' | sort | while read -r d; do
                echo "$d: $(virsh -c "$URI" domstate "$d") id $(virsh -c "$URI" domid "$d")" \
                        "inactive-xml $(virsh -c "$URI" dumpxml --inactive "$d" | sha256sum | cut -c1-16)"
        done
        virsh -c "$URI" net-list --all --name | sed '/^$/d' | sort | sed 's/^/network: /'
}
live_xml() {       # the running domains' live definitions
        local d
        for d in $(virsh -c "$URI" list --name); do
                echo "$d: live-xml $(virsh -c "$URI" dumpxml "$d" | sha256sum | cut -c1-16)"
        done
}
files() {          # every file of the host's libvirt: type, mode, owner, inode, path; and the contents
        find /run/libvirt /etc/libvirt /var/lib/libvirt /var/log/libvirt -printf '%y %m %u:%g %i %p\n' |
                sort -k5
        find /run/libvirt /etc/libvirt -type f -print0 | sort -z | xargs -0 sha256sum
}

domains >"$HOST/domains.before"
live_xml >"$HOST/live.before"
if [ "$mode" = stopped ]; then
        for p in "$libvirtd_pid" "$virtlogd_pid"; do
                kill -TERM "$p"
                for _ in $(seq 300); do kill -0 "$p" 2>/dev/null || break; sleep 0.1; done
                ! kill -0 "$p" 2>/dev/null || { echo "host: libvirtd or virtlogd did not stop" >&2; exit 1; }
        done
        say "the host's libvirtd and virtlogd are stopped; left in /run/libvirt: $(cd /run/libvirt && echo *)"
fi

# Stand-ins for what a host's environment offers its libvirt clients: in 'stopped', the sockets of
# systemd's libvirtd, virtlogd, virtlockd and virtqemud socket units; in both, a URI in
# LIBVIRT_DEFAULT_URI and VIRSH_DEFAULT_CONNECT_URI and the user's libvirt.conf (a host's admin may
# set them).
listen=("$HOST/default-uri-sock")
if [ "$mode" = stopped ]; then
        for s in libvirt-sock libvirt-sock-ro libvirt-admin-sock virtlogd-sock virtlogd-admin-sock \
                virtlockd-sock virtlockd-admin-sock virtqemud-sock virtqemud-sock-ro virtqemud-admin-sock; do
                rm -f "/run/libvirt/$s"
                listen+=("/run/libvirt/$s")
        done
fi
: >"$HOST/connections.log"
python3 "$src/tests/host/listen.py" "$HOST/connections.log" "$HOST/listen.ready" "${listen[@]}" &
pids+=($!)
for _ in $(seq 100); do [ -e "$HOST/listen.ready" ] && break; sleep 0.1; done
[ -e "$HOST/listen.ready" ] || { echo "host: listen.py did not start" >&2; exit 1; }
trap_uri="qemu+unix:///system?socket=$HOST/default-uri-sock"
mkdir -p "$HOST/xdg/libvirt"
echo "uri_default = \"$trap_uri\"" >"$HOST/xdg/libvirt/libvirt.conf"

files >"$HOST/files.before"
hooks_before=$(wc -l <"$HOST/hooks.log")

# --- the project's runs, nested ------------------------------------------------------------------
nested() {         # nested NAME COMMAND...
        local name=$1 t0 rc=0; shift
        t0=$(date +%s)
        say "---- $name: $*"
        env LIBVIRT_DEFAULT_URI="$trap_uri" VIRSH_DEFAULT_CONNECT_URI="$trap_uri" XDG_CONFIG_HOME="$HOST/xdg" \
                timeout 900 "$@" </dev/null || rc=$?
        say "---- $name: exit status $rc after $(($(date +%s) - t0)) s"
        [ "$rc" = 0 ] || fail "$name: exit status $rc"
}
# The build's own test commands, as meson runs them (its log under another name).
meson_test=(meson test -C "$VPC_BUILD_DIR" --no-rebuild --print-errorlogs --num-processes 1 --timeout-multiplier 0.5)

# 'running' runs the whole e2e suite. 'stopped' runs its vpcctl test only (the one whose
# `vpcctl logoff --all` logged off foreign VMs): every e2e test reaches libvirt through the same
# with-env and vpc_libvirtd_start, which is what differs from 'running' here, and the whole suite
# again would double this suite's time (4-5 minutes on a loaded 2-core machine).
if [ "$mode" = running ]; then
        nested "e2e suite" "${meson_test[@]}" --logbase "host-$mode-e2e" --suite e2e
else
        nested "e2e vpcctl" "${meson_test[@]}" --logbase "host-$mode-e2e" --suite e2e vpcctl
fi
nested "scripts/demo" env VPC_DEMO_SKIP_DEPS=1 VPC_BUILD_DIR="$VPC_BUILD_DIR" "$src/scripts/demo"
nested "fault-libvirtd (envctl restarts libvirtd)" "${meson_test[@]}" --logbase "host-$mode-fault" fault-libvirtd

# An environment that dies: SIGKILL to run-isolated while its guest runs and the daemon serves.
killed() {
        local p envdir=""
        VPC_DAEMON_ARGS="" "$src/tests/lib/run-isolated" "$src/tests/lib/with-env" --guest k1:alice --daemon -- \
                sleep 600 </dev/null &
        p=$!
        for _ in $(seq 2400); do
                pgrep -x vpc-guestosd >/dev/null && break
                kill -0 "$p" 2>/dev/null || break
                sleep 0.1
        done
        pgrep -x vpc-guestosd >/dev/null || { wait "$p" || true; return 1; }
        envdir=$(tr '\0' '\n' <"/proc/$(pgrep -x vpc-guestosd | head -1)/environ" | sed -n 's/^VPC_ENV_DIR=//p') || true
        pgrep -f 'guest[=]k1' >/dev/null || { echo "host: k1's QEMU is not running" >&2; return 1; }
        kill -KILL "$p"
        wait "$p" 2>/dev/null || true
        for _ in $(seq 100); do
                pgrep -f 'guest[=]k1' >/dev/null || pgrep -x vpc-guestosd >/dev/null || break
                sleep 0.1
        done
        # SIGKILL leaves the EXIT trap no chance: the environment's directory (its own libvirt's
        # files among them) stays in /tmp; nothing else does.
        [ -z "$envdir" ] || rm -rf "$envdir"
}
nested "an environment killed with SIGKILL" env VPC_GUESTOSD="$VPC_GUESTOSD" bash -c "$(declare -f killed); src=$src; killed"

# --- the host, afterwards ----------------------------------------------------------------------------
files >"$HOST/files.after"
diff -u "$HOST/files.before" "$HOST/files.after" >"$HOST/files.diff" ||
        fail "files of the host's libvirt changed: $(cat "$HOST/files.diff")"
[ "$(wc -l <"$HOST/hooks.log")" = "$hooks_before" ] ||
        fail "the host's qemu hook ran: $(tail -n +"$((hooks_before + 1))" "$HOST/hooks.log")"
[ ! -s "$HOST/connections.log" ] || fail "connections to the host's sockets: $(cat "$HOST/connections.log")"
if [ "$mode" = running ]; then
        for p in virtlogd:"$virtlogd_pid" libvirtd:"$libvirtd_pid"; do
                kill -0 "${p#*:}" 2>/dev/null || fail "the host's ${p%%:*} [${p#*:}] is gone"
                [ "$(pgrep -x "${p%%:*}" | tr '\n' ' ')" = "${p#*:} " ] || fail "${p%%:*} processes: $(pgrep -a -x "${p%%:*}")"
        done
else
        [ -z "$(pgrep -x 'libvirtd|virtlogd|virtlockd|virtqemud')" ] ||
                fail "libvirt daemons run on the stopped host: $(pgrep -a -x 'libvirtd|virtlogd|virtlockd|virtqemud')"
fi
[ "$(pgrep -f qemu-system | tr '\n' ' ')" = "${qemu_pid:+$qemu_pid }" ] ||
        fail "QEMU processes: $(pgrep -a -f qemu-system | cut -c1-80)"
for p in dbus-daemon polkitd vpc-guestosd; do
        [ -z "$(pgrep -x "$p")" ] || fail "left running: $(pgrep -a -x "$p")"
done

if [ "$mode" = stopped ]; then
        # The host starts its libvirtd again (systemd would hand it the sockets; here they are removed)
        # and finds its guest and domains as they were.
        kill "${pids[-1]}"
        for s in "${listen[@]}"; do rm -f "$s"; done
        /usr/sbin/virtlogd >>"$HOST/virtlogd.log" 2>&1 &
        pids+=($!)
        start_libvirtd
fi
domains >"$HOST/domains.after"
diff -u "$HOST/domains.before" "$HOST/domains.after" ||
        fail "the host's domains changed: $(diff "$HOST/domains.before" "$HOST/domains.after")"
live_xml >"$HOST/live.after"
diff -u "$HOST/live.before" "$HOST/live.after" || fail "the live definition of the host's guest changed"
want="host-off: shut off id - network: default"
got=$(grep -v '^host-vm' "$HOST/domains.after" | sed 's/ inactive-xml.*//' | tr '\n' ' ' | sed 's/ $//')
[ "$got" = "$want" ] || fail "the host's domains and networks: '$got', want '$want' ($(cat "$HOST/domains.after"))"
if [ "$mode" = running ]; then
        grep -q '^host-vm: running id 1 ' "$HOST/domains.after" || fail "the host's guest: $(grep '^host-vm' "$HOST/domains.after" || echo gone)"
        vpc_guest_users_are host-vm alice bob ||
                fail "the host's guest's users: $(virsh -c "$URI" qemu-agent-command host-vm '{"execute":"guest-get-users"}' 2>&1)"
else
        grep -q '^host-vm: shut off id - ' "$HOST/domains.after" || fail "the host's host-vm: $(grep '^host-vm' "$HOST/domains.after" || echo gone)"
fi

if [ "${#failures[@]}" -ne 0 ]; then
        say "${#failures[@]} failure(s):"
        printf '  - %s\n' "${failures[@]}"
        exit 1
fi
say "OK: the host's libvirt ($mode) is as it was"
