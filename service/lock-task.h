/* A Lock task (docs/lock.md): runs the guest OS's fixed lock program (lock-strategy.h) through
 * guest-exec, reads its exit with guest-exec-status and ends with what it means. The users stay
 * logged on. A domain's Lock state (its running Lock task, the Lock() check in flight) is this
 * feature's own, reached from Domain by one pointer (d->lock). */
#pragma once

#include "agent-json.h"
#include "task.h"
#include "vpc-guestosd.h"

/* What Lock keeps per domain: the domain owns it and frees it with its feature's free(). */
typedef struct LockState {
        DomainFeature feature;          /* first: the domain frees the state through it */
        Task *task;                     /* the Lock task running on the domain (task_link()) */
        Operation *guest_check;         /* Lock()'s check of the guest in flight, with its parked calls */
        Operation *state_check;         /* the state query in flight before a VmNotRunning, likewise */
} LockState;

/* d's Lock state, made on first use; NULL when out of memory. */
LockState *lock_state_get(Domain *d);
/* The Lock task running on d, or NULL. */
Task *lock_task_running(const Domain *d);

/* Starts a Lock task of domain d (a running domain whose guest passed logoff_check_guest(), which
 * said os) for the caller uid owner, with that Description; when a Lock task of d still runs, that
 * one is the answer instead. *ret is a reference of the caller's (the task may already have ended,
 * and even left the bus). -ENOMEM, or what the first agent call could not do. */
int lock_task_start_described(Manager *m, Domain *d, uid_t owner, const char *description, GuestOsKind os,
                              Task **ret);
/* The same with Description "Lock" (GuestOS.Lock()). */
int lock_task_start(Manager *m, Domain *d, uid_t owner, GuestOsKind os, Task **ret);

/* The domain stopped or vanished under its running Lock task (if any): it ends with VmNotRunning. */
void lock_task_domain_stopped(Domain *d);

/* A task of kind lock that a previous run of the daemon left in the store (task_restore()); a
 * running one is taken up by lock_task_adopt() once libvirt's domain list is in. *ret is the
 * registry's. */
int lock_task_restore(Manager *m, const TaskRecord *rec, Task **ret);
/* Takes up a restored running Lock: it ends with VmNotRunning when its domain is gone or stopped,
 * else polls its lock program again (or starts it, if its pid was not known yet). */
void lock_task_adopt(Manager *m, Task *t);
