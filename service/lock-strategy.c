/* The lock programs themselves (service/lock-programs/). Each runs through guest-exec as a fixed argv. */
#include <errno.h>
#include <stdio.h>

#include "lock-programs.h"
#include "lock-strategy.h"

/* loginctl lock-sessions where logind runs, else exit LOCK_EXIT_NO_LOGIND: one guest-exec both
 * decides and acts. The text is service/lock-programs/linux.sh. */
static const char *const linux_argv[] = {
        "-c",
        LOCK_PROGRAM_LINUX,
        NULL,
};

/* WTSDisconnectSession on every active user session, passed as -EncodedCommand as the logoff
 * program is (service/lock-programs/windows.ps1). */
static const char *const windows_argv[] = {
        "-NoLogo",
        "-NoProfile",
        "-NonInteractive",
        "-EncodedCommand",
        LOCK_PROGRAM_WINDOWS_ENCODED,
        NULL,
};

static const LockStrategy linux_strategy = { "linux", "/bin/sh", linux_argv };
static const LockStrategy windows_strategy = {
        "windows", "C:\\Windows\\System32\\WindowsPowerShell\\v1.0\\powershell.exe", windows_argv };

const LockStrategy *lock_strategy_get(GuestOsKind os) {
        /* An agent without guest-get-osinfo is Linux's (logoff-check.c). */
        return os == GUEST_OS_WINDOWS ? &windows_strategy : &linux_strategy;
}

int lock_strategy_outcome(const LockStrategy *s, GuestOsKind os, const AgentExecStatus *status, VpcError *ret_error,
                          char **ret_message) {
        const char *said = status->err[0] ? status->err : status->out;
        char what[64];
        int r;

        *ret_message = NULL;
        if (!status->signalled && status->exit_code == 0) {
                *ret_error = VPC_OK;
                return 0;
        }
        if (os != GUEST_OS_WINDOWS && !status->signalled && status->exit_code == LOCK_EXIT_NO_LOGIND) {
                *ret_error = VPC_ERROR_ADDITIONS_FEATURE_NOT_AVAILABLE;
                *ret_message = strdup("the guest runs no systemd-logind, so nothing in it can lock a session "
                                      "(nobody was locked, the users stay logged on)");
                return *ret_message ? 0 : -ENOMEM;
        }
        /* What the program said about it: its stderr, else its stdout (already sanitized). */
        *ret_error = VPC_ERROR_EXCEPTION;
        r = asprintf(ret_message, "the lock program '%s' failed (%s)%s%s%s", s->name,
                     agent_exec_status_to_string(status, os, what, sizeof(what)), said[0] ? ": " : "", said,
                     said[0] && (status->err[0] ? status->err_truncated : status->out_truncated) ? " ..." : "");
        if (r < 0) {
                *ret_message = NULL;
                return -ENOMEM;
        }
        return 0;
}
