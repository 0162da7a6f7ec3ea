#!/bin/bash
# The vpc.guestos collection's documentation and sanity: ansible-doc renders every module (and its
# DOCUMENTATION, EXAMPLES and RETURN parse as YAML), galaxy.yml and meta/runtime.yml parse, and the
# ansible-test sanity tests that run offline pass. The others (ansible-doc, import, pep8, pylint,
# pslint, runtime-metadata, validate-modules, yamllint, shellcheck, changelog) make ansible-test
# build a virtualenv with pip from the network, which this machine does not have.
set -euo pipefail
src=${1:?usage: check-doc.sh SOURCE_ROOT}
tmp=$(mktemp -d /tmp/vpc-fleet-doc.XXXXXX)
trap 'rm -rf "$tmp"' EXIT
fail=0
ok() { echo "ok - $*"; }
bad() { echo "not ok - $*"; fail=1; }

export ANSIBLE_COLLECTIONS_PATH="$src/ansible" HOME="$tmp/home" ANSIBLE_LOCAL_TEMP="$tmp/local"
mkdir -p "$HOME"
for m in logoff guest_info console_policy; do
        if out=$(ansible-doc --json "vpc.guestos.$m" 2>&1) &&
           printf '%s' "$out" | /usr/bin/python3 -c '
import json, sys
d = json.load(sys.stdin)["vpc.guestos.'"$m"'"]
assert d["doc"]["short_description"] and d["doc"]["options"] and d["examples"] and d["return"], d.keys()
'; then
                ok "ansible-doc vpc.guestos.$m renders DOCUMENTATION, EXAMPLES and RETURN"
        else
                bad "ansible-doc vpc.guestos.$m: $out"
        fi
done

coll="$src/ansible/ansible_collections/vpc/guestos"
if /usr/bin/python3 -c '
import sys, yaml
g = yaml.safe_load(open(sys.argv[1]))
assert g["namespace"] == "vpc" and g["name"] == "guestos" and g["readme"] == "README.md", g
r = yaml.safe_load(open(sys.argv[2]))
assert r["requires_ansible"] == ">=2.14", r
' "$coll/galaxy.yml" "$coll/meta/runtime.yml"; then
        ok "galaxy.yml and meta/runtime.yml parse (vpc.guestos, requires_ansible >=2.14)"
else
        bad "galaxy.yml or meta/runtime.yml"
fi

# ansible-test wants the collection at ansible_collections/NS/NAME of a tree of its own.
mkdir -p "$tmp/c/ansible_collections/vpc"
cp -r "$coll" "$tmp/c/ansible_collections/vpc/guestos"
find "$tmp/c" -name __pycache__ -prune -exec rm -rf {} +
offline=(action-plugin-docs compile empty-init future-import-boilerplate line-endings metaclass-boilerplate
         no-assert no-basestring no-dict-iteritems no-dict-iterkeys no-dict-itervalues no-get-exception
         no-illegal-filenames no-main-display no-smart-quotes no-unicode-literals replace-urlopen shebang
         symlinks use-argspec-type-path use-compat-six)
args=()
for t in "${offline[@]}"; do args+=(--test "$t"); done
py=$(/usr/bin/python3 -c 'import sys; print("%d.%d" % sys.version_info[:2])')
if out=$(cd "$tmp/c/ansible_collections/vpc/guestos" && ansible-test sanity --local --python "$py" "${args[@]}" 2>&1); then
        ok "ansible-test sanity, the ${#offline[@]} tests that run offline"
else
        bad "ansible-test sanity: $out"
fi
exit $fail
