#!/usr/bin/env bash
# The environment's hold on libvirtd's test:///default connects late (VPC_TEST_HOLDER_DELAY, set by
# tests/integration/meson.build): every domain of tests/data is still defined, and the daemon lists
# each. Before env.sh waited for the holder, the first domain defined (db.prod-2) was lost whenever
# the holder connected after it, and the daemon answered VmUnknown for it.
set -euo pipefail
fail=0
want=$(sed -n 's:^ *<name>\(.*\)</name>.*:\1:p' "$VPC_SOURCE_ROOT"/tests/data/domain-*.xml | sort)
have=$(virsh -q -c test+unix:///default list --all --name | sed '/^$/d' | sort)
listed=$(busctl --json=short call org.vpc /org/vpc org.vpc.Manager ListGuestOS)
while IFS= read -r name; do
        if grep -qxF -- "$name" <<<"$have"; then
                echo "ok - libvirt has '$name'"
        else
                echo "not ok - libvirt has '$name'"; fail=1
        fi
        if grep -qF -- "\"$name\"" <<<"$listed"; then
                echo "ok - the daemon lists '$name'"
        else
                echo "not ok - the daemon lists '$name'"; fail=1
        fi
done <<<"$want"
exit "$fail"
