# End every session logind knows, root's included, in parallel (each loginctl call can take a second
# or more on a slow guest). An open session ends with terminate-session: logind stops its scope,
# SIGTERM then SIGKILL after the scope's stop timeout. A "closing" session (its user logged out and
# left processes behind, KillUserProcesses=no) is already stopping in logind's view, so
# terminate-session returns 0 on it and kills nothing: its scope is stopped directly. Only units
# named session-*.scope are stopped, never the agent, system services or a lingering user's own
# services. A session on a terminal whose getty logs its user straight back in (agetty --autologin)
# is reported on stdout as "vpc-logoff: autologin TTY", so the daemon waits for that user to come
# back rather than call the Logoff done in the moment nobody is logged on.
# Exit status 1: logind could not be asked, or a session that still exists was not ended.
out=$(loginctl --no-legend --no-pager list-sessions) || exit 1
pids=
for id in $(printf '%s\n' "$out" | while read -r id rest; do printf '%s\n' "$id"; done); do
  (
    props=$(loginctl show-session "$id" -p State -p Scope -p TTY 2>/dev/null) || exit 0
    state= scope= tty=
    for kv in $props; do
      case $kv in State=*) state=${kv#State=} ;; Scope=*) scope=${kv#Scope=} ;; TTY=*) tty=${kv#TTY=} ;; esac
    done
    case $tty in
    tty*|hvc*)
      case $(systemctl show -p ExecStart --value "getty@$tty.service" "serial-getty@$tty.service" 2>/dev/null) in
      *--autologin*|*" -a "*) echo "vpc-logoff: autologin $tty" ;;
      esac ;;
    esac
    if [ "$state" = closing ]; then
      case $scope in session-*.scope) exec systemctl stop --no-block "$scope" ;; esac
      exit 0
    fi
    loginctl terminate-session "$id" && exit 0
    ! loginctl show-session "$id" >/dev/null 2>&1
  ) &
  pids="$pids $!"
done
rc=0
for pid in $pids; do wait "$pid" || rc=1; done
exit $rc
