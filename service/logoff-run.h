/* Runs a Logoff task: drives the pure logoff state machine with guest-agent calls on the hypervisor's
 * workers and sd-event timers, and turns its progress and result into the task's properties. */
#pragma once

#include "agent.h"
#include "manager.h"
#include "task.h"

/* Starts a Logoff task on d; *ret is a new reference for the caller (task_unref() it), valid even
 * when the task already ended, and was dropped by --max-tasks, before this returns. */
int logoff_run_start(Manager *m, Domain *d, uid_t owner, GuestOsKind os, Task **ret);

/* The domain stopped or vanished under a running Logoff task. */
void logoff_run_domain_stopped(Manager *m, Domain *d);
