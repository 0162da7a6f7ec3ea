# The Linux lock program: every session systemd-logind knows is asked to lock (logind emits Lock on
# each session object; its screen locker acts on it). The users stay logged on. Without logind no
# session manager can lock anything: exit status 3, said on stderr, and nothing is touched.
# Exit status 1: logind refused.
if ! test -d /run/systemd/system || ! command -v loginctl >/dev/null; then
  echo "vpc-lock: no systemd-logind in the guest" >&2
  exit 3
fi
exec loginctl lock-sessions
