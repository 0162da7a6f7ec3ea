#!/usr/bin/env bash
# Qt's qdbusxml2cpp takes introspection/*.xml as they are (the proxies and adaptors a KDE/Qt client
# generates), with the Qt type names of the annotations for a(sso) and a(sst): without them it refuses
# the files ("Got unknown type"). Usage: test-qt-bindings.sh QDBUSXML2CPP INTROSPECTION_DIR
set -euo pipefail
qdbusxml2cpp=$1 dir=$2
out=$(mktemp -d)
trap 'rm -rf "$out"' EXIT
failed=0

for xml in "$dir"/org.vpc.*.xml; do
        name=$(basename "$xml" .xml)
        for kind in p a; do
                if ! "$qdbusxml2cpp" -$kind "$out/$name-$kind" "$xml" 2>"$out/stderr"; then
                        echo "not ok - qdbusxml2cpp -$kind $name.xml: $(cat "$out/stderr")"
                        failed=1
                elif [ -s "$out/stderr" ]; then
                        echo "not ok - qdbusxml2cpp -$kind $name.xml warns: $(cat "$out/stderr")"
                        failed=1
                else
                        echo "ok - qdbusxml2cpp -$kind $name.xml"
                fi
        done
done

# The proxies' typed replies: what a Qt client compiles against.
for want in "org.vpc.Manager-p.h:QDBusPendingReply<VpcGuestList> ListGuestOS()" \
            "org.vpc.Manager-p.h:QDBusPendingReply<QDBusObjectPath> GetGuestOS(const QString &name_or_uuid)" \
            "org.vpc.GuestOS-p.h:QDBusPendingReply<VpcUserList> ListUsers()" \
            "org.vpc.GuestOS-p.h:QDBusPendingReply<QDBusObjectPath> Logoff()" \
            "org.vpc.Task-p.h:void Completed(uint error_code, const QString &error_name, const QString &error_message);"; do
        file=${want%%:*} line=${want#*:}
        if grep -qF "$line" "$out/$file" 2>/dev/null; then
                echo "ok - $file has $line"
        else
                echo "not ok - $file lacks $line"
                failed=1
        fi
done
exit $failed
