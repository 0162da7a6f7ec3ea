/* The logoff programs themselves. Each runs through guest-exec as a fixed argv. */
#include "logoff-programs.h"
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

/* Without logind there is no session manager to ask: end the sessions utmp records, root's
 * included, each as a hang-up would (SIGHUP, then SIGTERM to every process of the session led by the
 * record's process, and to what that process started), never the agent or the guest's system
 * services. The text is service/logoff-programs/linux-plain.sh. */
static const char *const linux_plain_argv[] = {
        "-c",
        LOGOFF_PROGRAM_LINUX_PLAIN,
        NULL,
};

/* The WTS API, as qemu-ga's guest-get-users itself: independent of the display language and
 * present on every edition (quser.exe and logoff.exe are not). The text is
 * service/logoff-programs/windows.ps1, passed as -EncodedCommand (base64 of UTF-16LE), which needs
 * no quoting on the Windows command line qemu-ga builds from this argv. */
static const char *const windows_argv[] = {
        "-NoLogo",
        "-NoProfile",
        "-NonInteractive",
        "-EncodedCommand",
        LOGOFF_PROGRAM_WINDOWS_ENCODED,
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
