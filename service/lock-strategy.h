/* The fixed programs that lock the user sessions inside a guest, one per kind of guest OS, and how
 * their exit reads. They are constants: no string from a caller or from the guest is ever spliced
 * into them. docs/lock.md lists them. */
#pragma once

#include "agent-json.h"
#include "errors.h"

typedef struct LockStrategy {
        const char *name;
        const char *path;
        const char *const *argv;   /* arguments after path, NULL-terminated */
} LockStrategy;

/* The Linux program's exit status when the guest has no systemd-logind (the busybox tier): nothing
 * there can lock a session. */
#define LOCK_EXIT_NO_LOGIND 3

const LockStrategy *lock_strategy_get(GuestOsKind os);

/* What an exited lock program's status means for the task: VPC_OK, or an error with *ret_message
 * (the caller's to free) saying why. -ENOMEM only. */
int lock_strategy_outcome(const LockStrategy *s, GuestOsKind os, const AgentExecStatus *status, VpcError *ret_error,
                          char **ret_message);
