/* A Logoff task: drives the pure logoff state machine (logoff.c) with guest-agent calls on the
 * hypervisor's workers and sd-event timers, and turns its progress and result into the task's
 * properties. The domain's link to its running Logoff task is set here (task_link()). */
#pragma once

#include "agent-json.h"
#include "logoff-options.h"
#include "logoff-state.h"
#include "task.h"
#include "vpc-guestosd.h"

/* Starts the Logoff task of domain d, which has none running, for the caller uid owner; *ret is a
 * reference of the caller's (the task may already have ended, and even left the bus). */
int logoff_task_start(Manager *m, Domain *d, uid_t owner, GuestOsKind os, Task **ret);
/* The same with the task's Description given (the console-disconnect policy's own wording). */
int logoff_task_start_described(Manager *m, Domain *d, uid_t owner, const char *description, GuestOsKind os,
                                Task **ret);
/* The same with LogoffWithOptions' options (NULL: none): the message goes to the users first, then
 * the grace passes (Progress moving), then the logoff runs; a Cancel before the logoff program
 * started logs nobody off. o is copied. The console policy's warn-then-logoff calls it too. */
int logoff_task_start_with_options(Manager *m, Domain *d, uid_t owner, const char *description,
                                   const LogoffOptions *o, GuestOsKind os, Task **ret);

/* The domain stopped or vanished under its running Logoff task (if any): it ends with VmNotRunning. */
void logoff_task_domain_stopped(Domain *d);

/* A task a previous run of the daemon left in the state files: published again at once (a running
 * one waits for logoff_task_adopt()). *ret is the registry's. */
int logoff_task_restore(Manager *m, const TaskRecord *rec, Task **ret);
/* Once the domain list is known: the restored running task t takes up its Logoff where the guest
 * is now, or ends with VmNotRunning when its domain stopped or is gone. */
void logoff_task_adopt(Manager *m, Task *t);
