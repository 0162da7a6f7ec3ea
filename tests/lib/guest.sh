# Real QEMU guests for the end-to-end tests, sourced by tests/lib/env.sh (so with-env, envctl and
# any script that sources env.sh have these functions). Guests run under the private libvirtd's QEMU
# driver (qemu:///system through the libvirtd env.sh starts; TCG, direct kernel boot).
#
# Interface (for reuse: e2e tests, vpcctl, fault injection, benchmarks):
#
#   Tiers: VPC_GUEST_TIER (read by every function below at the time of the call) chooses the guest:
#     busybox (default): tests/guest/build-image.sh, busybox as init, users logged in by our own
#       session leader (tests/guest/rootfs); 1 vCPU, 256 MiB; tests/data/guest-domain.xml.in.
#     systemd: tests/guest/build-systemd-image.sh, Debian 12 with systemd as PID 1, logind, udev,
#       dbus, sshd, users logged in through PAM (/etc/vpc-login, tests/guest/systemd); 2 vCPUs,
#       512 MiB; tests/data/guest-domain-systemd.xml.in. User dave lingers (his own service runs).
#
#   vpc_guest_image
#       Builds the tier's guest image if its inputs changed, else reuses it; sets VPC_GUEST_IMAGE to
#       its directory (busybox: vmlinuz, initrd.img; systemd: vmlinux, initrd.img). Cache:
#       $VPC_GUEST_CACHE, default tests/guest/cache (git-ignored), the systemd tier in its systemd/
#       subdirectory with its own stamp and lock. Safe when several tests call it at once (flock).
#       Needs the Debian mirrors only when the cache is cold or stale.
#
#   vpc_guest_start NAME [USERS [STUBBORN]]
#       Defines and starts the domain NAME from tests/data/guest-domain.xml.in (guest-agent channel
#       org.qemu.guest_agent.0, serial console to $VPC_ENV_DIR/guest-NAME.console) and waits until
#       its qemu-ga answers guest-get-users with every user named. USERS and STUBBORN are
#       comma-separated user names of the guest (alice, bob, carol, dave exist; see
#       tests/guest/rootfs/passwd; root too on the systemd tier): USERS log in with ordinary sessions,
#       STUBBORN with sessions whose processes ignore SIGHUP and SIGTERM. Defaults: USERS=alice,bob,
#       STUBBORN empty. On the systemd tier the users log in through the agent once it answers
#       (/etc/vpc-login, one after the other, each returning once its session is fully open).
#       Needs libvirtd (vpc_libvirtd_start). Several guests with different names may run at once
#       (each ~256 MiB, 512 MiB on the systemd tier; start them one after the other or in the
#       background with &; vpc_guest_start is safe to run in parallel for different names). Returns
#       non-zero with the console's tail on stderr if the guest's agent does not list the users
#       within $VPC_GUEST_BOOT_TIMEOUT s (default 180; on the systemd tier the wait for the agent
#       to answer at all, default 300). Prints nothing on stdout; logs the boot-to-agent time on
#       stderr.
#
#   vpc_guest_login NAME USER TTY [MODE]
#       Logs USER in on TTY (pts/N) through the guest's /etc/vpc-login and waits until it is done.
#
#   vpc_guest_wait_users NAME SECONDS USER...
#       Waits until guest-get-users of NAME lists exactly the given users (none: an empty list).
#
#   vpc_guest_destroy NAME / vpc_guests_destroy
#       Destroys and undefines one guest / every guest vpc_guest_start started in this environment.
#       vpc_env_stop calls vpc_guests_destroy.
#
#   Remote console: with VPC_GUEST_VNC=1 (with-env --vnc; off by default) the busybox tier's domain
#   also gets <graphics type='vnc' socket='$VPC_ENV_DIR/guest-NAME.vnc'/>, a VNC server on a UNIX
#   socket of the environment's own, so tests can drive console clients (tests/lib/vpcrfb.py) and
#   libvirt emits graphics events for them.
#
# Variables: VPC_GUEST_URI (qemu:///system), VPC_GUEST_IMAGE (set by vpc_guest_image), VPC_GUEST_VNC.
# with-env --guest NAME[:USERS[:STUBBORN]] (repeatable) wraps vpc_guest_start.

