# The private test environment, sourced by tests/lib/with-env inside run-isolated's namespaces:
# a system-bus style dbus-daemon with the project's own policy, the real polkitd with the project's
# actions and rules, libvirtd with private state (test and QEMU drivers), test users, and the daemon
# (as its own user vpc-guestosd, which exists only in the environment's private /etc/passwd).
# Nothing on the host changes but empty mount points the libvirt packages would create anyway.
# A libvirt of the host's own (running, stopped, socket-activated, modular) is never read, reached or
# changed: see vpc_libvirt_dirs; tests/host proves it.

: "${VPC_SOURCE_ROOT:?VPC_SOURCE_ROOT must name the source tree}"
VPC_ALLOWED_USER=vpc-allowed      # member of group libvirt: 50-org.vpc.rules lets it log off
VPC_DENIED_USER=vpc-denied        # no group: polkit says no
VPC_OTHER_USER=vpc-other          # another unprivileged user, for Cancel of a foreign task
VPC_DAEMON_USER=vpc-guestosd      # the daemon's own system user (sysusers.d), as under its unit

vpc_log() { echo "env: $*" >&2; }

vpc_die() {
        echo "env: FATAL: $*" >&2
        exit 1
}

vpc_wait_for() {     # vpc_wait_for SECONDS COMMAND... — polls until COMMAND succeeds
        local deadline=$(( $(date +%s%N) / 1000000 + $1 * 1000 )); shift
        until "$@" >/dev/null 2>&1; do
                [ $(( $(date +%s%N) / 1000000 )) -lt "$deadline" ] || return 1
                sleep 0.05
        done
}

vpc_bus_has_name() {
        busctl call org.freedesktop.DBus /org/freedesktop/DBus org.freedesktop.DBus NameHasOwner s "$1" 2>/dev/null |
                grep -q true
}

vpc_bind() {         # vpc_bind SOURCE TARGET — the target (file or directory) must exist
        mount --bind "$1" "$2" || vpc_die "cannot bind $1 on $2"
}

vpc_setup_users() {
        local d=$VPC_ENV_DIR/etc
        mkdir -p "$d"
        cp /etc/passwd /etc/group /etc/shadow "$d/"
        # libvirt-qemu and kvm: the QEMU driver resolves its build-time default user before it reads
        # qemu.conf; the packages that create them (libvirt-daemon-system) are not installed.
        grep -q '^libvirt:' "$d/group" || echo "libvirt:x:30000:" >>"$d/group"
        # The allowed user joins group libvirt whether the host has that group (libvirt-daemon-system
        # or libvirt-dbus installed) or not.
        awk -F: -v OFS=: -v u="$VPC_ALLOWED_USER" '$1 == "libvirt" { $4 = $4 == "" ? u : $4 "," u } 1' \
                "$d/group" >"$d/group.new" && mv "$d/group.new" "$d/group"
        grep -q '^kvm:' "$d/group" || echo "kvm:x:30010:" >>"$d/group"
        grep -q '^libvirt-qemu:' "$d/group" || echo "libvirt-qemu:x:30011:" >>"$d/group"
        grep -q '^libvirt-qemu:' "$d/passwd" || echo "libvirt-qemu:x:30011:30011::/var/lib/libvirt:/usr/sbin/nologin" >>"$d/passwd"
        # The daemon's user, as sysusers.d/vpc-guestosd.conf creates it (kept if the host has it). Not in
        # group libvirt: the unit gives it that group (SupplementaryGroups=), vpc_daemon_start too.
        if ! grep -q "^$VPC_DAEMON_USER:" "$d/passwd"; then
                echo "$VPC_DAEMON_USER:x:30020:30020:vpc-guestosd guest logoff service:/:/usr/sbin/nologin" >>"$d/passwd"
                echo "$VPC_DAEMON_USER:!*:19000::::::" >>"$d/shadow"
        fi
        grep -q "^$VPC_DAEMON_USER:" "$d/group" || echo "$VPC_DAEMON_USER:x:30020:" >>"$d/group"
        local uid=30001 u
        for u in $VPC_ALLOWED_USER $VPC_DENIED_USER $VPC_OTHER_USER; do
                echo "$u:x:$uid:$uid::/nonexistent:/usr/sbin/nologin" >>"$d/passwd"
                echo "$u:x:$uid:" >>"$d/group"
                echo "$u:!:19000::::::" >>"$d/shadow"
                uid=$((uid + 1))
        done
        vpc_bind "$d/passwd" /etc/passwd
        vpc_bind "$d/group" /etc/group
        vpc_bind "$d/shadow" /etc/shadow
}

