/* The logoff programs themselves. Each runs through guest-exec as a fixed argv. */
#include "logoff-programs.h"
#include "logoff-strategy.h"

/* Linux: one program that asks whether systemd-logind manages the sessions and runs linux-logind's
 * or linux-plain's text accordingly (service/logoff-programs/linux.sh), so one guest-exec both
 * decides and acts. */
static const char *const linux_argv[] = {
        "-c",
        LOGOFF_PROGRAM_LINUX,
        NULL,
};

/* Every session logind knows, root's included, ended through logind (terminate-session; a
 * "closing" session's scope is stopped directly). The text is service/logoff-programs/linux-logind.sh.
 * Run on its own only by bench/ (the floor it measures against). */
static const char *const linux_logind_argv[] = {
        "-c",
        LOGOFF_PROGRAM_LINUX_LOGIND,
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
        [LOGOFF_STRATEGY_LINUX] = { "linux", "/bin/sh", linux_argv },
        [LOGOFF_STRATEGY_LINUX_LOGIND] = { "linux-logind", "/bin/sh", linux_logind_argv },
        [LOGOFF_STRATEGY_LINUX_PLAIN] = { "linux-plain", "/bin/sh", linux_plain_argv },
        [LOGOFF_STRATEGY_WINDOWS] = {
                "windows", "C:\\Windows\\System32\\WindowsPowerShell\\v1.0\\powershell.exe", windows_argv },
};

const LogoffStrategy *logoff_strategy_get(LogoffStrategyKind kind) {
        if (kind < 0 || kind >= _LOGOFF_STRATEGY_MAX)
                return NULL;
        return &strategies[kind];
}
