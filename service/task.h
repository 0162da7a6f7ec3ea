/* The tasks behind the org.vpc.Task objects at /org/vpc/Task/<n> (task-dbus.c): one per operation. A
 * task carries its progress and outcome, emits Progress and Completed, parks WaitForCompletion calls
 * until it ends, and stays for the retention time after. What the task does is its engine's
 * business (TaskOps). */
#pragma once

#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>
#include <systemd/sd-bus.h>

#include "caller.h"
#include "domain.h"
#include "errors.h"
#include "list.h"
#include "polkit.h"
#include "task-store.h"

#define TASK_PATH_PREFIX "/org/vpc/Task"

typedef struct TaskRegistry TaskRegistry;

typedef struct TaskOps {
        /* The task ended (completed, cancelled, VM gone): stop timers and calls. */
        void (*stop)(Task *t);
        /* Release the engine's state; the task itself goes next. */
        void (*release)(Task *t);
} TaskOps;

typedef struct Waiter Waiter;

struct Task {
        TaskRegistry *registry;
        unsigned n_ref;
        uint64_t id;
        char *path;

        char *description;
        char *target_path;
        char *vm_name;
        char vm_uuid[UUID_STRING_MAX];
        uid_t owner;

        bool complete;
        unsigned percent;
        VpcError error;
        char *error_message;
        uint64_t started_usec;
        uint64_t finished_usec;

        bool published;                         /* findable on the bus */
        sd_event_source *retention_timer;
        LIST_FIELDS(Task, finished);            /* the registry's list of finished tasks */
        Task **link;                            /* the owner's pointer to this running task, see task_link() */
        LIST_HEAD(Waiter) waiters;              /* parked WaitForCompletion calls, newest first */

        TaskResume resume;                      /* what the engine keeps for a restart (task-record.h) */

        const TaskOps *ops;
        void *engine;
};

typedef struct TaskOptions {
        unsigned task_retention_sec;
        unsigned max_tasks;                     /* finished tasks kept */
        unsigned max_waiters;
        unsigned max_waiters_per_sender;
} TaskOptions;

/* Every task of the daemon, by id. */
struct TaskRegistry {
        sd_event *event;
        sd_bus *bus;
        Authorizer *authorizer;
        CallerRegistry *callers;
        TaskOptions options;

        void *tasks;                    /* search tree of Task, by id */
        size_t n_tasks;
        LIST_HEAD(Task) finished;               /* by FinishedUSec, oldest first */
        size_t n_finished;
        uint64_t last_task_id;
        TaskStore *store;               /* the state files, NULL or unusable: tasks die with the daemon */

        size_t n_waiters;               /* parked WaitForCompletion calls, all tasks */
};

struct Waiter {
        Task *task;
        LIST_FIELDS(Waiter, waiters);   /* in the task's list */
        CallerLink link;                /* the caller's count; it may leave the bus meanwhile */
        sd_bus_message *call;
        sd_event_source *timer;
};

/* A registry on this bus and loop; authorizer decides Cancel, callers count the waiters per caller.
 * Emptied with task_remove_all(). */
void task_registry_init(TaskRegistry *r, sd_event *event, sd_bus *bus, Authorizer *authorizer,
                        CallerRegistry *callers, const TaskOptions *options);

/* Creates and publishes a running task for domain d, owned by uid owner. */
int task_new(TaskRegistry *reg, const char *description, const Domain *d, uid_t owner, const TaskOps *ops,
             void *engine, Task **ret);
/* Publishes a task a previous run of the daemon left in the store, with its id and, when finished,
 * its outcome (its retention counted from its FinishedUSec). A running one gets ops and engine
 * and must be taken up by its engine. -EEXIST: the id is taken; -ESTALE: its retention is over. */
int task_restore(TaskRegistry *reg, const TaskRecord *rec, const TaskOps *ops, void *engine, Task **ret);
/* The domain a running task restored from the store goes on with, once libvirt's list is in: NULL,
 * the task ended with VmNotRunning, when that list no longer has it or it does not run (as a
 * domain that stops under a task ends it). For the engines' adopt functions. */
Domain *task_restored_domain(Task *t, DomainRegistry *domains);
/* A restored task taken up by its engine: linked to the domain's slot of its kind ("Logoff",
 * "Lock"), or ended with Exception when the slot is NULL (no memory for the feature's state) or
 * another task of that kind already runs there. */
bool task_adopt_link(Task *t, Task **link, const char *kind);
/* Writes the task's state file (the engine calls it when what t->resume says changed). */
void task_save_state(Task *t);
Task *task_ref(Task *t);
Task *task_unref(Task *t);
DEFINE_TRIVIAL_CLEANUP_FUNC(Task *, task_unref);

void task_set_progress(Task *t, unsigned percent);
/* *link points at the task while it runs: task_complete() clears it, the one place that does. The
 * owner of *link must complete the task before *link goes away. */
void task_link(Task *t, Task **link);
/* Ends the task once; later calls are ignored. message may be NULL (success). */
void task_complete(Task *t, VpcError error, const char *message);
/* Removes the task from the bus and drops the registry's reference. */
void task_remove(Task *t);

Task *task_find_by_path(TaskRegistry *reg, const char *path);
int task_path_to_id(const char *path, uint64_t *ret_id);

/* On shutdown: every task removed, every waiter answered. With a usable store the running tasks
 * are left to the next start instead (their state files stay, no Completed goes out, parked
 * WaitForCompletion calls are dropped: the bus answers them as the connection closes). */
void task_remove_all(TaskRegistry *reg);

/* Parks a WaitForCompletion call until the task ends (then it gets true) or timeout_usec passes
 * (false; USEC_INFINITY: never); dropped without an answer if its caller leaves the bus. */
int task_park_waiter(Task *t, sd_bus_message *call, Caller *caller, uint64_t timeout_usec);
