# End every session recorded in utmp: the session led by each USER_PROCESS record's process, and
# whatever that leader started. Never this program's own ancestry (the agent) or its session.
keep=" 1 " keep_sids=" 0 1 "
p=$$
while [ "$p" -gt 1 ] 2>/dev/null; do
  { read -r st </proc/$p/stat; } 2>/dev/null || break
  set -- ${st##*) }
  keep="$keep$p " keep_sids="$keep_sids$4 " p=$2
done
utmp=/var/run/utmp
[ -r $utmp ] || { echo "linux-plain: cannot read $utmp" >&2; exit 1; }
# struct utmp is 384 bytes: ut_type (7: USER_PROCESS, as 32 bits on either byte order), ut_pid.
leaders=$(od -A n -v -t d4 -w384 $utmp | awk '$1 == 7 || $1 == 458752 { print $2 }') ||
  { echo "linux-plain: cannot parse $utmp" >&2; exit 1; }
sids=" "
for p in $leaders; do
  { read -r st </proc/$p/stat; } 2>/dev/null || continue
  set -- ${st##*) }
  # Only a process that leads its own session; never the agent's.
  [ "$4" = "$p" ] || continue
  case "$keep$keep_sids" in *" $p "*) continue ;; esac
  sids="$sids$p "
done
[ "$sids" = " " ] && exit 0
# Every process of those sessions, then their descendants (a login that started the shell in a
# session of its own).
targets=" " others=
for f in /proc/[0-9]*/stat; do
  { read -r st <$f; } 2>/dev/null || continue
  pid=${f#/proc/} pid=${pid%/stat}
  set -- ${st##*) }
  case "$keep" in *" $pid "*) continue ;; esac
  case "$keep_sids" in *" $4 "*) continue ;; esac
  case "$sids" in *" $4 "*) targets="$targets$pid " ;; *) others="$others $pid:$2" ;; esac
done
grown=1
while [ $grown = 1 ]; do
  grown=0 rest=
  for e in $others; do
    case "$targets" in
    *" ${e#*:} "*) targets="$targets${e%:*} " grown=1 ;;
    *) rest="$rest $e" ;;
    esac
  done
  others=$rest
done
# As a hang-up of their terminal would: SIGHUP, then SIGTERM for those that ignore it.
kill -s HUP $targets 2>/dev/null
kill -s TERM $targets 2>/dev/null
exit 0
