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
leaders=$(od -A n -v -t d4 -w384 $utmp | while read -r type pid rest; do
  case $type in 7|458752) echo "$pid" ;; esac
done) || { echo "linux-plain: cannot parse $utmp" >&2; exit 1; }
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
for sig in HUP TERM; do
  # Every process of those sessions, then their descendants (a login that started the shell
  # in a session of its own).
  table= targets=" "
  for f in /proc/[0-9]*/stat; do
    { read -r st <$f; } 2>/dev/null || continue
    pid=${f#/proc/} pid=${pid%/stat}
    set -- ${st##*) }
    case "$keep" in *" $pid "*) continue ;; esac
    case "$keep_sids" in *" $4 "*) continue ;; esac
    table="$table$pid $2 $4
"
    case "$sids" in *" $4 "*) targets="$targets$pid " ;; esac
  done
  grown=1
  while [ $grown = 1 ]; do
    grown=0
    while read -r pid ppid sid; do
      case "$targets" in *" $pid "*) continue ;; esac
      case "$targets" in *" $ppid "*) targets="$targets$pid " grown=1 ;; esac
    done <<TABLE
$table
TABLE
  done
  [ "$targets" = " " ] || kill -s $sig $targets 2>/dev/null
done
exit 0
