# LogoffWithOptions' message: stdin holds the grace in seconds (first line) and the message (the
# rest), data never run as code. It goes to the terminal of every session, logind's TTY of each
# session and every utmp record's line, and for a graphical logind session (no terminal to write
# to) into the guest's journal. Exit 0 once every terminal was tried; 2 for a malformed stdin.
IFS= read -r grace || grace=
case $grace in ''|*[!0-9]*) echo "message-linux: no grace on stdin" >&2; exit 2 ;; esac
text=$(cat)
if [ "$grace" -gt 0 ]; then
  head="Message from the administrator: you will be logged off in $grace seconds."
else
  head="Message from the administrator: you will be logged off now."
fi
ttys=" "
add_tty() {
  case $1 in
  tty[0-9]*|pts/[0-9]*|ttyS[0-9]*|hvc[0-9]*|console) ;;
  *) return 0 ;;
  esac
  case $1 in *[!a-zA-Z0-9/]*) return 0 ;; esac
  case "$ttys" in *" $1 "*) ;; *) ttys="$ttys$1 " ;; esac
}
journal=0
if test -d /run/systemd/system && command -v loginctl >/dev/null; then
  for id in $(loginctl --no-legend --no-pager list-sessions 2>/dev/null | while read -r id rest; do printf '%s\n' "$id"; done); do
    case $id in *[!a-zA-Z0-9]*) continue ;; esac
    tty= type=
    for kv in $(loginctl show-session "$id" -p TTY -p Type 2>/dev/null); do
      case $kv in TTY=*) tty=${kv#TTY=} ;; Type=*) type=${kv#Type=} ;; esac
    done
    [ -n "$tty" ] && add_tty "$tty"
    case $type in x11|wayland|mir) journal=1 ;; esac
  done
fi
# struct utmp is 384 bytes: ut_type (7: USER_PROCESS, 32 bits of either byte order), ut_pid, then
# ut_line (32 bytes); only the characters of a terminal's name are taken.
if [ -r /var/run/utmp ]; then
  for line in $(od -A n -v -t u1 -w384 /var/run/utmp 2>/dev/null | awk '
      ($1 == 7 && $4 == 0) || ($1 == 0 && $4 == 7) {
        l = ""
        for (i = 9; i <= 40 && $i != 0; i++) {
          c = $i + 0
          if (c == 47 || (c >= 48 && c <= 57) || (c >= 65 && c <= 90) || (c >= 97 && c <= 122)) l = l sprintf("%c", c)
          else { l = ""; break }
        }
        if (l != "") print l
      }'); do
    add_tty "$line"
  done
fi
# A terminal stopped by ^S would block a write for ever: each write gets 5 s. The watchdog holds
# none of the agent's pipes, which would keep the program "running" for qemu-ga until it ends.
n=0 pids=
for t in $ttys; do
  [ -c "/dev/$t" ] || continue
  printf '\r\n%s\r\n%s\r\n' "$head" "$text" >"/dev/$t" 2>/dev/null &
  pids="$pids $!" n=$((n + 1))
done
if [ -n "$pids" ]; then
  ( sleep 5; kill $pids ) </dev/null >/dev/null 2>&1 &
  watchdog=$!
  for p in $pids; do wait "$p"; done
  kill "$watchdog" 2>/dev/null
fi
if [ $journal = 1 ]; then
  if command -v systemd-cat >/dev/null; then
    printf '%s\n%s\n' "$head" "$text" | systemd-cat -t vpc-guestosd -p warning
  elif command -v logger >/dev/null; then
    printf '%s\n%s\n' "$head" "$text" | logger -t vpc-guestosd -p user.warning
  fi
fi
echo "message-linux: $n terminal(s), journal $journal"
exit 0
