#!/usr/bin/env bash
# The install test: configures the project as a distribution would (--prefix=/usr), installs it with
# `meson install --destdir` into a temporary root, and checks that every installed file sits where
# D-Bus, polkit, systemd, man and bash-completion look for it and that systemd-analyze accepts the units.
set -euo pipefail
src=${1:?usage: check-install.sh SOURCE_ROOT}
tmp=$(mktemp -d /tmp/vpc-install.XXXXXX)
trap 'rm -rf "$tmp"' EXIT
root=$tmp/root
failures=0 passes=0

ok() { passes=$((passes + 1)); echo "ok - $*"; }
fail() { failures=$((failures + 1)); echo "FAIL - $*"; }
check() {       # check DESCRIPTION COMMAND...
        local what=$1; shift
        if "$@" >"$tmp/check.out" 2>&1; then ok "$what"; else fail "$what"; sed 's/^/    /' "$tmp/check.out"; fi
}
in_list() {     # in_list WORD LIST-OF-LINES
        grep -qxF -- "$1" <<<"$2"
}

echo "# building with --prefix=/usr in $tmp/build"
meson setup "$tmp/build" "$src" --prefix=/usr -Dtests=false -De2e=false -Dwerror=true >"$tmp/setup.log" 2>&1 ||
        { cat "$tmp/setup.log"; exit 1; }
ninja -C "$tmp/build" -j2 >"$tmp/build.log" 2>&1 || { tail -30 "$tmp/build.log"; exit 1; }
meson install -C "$tmp/build" --destdir "$root" --no-rebuild >"$tmp/install.log" 2>&1 ||
        { cat "$tmp/install.log"; exit 1; }
echo "# installed files:"
(cd "$root" && find . -type f -o -type l | sort | sed 's/^\./    /')

# --- systemd: the unit in a directory of systemd's own search path -------------------------------
unit=usr/lib/systemd/system/vpc-guestosd.service
check "unit installed: /$unit" test -f "$root/$unit"
check "systemd searches $(dirname "/$unit")" in_list "$(dirname "/$unit")" "$(systemd-analyze unit-paths)"
exec_start=$(sed -n 's/^ExecStart=//p' "$root/$unit")
check "the unit's ExecStart=$exec_start is the installed daemon" test -x "$root$exec_start"
check "the unit is Type=dbus with BusName=org.vpc" \
        bash -c "grep -qx 'Type=dbus' '$root/$unit' && grep -qx 'BusName=org.vpc' '$root/$unit'"

# --- D-Bus: policy in an <includedir> of the system bus, activation file named after the name ---------
# Relative <includedir>s are relative to the file's own directory (dbus-daemon(1)).
includedirs=$(sed -n 's:.*<includedir>\(.*\)</includedir>.*:\1:p' /usr/share/dbus-1/system.conf |
        sed 's:^\([^/]\):/usr/share/dbus-1/\1:')
policy=usr/share/dbus-1/system.d/org.vpc.conf
check "bus policy installed: /$policy" test -f "$root/$policy"
check "the system bus includes $(dirname "/$policy") (/usr/share/dbus-1/system.conf)" \
        in_list "$(dirname "/$policy")" "$includedirs"
check "the bus policy is well-formed XML that lets only user vpc-guestosd own org.vpc" python3 -c '
import sys, xml.etree.ElementTree as ET
t = ET.parse(sys.argv[1]).getroot()
owners = [(p.attrib, a.attrib) for p in t.iter("policy") for a in p if a.attrib.get("own") == "org.vpc" and a.tag == "allow"]
assert owners and all(p == {"user": "vpc-guestosd"} for p, _ in owners), owners
' "$root/$policy"
service=usr/share/dbus-1/system-services/org.vpc.service
check "activation file installed: /$service (system-services, named after org.vpc)" test -f "$root/$service"
check "the activation file names org.vpc, the unit and the user vpc-guestosd" \
        bash -c "grep -qx 'Name=org.vpc' '$root/$service' && grep -qx 'SystemdService=vpc-guestosd.service' '$root/$service' &&
                 grep -qx 'User=vpc-guestosd' '$root/$service'"
dbus_exec=$(sed -n 's/^Exec=//p' "$root/$service")
check "the activation file's Exec=$dbus_exec is the installed daemon" test -x "$root$dbus_exec"
check "the daemon runs: --version" "$root$dbus_exec" --version
for i in Manager GuestOS Task; do
        f=usr/share/dbus-1/interfaces/org.vpc.$i.xml
        check "introspection installed: /$f" python3 -c '
import sys, xml.etree.ElementTree as ET
assert ET.parse(sys.argv[1]).getroot().find("interface").get("name") == sys.argv[2]
' "$root/$f" "org.vpc.$i"
done

# --- polkit: polkitd reads actions from /usr/share/polkit-1/actions and rules from
# /etc/polkit-1/rules.d and /usr/share/polkit-1/rules.d (polkit(8)) ----------------------------------
actions=usr/share/polkit-1/actions/org.vpc.policy
check "polkit actions installed: /$actions" python3 -c '
import sys, xml.etree.ElementTree as ET
ids = {a.get("id") for a in ET.parse(sys.argv[1]).getroot().iter("action")}
assert ids == {"org.vpc.guestos.logoff", "org.vpc.guestos.list-users", "org.vpc.task.cancel",
               "org.vpc.guestos.set-policy",
               "org.vpc.guestos.lock"}, ids
