/* The logoff programs themselves. Each runs through guest-exec as a fixed argv. */
#include "logoff-strategy.h"

/* Every session logind knows, root's included, ended through logind: an open session with
 * terminate-session (logind stops its scope: SIGTERM, then SIGKILL after the scope's stop timeout).
 * A "closing" session (its user logged out and left processes behind; KillUserProcesses=no) is
 * already stopping in logind's view, so terminate-session returns 0 on it and kills nothing: its
 * scope is stopped directly, as logind would have done with KillUserProcesses=yes. Only units named
 * session-*.scope are ever stopped, so the agent, system services and lingering users' own services
 * (user@.service, no session) are left alone. The sessions are ended in parallel (each loginctl
 * call takes a second or more on a slow guest). A session that ended meanwhile is no failure; exit
 * status 1 means logind could not be asked or a session could not be ended. */
static const char *const linux_logind_argv[] = {
        "-c",
        "out=$(loginctl --no-legend --no-pager list-sessions) || exit 1; "
        "pids=; "
        "for id in $(printf '%s\\n' \"$out\" | while read -r id rest; do printf '%s\\n' \"$id\"; done); do "
        "( "
        "props=$(loginctl show-session \"$id\" -p State -p Scope 2>/dev/null) || exit 0; "
        "state=; scope=; "
        "for kv in $props; do case $kv in State=*) state=${kv#State=};; Scope=*) scope=${kv#Scope=};; esac; done; "
        "if [ \"$state\" = closing ]; then "
        "case $scope in session-*.scope) exec systemctl stop --no-block \"$scope\";; esac; "
        "exit 0; "
        "fi; "
        "loginctl terminate-session \"$id\" && exit 0; "
        "! loginctl show-session \"$id\" >/dev/null 2>&1 "
        ") & "
        "pids=\"$pids $!\"; "
        "done; "
        "rc=0; "
        "for pid in $pids; do wait \"$pid\" || rc=1; done; "
        "exit $rc",
        NULL,
};

/* Without logind there is no session manager to ask: end the processes of every user with a
 * utmp session, politely (SIGHUP as on a hangup, then SIGTERM), never root's (the agent runs as
 * root). The session leaders (login, sshd) then record the end of the session in utmp themselves.
 * Processes that ignore both signals survive, and the task reports Timeout. */
static const char *const linux_plain_argv[] = {
        "-c",
        "uids=; "
        "for name in $(who | cut -d' ' -f1 | sort -u); do "
        "uid=$(id -u \"$name\" 2>/dev/null) || continue; "
        "[ \"$uid\" -gt 0 ] && uids=\"$uids $uid \"; "
        "done; "
        "[ -n \"$uids\" ] || exit 0; "
        "for sig in HUP TERM; do "
        "for status in /proc/[0-9]*/status; do "
        "pid=${status#/proc/}; pid=${pid%/status}; "
        "uid=$(sed -n 's/^Uid:[[:space:]]*\\([0-9]*\\).*/\\1/p' \"$status\" 2>/dev/null); "
        "case \"$uids\" in *\" $uid \"*) kill -s $sig \"$pid\" 2>/dev/null;; esac; "
        "done; "
        "done; "
        "exit 0",
        NULL,
};

/* quser lists every session; logoff ends it as the user's own Sign out would. */
static const char *const windows_argv[] = {
        "-NoProfile",
        "-NonInteractive",
        "-Command",
        "quser 2>$null | Select-Object -Skip 1 | ForEach-Object { "
        "if ($_ -match '\\s(\\d+)\\s+(Active|Disc)') { logoff $Matches[1] } }",
        NULL,
};

static const LogoffStrategy strategies[_LOGOFF_STRATEGY_MAX] = {
        [LOGOFF_STRATEGY_LINUX_LOGIND] = { "linux-logind", "/bin/sh", linux_logind_argv },
        [LOGOFF_STRATEGY_LINUX_PLAIN] = { "linux-plain", "/bin/sh", linux_plain_argv },
        [LOGOFF_STRATEGY_WINDOWS] = {
                "windows", "C:\\Windows\\System32\\WindowsPowerShell\\v1.0\\powershell.exe", windows_argv },
};

static const char *const probe_logind_argv[] = {
        "-c",
        "test -d /run/systemd/system && command -v loginctl >/dev/null",
        NULL,
};

const LogoffStrategy logoff_probe_logind = { "probe-logind", "/bin/sh", probe_logind_argv };

const LogoffStrategy *logoff_strategy_get(LogoffStrategyKind kind) {
        if (kind < 0 || kind >= _LOGOFF_STRATEGY_MAX)
                return NULL;
        return &strategies[kind];
}