vpc_setup_polkit_files() {
        local actions=$VPC_ENV_DIR/polkit/actions rules=$VPC_ENV_DIR/polkit/rules.d
        mkdir -p "$actions" "$rules"
        cp /usr/share/polkit-1/actions/*.policy "$actions/" 2>/dev/null || true
        cp "$VPC_SOURCE_ROOT/polkit/org.vpc.policy" "$actions/"
        # VPC_POLICY_NO_OWNER: the policy as it was before the daemon had its own user, without the
        # owner annotation (tests/fault/daemon-user.py shows what that does).
        [ -z "${VPC_POLICY_NO_OWNER:-}" ] ||
                sed -i '/org.freedesktop.policykit.owner/d' "$actions/org.vpc.policy"
        # The site's example (50-org.vpc.rules) and the daemon's access to libvirtd.
        cp "$VPC_SOURCE_ROOT"/polkit/*.rules "$rules/"
        chmod 755 "$VPC_ENV_DIR/polkit" "$actions" "$rules"
        chmod 644 "$actions"/* "$rules"/*
        vpc_bind "$actions" /usr/share/polkit-1/actions
        vpc_bind "$rules" /etc/polkit-1/rules.d
        # polkitd reads /usr/share/polkit-1/rules.d too: the host's packages' rules (libvirt's, a
        # distribution's admin rules) would decide before or beside the project's. None of them.
        local none=$VPC_ENV_DIR/polkit/no-rules
        mkdir -p "$none"
        chmod 755 "$none"
        [ ! -d /usr/share/polkit-1/rules.d ] || vpc_bind "$none" /usr/share/polkit-1/rules.d
}

# VPC_BUS_EXTRA_POLICY may name one more policy file (bench/ lets its floor server and libvirt-dbus
# own their names with it).
# The limits are dbus-daemon's system-bus defaults (Debian's system.conf keeps them): one connection
# has at most 128 calls awaiting a reply, beyond that the bus answers LimitsExceeded itself. Only a
# test of the daemon's own per-sender quotas, which guard a bus whose limits an admin raised, raises
# them (VPC_BUS_MAX_REPLIES, VPC_BUS_MAX_CONNECTIONS_PER_USER).
vpc_write_bus_config() {
        cat >"$VPC_ENV_DIR/bus.conf" <<EOC
<!DOCTYPE busconfig PUBLIC "-//freedesktop//DTD D-Bus Bus Configuration 1.0//EN"
 "http://www.freedesktop.org/standards/dbus/1.0/busconfig.dtd">
<!-- A system bus of the tests' own, with the policy of Debian's system.conf. -->
<busconfig>
  <type>system</type>
  <listen>unix:path=$VPC_ENV_DIR/system_bus_socket</listen>
  <auth>EXTERNAL</auth>
  <policy context="default">
    <allow user="*"/>
    <deny own="*"/>
    <deny send_type="method_call"/>
    <allow send_type="signal"/>
    <allow send_requested_reply="true" send_type="method_return"/>
    <allow send_requested_reply="true" send_type="error"/>
    <allow receive_type="method_call"/>
    <allow receive_type="method_return"/>
    <allow receive_type="error"/>
    <allow receive_type="signal"/>
    <allow send_destination="org.freedesktop.DBus" send_interface="org.freedesktop.DBus"/>
    <allow send_destination="org.freedesktop.DBus" send_interface="org.freedesktop.DBus.Introspectable"/>
    <allow send_destination="org.freedesktop.DBus" send_interface="org.freedesktop.DBus.Properties"/>
    <allow send_destination="org.freedesktop.DBus" send_interface="org.freedesktop.DBus.Peer"/>
    <deny send_destination="org.freedesktop.DBus" send_interface="org.freedesktop.DBus" send_member="UpdateActivationEnvironment"/>
    <deny send_destination="org.freedesktop.DBus" send_interface="org.freedesktop.DBus.Debug.Stats"/>
    <deny send_destination="org.freedesktop.DBus" send_interface="org.freedesktop.systemd1.Activator"/>
  </policy>
  <policy user="root">
    <allow send_destination="org.freedesktop.DBus" send_interface="org.freedesktop.systemd1.Activator"/>
  </policy>
  <policy context="default">
    <allow send_destination="org.freedesktop.DBus" send_interface="org.freedesktop.DBus.Monitoring"/>
  </policy>
  <include>/usr/share/dbus-1/system.d/org.freedesktop.PolicyKit1.conf</include>
  <includedir>$VPC_SOURCE_ROOT/dbus-1/system.d</includedir>
${VPC_BUS_EXTRA_POLICY:+  <include>$VPC_BUS_EXTRA_POLICY</include>}
  <limit name="max_replies_per_connection">${VPC_BUS_MAX_REPLIES:-128}</limit>
  <limit name="max_connections_per_user">${VPC_BUS_MAX_CONNECTIONS_PER_USER:-256}</limit>
</busconfig>
EOC
}

vpc_dbus_start() {
        vpc_write_bus_config
        dbus-daemon --config-file="$VPC_ENV_DIR/bus.conf" --nofork --nopidfile \
                >"$VPC_ENV_DIR/dbus.log" 2>&1 &
        echo $! >"$VPC_ENV_DIR/dbus.pid"
        export DBUS_SYSTEM_BUS_ADDRESS="unix:path=$VPC_ENV_DIR/system_bus_socket"
        vpc_wait_for 10 busctl status --no-pager org.freedesktop.DBus || vpc_die "dbus-daemon did not start: $(cat "$VPC_ENV_DIR/dbus.log")"
        chmod 755 "$VPC_ENV_DIR"
        chmod 666 "$VPC_ENV_DIR/system_bus_socket"
}

vpc_polkitd_start() {
        # Started as root, polkitd switches to its own user itself (as under polkit.service); it
        # reads the actions and rules bound above. Not --no-debug: that sends its own log lines (the
        # rule engine's "Terminating runaway script", docs/security.md) to /dev/null.
        /usr/lib/polkit-1/polkitd >>"$VPC_ENV_DIR/polkitd.log" 2>&1 &
        echo $! >"$VPC_ENV_DIR/polkitd.pid"
        vpc_wait_for 10 vpc_bus_has_name org.freedesktop.PolicyKit1 ||
                vpc_die "polkitd did not take its name: $(tail -5 "$VPC_ENV_DIR/polkitd.log")"
}

vpc_polkitd_stop() {
        local pid
        pid=$(cat "$VPC_ENV_DIR/polkitd.pid" 2>/dev/null) || return 0
        kill "$pid" 2>/dev/null || true
        vpc_wait_for 10 bash -c "! kill -0 $pid" || kill -9 "$pid" 2>/dev/null || true
        vpc_wait_for 5 bash -c '! busctl call org.freedesktop.DBus /org/freedesktop/DBus org.freedesktop.DBus NameHasOwner s org.freedesktop.PolicyKit1 | grep -q true'
        rm -f "$VPC_ENV_DIR/polkitd.pid"
}

# The private libvirt. libvirtd reads its configuration (and domains, networks, hooks) from
# /etc/libvirt, keeps state in /var/lib/libvirt, /var/cache/libvirt and /run/libvirt, logs to
# /var/log/libvirt, writes /run/libvirtd.pid, and finds virtlogd and virtlockd by their sockets in
# /run/libvirt; clients (virsh, the daemon's --connect) pick /run/libvirt/libvirt-sock, or a modular
# daemon's /run/libvirt/virtqemud-sock if that exists, and read /etc/libvirt/libvirt.conf (root) or
# $XDG_CONFIG_HOME/libvirt. A virtualization host has all of these, whether its libvirtd runs, has
# run, or waits behind systemd's sockets: every one of them is private here, set up once per
# environment (the first vpc_libvirtd_start) and checked on every later start (envctl restarts
# libvirtd within the same environment and must find its domains again). Never decided by what the
# host has: a /run/libvirt of the host's says nothing about this environment.
VPC_LIBVIRT_DIRS="lib:/var/lib/libvirt cache:/var/cache/libvirt log:/var/log/libvirt etc:/etc/libvirt"

vpc_libvirt_fingerprint() {   # this mount namespace and what is mounted on each private location
        local p
        readlink /proc/self/ns/mnt
        stat -c '/run %d:%i' /run
        for p in $VPC_LIBVIRT_DIRS; do
                stat -c "${p#*:} %d:%i" "${p#*:}"
        done
}

vpc_libvirt_private() {       # true if this process sees the environment's private libvirt
        [ -n "${VPC_ENV_DIR:-}" ] && [ -f "$VPC_ENV_DIR/libvirt/private" ] &&
                [ "$(vpc_libvirt_fingerprint 2>/dev/null)" = "$(cat "$VPC_ENV_DIR/libvirt/private")" ]
}

vpc_libvirt_dirs() {
        local base=$VPC_ENV_DIR/libvirt p
        if [ -f "$base/private" ]; then
                vpc_libvirt_private || vpc_die "the private libvirt directories of $VPC_ENV_DIR are not mounted here (another namespace?)"
                return 0
        fi
        # /run is private to the namespace (libvirt's sockets and pidfiles, those of the host's
        # libvirtd, virtlogd, virtlockd and virtqemud included, are out of sight); the other
        # locations get a private directory bound on them.
        mount -t tmpfs -o mode=755 tmpfs /run || vpc_die "cannot mount a private /run"
        # libvirt's clients look in /var/run/libvirt (LOCALSTATEDIR/run), its daemons in /run/libvirt:
        # the same place only where /var/run is a link to /run (as on Debian).
        [ "$(readlink -f /var/run)" = /run ] || vpc_bind /run /var/run
        for p in $VPC_LIBVIRT_DIRS; do
                mkdir -p "$base/${p%%:*}" "${p#*:}"
                vpc_bind "$base/${p%%:*}" "${p#*:}"
        done
        cat >/etc/libvirt/libvirtd.conf <<EOC
# Debian's own read-write socket: group libvirt, and polkit (org.libvirt.unix.manage) decides for
# whoever is not root; the daemon's user gets in through 60-vpc-guestosd-libvirt.rules. No read-only
# socket for anyone but root.
unix_sock_group = "libvirt"
unix_sock_ro_perms = "0700"
unix_sock_rw_perms = "0770"
auth_unix_ro = "none"
auth_unix_rw = "polkit"
log_outputs = "3:stderr"
EOC
        cat >/etc/libvirt/qemu.conf <<EOC
# QEMU as root without per-VM namespaces, cgroups or virtlogd: nothing of that exists here.
user = "root"
group = "root"
dynamic_ownership = 0
remember_owner = 0
security_driver = "none"
stdio_handler = "file"
namespaces = []
cgroup_controllers = []
EOC
        cat >/etc/libvirt/libvirt.conf <<EOC
# The clients' configuration (root's): the libvirtd of this environment, by its legacy socket; no
# default URI, no aliases.
remote_mode = "legacy"
EOC
        vpc_libvirt_fingerprint >"$base/private"
}

# A URI the environment's clients may be given: a local one, which reaches the private libvirtd's
# socket in the private /run (no host name, no other transport, no socket= or other parameters).
vpc_libvirt_uri_check() {
        [[ $1 =~ ^(qemu|test)(\+unix)?:///[^?#]*$ ]] ||
                vpc_die "libvirt URI '$1' could reach another libvirtd than the environment's own"
}

vpc_libvirtd_start() {
        local pid
        vpc_libvirt_dirs
        # Not the sockets or the notification socket of a systemd unit the tests may run under.
        env -u NOTIFY_SOCKET -u LISTEN_FDS -u LISTEN_PID -u LISTEN_FDNAMES \
                /usr/sbin/libvirtd --config /etc/libvirt/libvirtd.conf >>"$VPC_ENV_DIR/libvirtd.log" 2>&1 &
        pid=$!
        echo "$pid" >"$VPC_ENV_DIR/libvirtd.pid"
        # Ready when it answers; a libvirtd that exited (e.g. it found its pidfile locked) fails at
        # once, whoever else might answer.
        if ! vpc_wait_for 30 bash -c "! kill -0 $pid || virsh -c test+unix:///default version" ||
                ! kill -0 "$pid" 2>/dev/null; then
                vpc_die "libvirtd did not start: $(tail -5 "$VPC_ENV_DIR/libvirtd.log")"
        fi
        # libvirtd's test:///default lives only while someone is connected to it: hold one
        # connection for the environment's life, so domains survive the daemon's restarts. It must be
        # connected before anything is defined: a domain defined while no other client is connected
        # goes with the virsh that defined it (under load the first file, db.prod-2, was lost so).
        # The holder prints its URI once connected. VPC_TEST_HOLDER_DELAY (seconds) holds it back,
        # for tests/integration/test-driver-holder.sh.
        (sleep "${VPC_TEST_HOLDER_DELAY:-0}"; (echo uri; exec sleep infinity) | virsh -c test+unix:///default) \
                >"$VPC_ENV_DIR/test-driver-holder.out" 2>&1 &
        echo $! >"$VPC_ENV_DIR/test-driver-holder.pid"
        vpc_wait_for 30 grep -qx 'test+unix:///default' "$VPC_ENV_DIR/test-driver-holder.out" ||
                vpc_die "the test driver's holder did not connect: $(tail -3 "$VPC_ENV_DIR/test-driver-holder.out")"
}

vpc_libvirtd_stop() {
        local pid
        kill "$(cat "$VPC_ENV_DIR/test-driver-holder.pid" 2>/dev/null)" 2>/dev/null || true
        pid=$(cat "$VPC_ENV_DIR/libvirtd.pid" 2>/dev/null) || return 0
        kill "$pid" 2>/dev/null || true
        vpc_wait_for 20 bash -c "! kill -0 $pid" || kill -9 "$pid" 2>/dev/null || true
        rm -f "$VPC_ENV_DIR/libvirtd.pid"
}

# The test driver's domains used by the integration tests, in their states.
vpc_domains_populate() {
        local uri=$1 xml
        for xml in "$VPC_SOURCE_ROOT"/tests/data/domain-*.xml; do
                virsh -q -c "$uri" define "$xml" >/dev/null || vpc_die "cannot define $xml"
        done
        virsh -q -c "$uri" start "web server 01" >/dev/null || vpc_die "cannot start 'web server 01'"
        virsh -q -c "$uri" start "ünïcode-vm" >/dev/null || vpc_die "cannot start 'ünïcode-vm'"
        virsh -q -c "$uri" start "paused-vm" >/dev/null || vpc_die "cannot start 'paused-vm'"
        virsh -q -c "$uri" suspend "paused-vm" >/dev/null || vpc_die "cannot suspend 'paused-vm'"
        # test:///default comes with a running domain "test"; it stays, one more running VM.
}

vpc_daemon_start() {
        : "${VPC_GUESTOSD:?VPC_GUESTOSD must name the daemon binary}"
        : "${VPC_LIBVIRT_URI:?VPC_LIBVIRT_URI must be set}"
        vpc_libvirt_uri_check "$VPC_LIBVIRT_URI"
        # Not root, libvirt's client takes test+unix:/// for a libvirtd of the user's own (and would
        # start one): the test driver of the private libvirtd is named by its socket.
        local uri=$VPC_LIBVIRT_URI
        [[ $uri != test+unix:* ]] || uri+="?socket=/run/libvirt/libvirt-sock"
        export VPC_DAEMON_URI=$uri     # what the daemon shows as HypervisorURI
        rm -f "$VPC_ENV_DIR/daemon.status"
        vpc_daemon_runtime_dir
        # The daemon runs as its own user with group libvirt, as under its unit (the bus policy lets
        # no one else own org.vpc); what it runs must be reachable by that user.
        local as=(setpriv --reuid="$VPC_DAEMON_USER" --regid="$VPC_DAEMON_USER" --groups=libvirt --)
        "${as[@]}" test -x "$VPC_GUESTOSD" ||
                vpc_die "$VPC_DAEMON_USER cannot run $VPC_GUESTOSD (a directory on its way not readable by others?)"
        # A small keeper waits for the daemon and records its exit status, so a test can read it
        # even when a different process (envctl) started it.
        (
                RUNTIME_DIRECTORY=$VPC_ENV_DIR/run-vpc-guestosd \
                        "${as[@]}" ${VPC_DAEMON_WRAPPER:-} "$VPC_GUESTOSD" --connect "$uri" "$@" &
                echo $! >"$VPC_ENV_DIR/daemon.pid"
                wait $! && rc=0 || rc=$?
                echo "$rc" >"$VPC_ENV_DIR/daemon.status"
                # scripts/test-all.d/10-sanitizers collects every run's status (a sanitizer's or
                # valgrind's exit code, a crash) across tests whose environments are gone.
                [ -z "${VPC_DAEMON_STATUS_LOG:-}" ] || echo "$rc $VPC_ENV_DIR" >>"$VPC_DAEMON_STATUS_LOG"
        ) >>"$VPC_ENV_DIR/daemon.log" 2>&1 &
        vpc_wait_for 5 test -s "$VPC_ENV_DIR/daemon.pid" || vpc_die "the daemon did not start"
        if ! vpc_wait_for "${VPC_DAEMON_START_TIMEOUT:-20}" vpc_bus_has_name org.vpc; then
                echo "env: the daemon did not take org.vpc; its log:" >&2
                tail -20 "$VPC_ENV_DIR/daemon.log" >&2
                return 1
        fi
}

# The daemon's runtime directory, as systemd makes it for RuntimeDirectory= (owned by the daemon's
# user, 0755), kept across the daemon's restarts within one environment (RuntimeDirectoryPreserve=).
vpc_daemon_runtime_dir() {
        local d=$VPC_ENV_DIR/run-vpc-guestosd
        [ -d "$d" ] || mkdir -m 0755 "$d"
        chown "$VPC_DAEMON_USER:$VPC_DAEMON_USER" "$d"
}

vpc_daemon_stop() {     # prints the daemon's exit status
        local pid
        pid=$(cat "$VPC_ENV_DIR/daemon.pid" 2>/dev/null) || { echo none; return 0; }
        kill -TERM "$pid" 2>/dev/null || true
        if ! vpc_wait_for "${VPC_DAEMON_STOP_TIMEOUT:-30}" test -s "$VPC_ENV_DIR/daemon.status"; then
                kill -9 "$pid" 2>/dev/null || true
                vpc_wait_for 5 test -s "$VPC_ENV_DIR/daemon.status"
                echo "killed"
        else
                cat "$VPC_ENV_DIR/daemon.status"
        fi
        rm -f "$VPC_ENV_DIR/daemon.pid"
}

vpc_as() {             # vpc_as USER COMMAND... — runs COMMAND as USER on the private bus
        local user=$1; shift
        setpriv --reuid="$user" --regid="$user" --init-groups -- \
                env -i PATH=/usr/bin:/bin HOME=/ DBUS_SYSTEM_BUS_ADDRESS="$DBUS_SYSTEM_BUS_ADDRESS" "$@"
}

vpc_env_stop() {
        local rc=$?
        [ -n "${VPC_ENV_DIR:-}" ] || return "$rc"
        [ -f "$VPC_ENV_DIR/daemon.pid" ] && vpc_daemon_stop >/dev/null
        # Only ever the private libvirtd's domains (if it never came up, there are none to remove).
        ! vpc_libvirt_private || vpc_guests_destroy
        vpc_libvirtd_stop
        vpc_polkitd_stop
        kill "$(cat "$VPC_ENV_DIR/dbus.pid" 2>/dev/null)" 2>/dev/null || true
        if [ "$rc" -ne 0 ] || [ -n "${VPC_ENV_VERBOSE:-}" ]; then
                local f
                for f in daemon.log polkitd.log libvirtd.log dbus.log $(cd "$VPC_ENV_DIR" && ls guest-*.console 2>/dev/null); do
                        [ -s "$VPC_ENV_DIR/$f" ] || continue
                        echo "---- last lines of $f ----" >&2
                        tail -n 25 "$VPC_ENV_DIR/$f" >&2
                done
        fi
        # VPC_ENV_LOGS_ON_FAILURE=DIR: a failing run's logs survive the environment, in DIR/vpc-env.*.
        if [ "$rc" -ne 0 ] && [ -n "${VPC_ENV_LOGS_ON_FAILURE:-}" ]; then
                local keep=$VPC_ENV_LOGS_ON_FAILURE/${VPC_ENV_DIR##*/}
                mkdir -p "$keep" && cp "$VPC_ENV_DIR"/*.log "$keep/" 2>/dev/null || true
        fi
        [ -n "${VPC_KEEP_ENV:-}" ] || rm -rf "$VPC_ENV_DIR"
        return "$rc"
}

vpc_env_start() {
        [ "$$" -eq 1 ] || [ -n "${VPC_ENV_NO_NAMESPACE_CHECK:-}" ] ||
                vpc_die "run inside tests/lib/run-isolated (PID namespace), not on the host"
        VPC_ENV_DIR=$(mktemp -d /tmp/vpc-env.XXXXXX)
        export VPC_ENV_DIR VPC_ALLOWED_USER VPC_DENIED_USER VPC_OTHER_USER VPC_DAEMON_USER
        trap vpc_env_stop EXIT
        # libvirt's clients also take a URI, credentials and (non-root) a configuration from the
        # environment and the XDG directories: none of the host's.
        unset LIBVIRT_DEFAULT_URI VIRSH_DEFAULT_CONNECT_URI LIBVIRT_ADMIN_DEFAULT_URI LIBVIRT_AUTH_FILE
        mkdir -p "$VPC_ENV_DIR/xdg/config" "$VPC_ENV_DIR/xdg/cache" "$VPC_ENV_DIR/xdg/runtime"
        chmod 700 "$VPC_ENV_DIR/xdg/runtime"
        export XDG_CONFIG_HOME=$VPC_ENV_DIR/xdg/config XDG_CACHE_HOME=$VPC_ENV_DIR/xdg/cache \
                XDG_RUNTIME_DIR=$VPC_ENV_DIR/xdg/runtime
        vpc_setup_users
        vpc_setup_polkit_files
        vpc_dbus_start
        vpc_polkitd_start
}

# Real QEMU guests (vpc_guest_image, vpc_guest_start, ...): see the comment at the top of guest.sh.
# shellcheck source=guest.sh
. "$VPC_SOURCE_ROOT/tests/lib/guest.sh"
