# Real QEMU guests for the end-to-end tests, sourced by tests/lib/env.sh (so with-env, envctl and
# any script that sources env.sh have these functions). Guests run under the private libvirtd's QEMU
# driver (qemu:///system through the libvirtd env.sh starts; TCG, direct kernel boot).
#
# Interface (for reuse: e2e tests, vpcctl, fault injection, benchmarks):
#
#   vpc_guest_image
#       Builds the guest image (tests/guest/build-image.sh) if its inputs changed, else reuses it;
#       sets VPC_GUEST_IMAGE to its directory (vmlinuz, initrd.img). Cache: $VPC_GUEST_CACHE, default
#       tests/guest/cache (git-ignored). Safe when several tests call it at once (flock).
#       Needs the Debian mirrors only when the cache is cold or stale.
#
#   vpc_guest_start NAME [USERS [STUBBORN]]
#       Defines and starts the domain NAME from tests/data/guest-domain.xml.in (guest-agent channel
#       org.qemu.guest_agent.0, serial console to $VPC_ENV_DIR/guest-NAME.console) and waits until
#       its qemu-ga answers guest-get-users with every user named. USERS and STUBBORN are
#       comma-separated user names of the guest (alice, bob, carol, dave exist; see
#       tests/guest/rootfs/passwd): USERS log in with ordinary sessions, STUBBORN with sessions whose
#       processes ignore SIGHUP and SIGTERM. Defaults: USERS=alice,bob, STUBBORN empty.
#       Needs libvirtd (vpc_libvirtd_start). Several guests with different names may run at once
#       (each ~256 MiB; start them one after the other or in the background with &; vpc_guest_start
#       is safe to run in parallel for different names). Returns non-zero with the console's tail
#       on stderr if the guest's agent does not list the users within $VPC_GUEST_BOOT_TIMEOUT s
#       (default 180). Prints nothing on stdout; logs the boot-to-agent time on stderr.
#
#   vpc_guest_wait_users NAME SECONDS USER...
#       Waits until guest-get-users of NAME lists exactly the given users (none: an empty list).
#
#   vpc_guest_destroy NAME / vpc_guests_destroy
#       Destroys and undefines one guest / every guest vpc_guest_start started in this environment.
#       vpc_env_stop calls vpc_guests_destroy.
#
# Variables: VPC_GUEST_URI (qemu:///system), VPC_GUEST_IMAGE (set by vpc_guest_image).
# with-env --guest NAME[:USERS[:STUBBORN]] (repeatable) wraps vpc_guest_start.

VPC_GUEST_URI=${VPC_GUEST_URI:-qemu:///system}

vpc_guest_image() {
        local cache=${VPC_GUEST_CACHE:-$VPC_SOURCE_ROOT/tests/guest/cache}
        mkdir -p "$cache" || vpc_die "cannot create the guest cache $cache"
        # One builder at a time; the others wait and then find the image up to date.
        (
                flock 9 || exit 1
                "$VPC_SOURCE_ROOT/tests/guest/build-image.sh" "$cache" >&2
        ) 9>"$cache/.lock" || vpc_die "cannot build the guest image (tests/guest/build-image.sh $cache)"
        VPC_GUEST_IMAGE=$cache
        export VPC_GUEST_IMAGE
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
        local name=$1 users=${2-alice,bob} stubborn=${3-} xml console uuid t0 t1 cmdline
        [ -n "${VPC_GUEST_IMAGE:-}" ] || vpc_guest_image
        xml=$VPC_ENV_DIR/guest-$name.xml
        console=$VPC_ENV_DIR/guest-$name.console
        uuid=$(cat /proc/sys/kernel/random/uuid)
        cmdline="console=ttyS0 quiet panic=-1 vpc.users=$users vpc.stubborn=$stubborn"
        : >"$console"
        sed -e "s|@NAME@|$name|; s|@UUID@|$uuid|; s|@KERNEL@|$VPC_GUEST_IMAGE/vmlinuz|" \
                -e "s|@INITRD@|$VPC_GUEST_IMAGE/initrd.img|; s|@CMDLINE@|$cmdline|; s|@CONSOLE_LOG@|$console|" \
                "$VPC_SOURCE_ROOT/tests/data/guest-domain.xml.in" >"$xml"
        virsh -q -c "$VPC_GUEST_URI" define "$xml" >/dev/null || vpc_die "cannot define guest $name"
        echo "$name" >>"$VPC_ENV_DIR/guests"
        t0=$(date +%s%N)
        virsh -q -c "$VPC_GUEST_URI" start "$name" >/dev/null || vpc_die "cannot start guest $name"
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
