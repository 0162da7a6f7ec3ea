/* org.vpc.Task objects at /org/vpc/Task/<n>: one per operation. A task carries its progress and
 * outcome as properties, emits Progress and Completed, parks WaitForCompletion calls until it ends,
 * and stays for the retention time after. What the task does is its engine's business (TaskOps). */
#pragma once

#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>
#include <systemd/sd-bus.h>

#include "domain.h"
#include "errors.h"
#include "polkit.h"

#define TASK_PATH_PREFIX "/org/vpc/Task"

typedef struct Manager Manager;

typedef struct TaskOps {
        /* The task ended (completed, cancelled, VM gone): stop timers and calls. */
        void (*stop)(Task *t);
        /* Release the engine's state; the task itself goes next. */
        void (*release)(Task *t);
} TaskOps;

struct Task {
        Manager *manager;
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
        Task *finished_prev, *finished_next;    /* Manager's list of finished tasks, oldest first */

        const TaskOps *ops;
        void *engine;
};

typedef struct Waiter Waiter;
struct Waiter {
        Manager *manager;
        Task *task;
        Waiter *prev, *next;
        sd_bus_message *call;
        char *sender;
        sd_event_source *timer;
};

/* Creates and publishes a running task for domain d, owned by uid owner. */
int task_new(Manager *m, const char *description, const Domain *d, uid_t owner, const TaskOps *ops,
             void *engine, Task **ret);
Task *task_ref(Task *t);
Task *task_unref(Task *t);
DEFINE_TRIVIAL_CLEANUP_FUNC(Task *, task_unref);

void task_set_progress(Task *t, unsigned percent);
/* Ends the task once; later calls are ignored. message may be NULL (success). */
void task_complete(Task *t, VpcError error, const char *message);
/* Removes the task from the bus and drops the manager's reference. */
void task_remove(Task *t);

Task *task_find_by_path(Manager *m, const char *path);
int task_path_to_id(const char *path, uint64_t *ret_id);

/* The sender left the bus: drop its parked WaitForCompletion calls. */
void task_waiters_forget_sender(Manager *m, const char *sender);
/* On shutdown: every task removed, every waiter answered. */
void task_remove_all(Manager *m);

int task_register(Manager *m);

extern const sd_bus_vtable task_vtable[];