' "$root/$actions"
check "every polkit action is owned by unix-user:vpc-guestosd (it checks its callers, not being root)" python3 -c '
import sys, xml.etree.ElementTree as ET
for a in ET.parse(sys.argv[1]).getroot().iter("action"):
    owners = [n.text for n in a.iter("annotate") if n.get("key") == "org.freedesktop.policykit.owner"]
    assert owners == ["unix-user:vpc-guestosd"], (a.get("id"), owners)
' "$root/$actions"
check "polkitd looks in /usr/share/polkit-1/actions (as its package installs there)" \
        test -d /usr/share/polkit-1/actions
rules=usr/share/polkit-1/rules.d/50-org.vpc.rules
check "polkit rules installed: /$rules" test -f "$root/$rules"
libvirt_rules=usr/share/polkit-1/rules.d/60-vpc-guestosd-libvirt.rules
check "polkit rule for libvirt's socket installed: /$libvirt_rules (org.libvirt.unix.manage for vpc-guestosd)" \
        bash -c "grep -q 'org.libvirt.unix.manage' '$root/$libvirt_rules' && grep -q '\"vpc-guestosd\"' '$root/$libvirt_rules'"
check "polkitd reads /usr/share/polkit-1/rules.d (string in polkitd)" \
        grep -q /usr/share/polkit-1/rules.d /usr/lib/polkit-1/polkitd

# --- the user: a sysusers.d entry where systemd-sysusers reads it, and one it accepts ------------------
sysusers=usr/lib/sysusers.d/vpc-guestosd.conf
check "sysusers.d entry installed: /$sysusers" test -f "$root/$sysusers"
check "systemd-sysusers would create the system user vpc-guestosd from it (--dry-run)" bash -c \
        "mkdir -p '$tmp/sysusers-root' && systemd-sysusers --dry-run --root='$tmp/sysusers-root' - <'$root/$sysusers' 2>&1 |
                grep -q \"Creating user 'vpc-guestosd'\""
check "the unit runs as User=vpc-guestosd with SupplementaryGroups=libvirt" \
        bash -c "grep -qx 'User=vpc-guestosd' '$root/$unit' && grep -qx 'SupplementaryGroups=libvirt' '$root/$unit'"

# --- the client, its manual pages and its completion ---------------------------------------------------
check "vpcctl installed in /usr/bin and runs" bash -c "'$root/usr/bin/vpcctl' --version | grep -q '^vpcctl '"
for page in man1/vpcctl.1 man8/vpc-guestosd.8 man5/org.vpc.5; do
        check "man page /usr/share/man/$page renders" bash -c \
                "MANWIDTH=80 man -l '$root/usr/share/man/$page' 2>/dev/null | grep -q '^NAME'"
done
check "man searches /usr/share/man" bash -c "manpath 2>/dev/null | tr : '\n' | grep -qx /usr/share/man"
mo=usr/share/locale/es/LC_MESSAGES/vpcctl.mo
check "vpcctl's Spanish catalogue installed: /$mo (the locale directory it binds to)" bash -c \
        "test -f '$root/$mo' && strings '$root/usr/bin/vpcctl' | grep -qx /usr/share/locale"
completion=usr/share/bash-completion/completions/vpcctl
check "bash completion installed: /$completion (bash-completion's completions dir)" test -f "$root/$completion"
check "the completion loads and registers _vpcctl for vpcctl" \
        bash -c "source '$root/$completion' && complete -p vpcctl | grep -q '_vpcctl'"

# --- the Cockpit page: where cockpit-bridge finds system packages, shown where the service is -------
page=usr/share/cockpit/vpc
for f in manifest.json index.html vpc.js vpc-errors.js vpc.css vpc-theme.js po.es.js patternfly/patternfly.css patternfly/LICENSE; do
        check "Cockpit page installed: /$page/$f" test -f "$root/$page/$f"
done
check "its manifest's conditions name files this install puts in place (the bus activation file)" python3 -c '
import json, os, sys
m = json.load(open(sys.argv[1] + "/" + sys.argv[2] + "/manifest.json"))
paths = [c["path-exists"] for c in m["conditions"]]
assert paths and all(os.path.exists(sys.argv[1] + p) for p in paths), paths
assert "index" in m["tools"], m
' "$root" "$page"
check "what index.html loads is installed (its own files; ../base1/cockpit.js from cockpit-bridge; po.js as po.LANG.js)" python3 -c '
import glob, os, re, sys
page = sys.argv[1] + "/" + sys.argv[2]
refs = re.findall(r"(?:src|href)=\"([^\"]+)\"", open(page + "/index.html").read())
assert refs, refs
for r in refs:
    p = os.path.normpath(page + "/" + r)
    if r.endswith("po.js"):
        # The bridge serves po.LANG.js (or .js.gz) of the negotiated language for po.js.
        d = "/usr/share/cockpit/base1" if r.startswith("../base1/") else os.path.dirname(p)
        assert glob.glob(d + "/po.*.js") + glob.glob(d + "/po.*.js.gz"), (r, d)
    elif r.startswith("../base1/"):
        p = "/usr/share/cockpit/base1/" + r[len("../base1/"):]
        assert os.path.exists(p) or os.path.exists(p + ".gz"), p
    else:
        assert os.path.exists(p), p
