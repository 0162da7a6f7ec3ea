#!/usr/bin/env bash
# The systemd unit's sandbox does not regress: systemd-analyze security --offline rates the built
# vpc-guestosd.service at most MAX (0.3 since it runs as its own user, 0.6 as root before;
# docs/security.md), and the settings the service's threat model relies on are there. Argument: the configured unit, MAX.
set -euo pipefail
unit=$1 max=$2
out=$(systemd-analyze security --offline=true "$unit" 2>&1) || true
exposure=$(sed -n 's/.*Overall exposure level for vpc-guestosd.service: \([0-9.]*\).*/\1/p' <<<"$out")
echo "exposure: ${exposure:-?} (at most $max)"
grep '✗' <<<"$out" || true
fail=0
if [ -z "$exposure" ] || ! awk -v e="$exposure" -v m="$max" 'BEGIN { exit !(e <= m) }'; then
        echo "FAIL - exposure ${exposure:-?} is above $max"
        fail=1
fi
for setting in RestrictAddressFamilies=AF_UNIX PrivateNetwork=yes NoNewPrivileges=yes CapabilityBoundingSet= \
                ProtectSystem=strict PrivateUsers=yes IPAddressDeny=any SystemCallFilter=~@privileged \
                User=vpc-guestosd SupplementaryGroups=libvirt; do
        if grep -qx "$setting" "$unit"; then
                echo "ok - $setting"
        else
                echo "FAIL - $setting missing"
                fail=1
        fi
done
exit "$fail"