VPC_GUEST_URI=${VPC_GUEST_URI:-qemu:///system}

vpc_guest_tier() {          # the tier asked for, or a fatal error for an unknown one
        case ${VPC_GUEST_TIER:-busybox} in
        busybox | systemd) echo "${VPC_GUEST_TIER:-busybox}" ;;
        *) vpc_die "unknown guest tier '$VPC_GUEST_TIER' (busybox or systemd)" ;;
        esac
}

vpc_guest_image() {
        local cache=${VPC_GUEST_CACHE:-$VPC_SOURCE_ROOT/tests/guest/cache} builder=build-image.sh tier
        tier=$(vpc_guest_tier) || exit 1
        if [ "$tier" = systemd ]; then
                cache=$cache/systemd builder=build-systemd-image.sh
        fi
        mkdir -p "$cache" || vpc_die "cannot create the guest cache $cache"
        # One builder at a time; the others wait and then find the image up to date.
        (
                flock 9 || exit 1
                "$VPC_SOURCE_ROOT/tests/guest/$builder" "$cache" >&2
        ) 9>"$cache/.lock" || vpc_die "cannot build the guest image (tests/guest/$builder $cache)"
        VPC_GUEST_IMAGE=$cache
        export VPC_GUEST_IMAGE
}

# vpc_guest_login NAME USER TTY [MODE] — runs the guest's /etc/vpc-login (either tier) through the
# agent and waits for it: on the systemd tier it returns once the session is fully open (MODE plain,
# stubborn, closing or ssh; see tests/guest/systemd/vpc-login), on busybox's once the user is logged
# in (MODE stubborn or none).
vpc_guest_login() {
        local name=$1 pid st i
        pid=$(virsh -c "$VPC_GUEST_URI" qemu-agent-command --timeout 10 "$name" \
                "$(python3 -c 'import json, sys; print(json.dumps({"execute": "guest-exec", "arguments": {
                        "path": "/etc/vpc-login", "arg": sys.argv[1:], "capture-output": True}}))' "${@:2}")" |
                python3 -c 'import json, sys; print(json.load(sys.stdin)["return"]["pid"])') || return 1
        for ((i = 0; i < 1200; i++)); do
                st=$(virsh -c "$VPC_GUEST_URI" qemu-agent-command --timeout 10 "$name" \
                        "{\"execute\":\"guest-exec-status\",\"arguments\":{\"pid\":$pid}}") || return 1
                case $st in
                *'"exited":true'*)
                        [[ $st == *'"exitcode":0'* ]] && return 0
                        echo "env: guest $name: vpc-login ${*:2} failed: $(python3 -c 'import base64, json, sys
print(base64.b64decode(json.load(sys.stdin)["return"].get("err-data", "")).decode(errors="replace"))' <<<"$st")" >&2
                        return 1 ;;
                esac
                sleep 0.1
        done
        return 1
}

vpc_guest_users_are() {     # vpc_guest_users_are NAME USER... — guest-get-users lists exactly these
        local name=$1 want got; shift
        want=$(printf '%s\n' "$@" | sed '/^$/d' | sort -u | tr '\n' ' ')
        got=$(virsh -c "$VPC_GUEST_URI" qemu-agent-command --timeout 5 "$name" '{"execute":"guest-get-users"}' 2>/dev/null |
                python3 -c 'import json, sys; print("\n".join(u["user"] for u in json.load(sys.stdin)["return"]))' 2>/dev/null) ||
                return 1
        got=$(printf '%s\n' "$got" | sed '/^$/d' | sort -u | tr '\n' ' ')
        [ "$got" = "$want" ]
}

vpc_guest_wait_users() {    # vpc_guest_wait_users NAME SECONDS USER...
        local name=$1 seconds=$2; shift 2
        vpc_wait_for "$seconds" vpc_guest_users_are "$name" "$@"
}

