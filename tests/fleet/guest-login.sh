#!/usr/bin/env bash
# guest-login.sh NAME USER... — logs USERs in again in guest NAME (through its /etc/vpc-login) and
# waits until its agent lists them. The fleet test runs it on host A, over SSH, between plays.
set -euo pipefail
VPC_SOURCE_ROOT=$(cd "$(dirname "$0")/../.." && pwd)
. "$VPC_SOURCE_ROOT/tests/lib/env.sh"
name=$1; shift
n=1
for u in "$@"; do
        vpc_guest_login "$name" "$u" "pts/$n"
        n=$((n + 1))
done
vpc_guest_wait_users "$name" 30 "$@"