' "$root" "$page"
check "cockpit-bridge lists the installed page as package vpc" \
        bash -c "XDG_DATA_DIRS='$root/usr/share' XDG_DATA_HOME='$tmp/no-data-home' cockpit-bridge --packages |
                grep -E '^vpc +Guest logoff +$root/$page\$'"

# --- the Ansible collection: in ansible-core's default collections path, found by ansible-doc -----------
coll=usr/share/ansible/collections/ansible_collections/vpc/guestos
for f in galaxy.yml README.md meta/runtime.yml plugins/module_utils/vpcctl.py plugins/module_utils/vpc_errors.py \
        plugins/module_utils/results.py plugins/doc_fragments/vpcctl.py plugins/modules/logoff.py \
        plugins/modules/guest_info.py plugins/modules/console_policy.py; do
        check "Ansible collection installed: /$coll/$f" test -f "$root/$coll/$f"
done
if command -v ansible-doc >/dev/null; then
        check "ansible-doc finds vpc.guestos.logoff in the installed collection" bash -c \
                "HOME='$tmp/ansible-home' ANSIBLE_COLLECTIONS_PATH='$root/usr/share/ansible/collections' ansible-doc vpc.guestos.logoff |
                 grep -q '$root/$coll/plugins/modules/logoff.py'"
fi

# --- systemd-analyze on the installed units and the docs' example units --------------------------------
# verify --root needs the distribution's own units (sysinit.target, dbus.service, ...) beside ours, and
# checks ExecStart= inside that root; /usr/local/sbin/backup-guest(s) are stubs standing for the site's
# backup commands of the examples. It reads unit files only, so it needs no systemd running as PID 1.
for u in vpc-logoff@.service vpc-logoff-all.service; do
        check "unit installed: /usr/lib/systemd/system/$u" test -f "$root/usr/lib/systemd/system/$u"
done
vroot=$tmp/verify-root
cp -a "$root" "$vroot"
cp -an /lib/systemd/system/. "$vroot/usr/lib/systemd/system/"
mkdir -p "$vroot/etc/systemd/system" "$vroot/usr/local/sbin"
cp "$src"/docs/systemd/* "$vroot/etc/systemd/system/"
for stub in backup-guests backup-guest; do
        printf '#!/bin/sh\nexit 0\n' >"$vroot/usr/local/sbin/$stub"
        chmod 755 "$vroot/usr/local/sbin/$stub"
done
# The templates through an instance named as systemd-escape names a VM with spaces and non-ASCII.
instance=$(systemd-escape 'web server 01 año')
for u in vpc-guestosd.service vpc-logoff-all.service vpc-nightly-backup.service vpc-nightly-backup.timer \
        "vpc-logoff@$instance.service" "vpc-backup@$instance.service" "vpc-backup@$instance.timer"; do
        # Documentation=man: is checked with man(1), which finds the installed pages through MANPATH.
        check "systemd-analyze verify $u" env MANPATH="$vroot/usr/share/man" systemd-analyze verify --root="$vroot" "$u"
done
check "vpc-logoff-all.service runs the installed vpcctl logoff --all --json" \
        bash -c "grep -q '^ExecStart=/usr/bin/vpcctl .*logoff --all --json' '$vroot/usr/lib/systemd/system/vpc-logoff-all.service' &&
                 test -x '$vroot/usr/bin/vpcctl'"
check "vpc-logoff@.service runs the installed vpcctl logoff -- %I, Type=oneshot, SuccessExitStatus=3" \
        bash -c "u='$vroot/usr/lib/systemd/system/vpc-logoff@.service'; grep -qx 'ExecStart=/usr/bin/vpcctl .*logoff -- %I' \"\$u\" &&
                 grep -qx 'Type=oneshot' \"\$u\" && grep -qx 'SuccessExitStatus=3' \"\$u\""
if systemd-analyze security --offline=true --root="$vroot" vpc-guestosd.service >"$tmp/security.out" 2>&1; then :; fi
exposure=$(sed -n 's/.*Overall exposure level for vpc-guestosd.service: \([0-9.]*\).*/\1/p' "$tmp/security.out")
echo "# systemd-analyze security --offline=true: overall exposure ${exposure:-?}"
check "systemd-analyze security --offline rates the unit (exposure $exposure) below 5.0 (\"MEDIUM\" starts at 5)" \
        python3 -c "import sys; sys.exit(0 if float(sys.argv[1]) < 5.0 else 1)" "${exposure:-99}"

echo "$passes passed, $failures failed"
[ "$failures" -eq 0 ]