vpc_guest_start() {         # vpc_guest_start NAME [USERS [STUBBORN]]
        local name=$1 users=${2-alice,bob} stubborn=${3-} xml console uuid t0 t1 cmdline tier graphics=
        local kernel=vmlinuz template=guest-domain.xml.in
        tier=$(vpc_guest_tier) || exit 1
        cmdline="console=ttyS0 quiet panic=-1 vpc.users=$users vpc.stubborn=$stubborn"
        if [ "$tier" = systemd ]; then
                kernel=vmlinux template=guest-domain-systemd.xml.in
                cmdline="console=ttyS0 quiet panic=-1 systemd.show_status=false"
        fi
        # The image of this call's tier (VPC_GUEST_IMAGE may name the other tier's).
        [ -s "${VPC_GUEST_IMAGE:-/nonexistent}/$kernel" ] || vpc_guest_image
        xml=$VPC_ENV_DIR/guest-$name.xml
        console=$VPC_ENV_DIR/guest-$name.console
        uuid=$(cat /proc/sys/kernel/random/uuid)
        : >"$console"
        [ "${VPC_GUEST_VNC:-0}" != 1 ] || graphics="<graphics type='vnc' socket='$VPC_ENV_DIR/guest-$name.vnc'/>"
        sed -e "s|@NAME@|$name|; s|@UUID@|$uuid|; s|@KERNEL@|$VPC_GUEST_IMAGE/$kernel|" \
                -e "s|@INITRD@|$VPC_GUEST_IMAGE/initrd.img|; s|@CMDLINE@|$cmdline|; s|@CONSOLE_LOG@|$console|; s|@GRAPHICS@|$graphics|" \
                "$VPC_SOURCE_ROOT/tests/data/$template" >"$xml"
        virsh -q -c "$VPC_GUEST_URI" define "$xml" >/dev/null || vpc_die "cannot define guest $name"
        echo "$name" >>"$VPC_ENV_DIR/guests"
        t0=$(date +%s%N)
        virsh -q -c "$VPC_GUEST_URI" start "$name" >/dev/null || vpc_die "cannot start guest $name"
        if [ "$tier" = systemd ]; then
                # Users log in once the agent answers (it lists nobody yet), through PAM.
                # systemd under TCG boots in ~20 s alone, but in minutes beside other guests.
                if ! vpc_guest_wait_users "$name" "${VPC_GUEST_BOOT_TIMEOUT:-300}"; then
                        echo "env: guest $name: its agent did not answer; console:" >&2
                        tail -n 30 "$console" >&2
                        return 1
                fi
                t1=$(date +%s%N)
                vpc_log "guest $name: agent answers $(( (t1 - t0) / 1000000 )) ms after start"
                local u n=1
                for u in ${users//,/ }; do
                        vpc_guest_login "$name" "$u" "pts/$n" >/dev/null || return 1
                        n=$((n + 1))
                done
                for u in ${stubborn//,/ }; do
                        vpc_guest_login "$name" "$u" "pts/$n" stubborn >/dev/null || return 1
                        n=$((n + 1))
                done
        fi
        # shellcheck disable=SC2046
        if ! vpc_guest_wait_users "$name" "${VPC_GUEST_BOOT_TIMEOUT:-180}" $(echo "$users,$stubborn" | tr ',' ' '); then
                echo "env: guest $name: its agent did not list $users${stubborn:+,$stubborn}; console:" >&2
                tail -n 30 "$console" >&2
                return 1
        fi
        t1=$(date +%s%N)
        vpc_log "guest $name: agent lists its users $(( (t1 - t0) / 1000000 )) ms after start"
}

vpc_guest_destroy() {
        virsh -q -c "$VPC_GUEST_URI" destroy "$1" >/dev/null 2>&1 || true
        virsh -q -c "$VPC_GUEST_URI" undefine "$1" >/dev/null 2>&1 || true
}

vpc_guests_destroy() {
        local name
        [ -f "$VPC_ENV_DIR/guests" ] || return 0
        [ -f "$VPC_ENV_DIR/libvirtd.pid" ] || return 0
        while read -r name; do
                vpc_guest_destroy "$name"
        done <"$VPC_ENV_DIR/guests"
        rm -f "$VPC_ENV_DIR/guests"
}
