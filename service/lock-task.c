/* See lock-task.h. The engine holds a task reference while an agent call is in flight, so a task
 * that completes meanwhile (cancel, VM stop) is still there when the stale reply arrives.
 *
 * A running Lock task's state file says "lock" (task-record.h), its guest OS, its deadline and, once
 * guest-exec answered, the lock program's pid: a restarted daemon polls that program's exit again
 * rather than locking twice, and one restarted before the pid was known runs the program then. */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>

#include "hypervisor-agent.h"
#include "lock-strategy.h"
#include "lock-task.h"
#include "log.h"
#include "manager.h"
#include "operation.h"

#define LOCK_BUSY_RETRY_USEC (100 * USEC_PER_MSEC)
/* guest-exec-status of the program: the first after 10 ms, doubling up to 200 ms. */
#define LOCK_POLL_MIN_USEC (10 * USEC_PER_MSEC)
#define LOCK_POLL_MAX_USEC (200 * USEC_PER_MSEC)

typedef struct LockRun {
        Manager *manager;
        Task *task;                     /* weak: the task owns the run */
        GuestOsKind os;
        const LockStrategy *strategy;
        int64_t pid;                    /* the program's guest-exec pid, 0 until it started */
        uint64_t deadline;              /* CLOCK_MONOTONIC µs */
        uint64_t interval;
        sd_event_source *timer;
        bool adopting;                  /* restored from its state file, until lock_task_adopt() */
} LockRun;

static void state_free(DomainFeature *f) {
        LockState *s = (LockState *) f;

        operation_detach(s->guest_check);
        operation_detach(s->state_check);
        free(s);
}

LockState *lock_state_get(Domain *d) {
        LockState *s;

        if (d->lock)
                return (LockState *) d->lock;
        s = calloc(1, sizeof(*s));
        if (!s)
                return NULL;
        s->feature.free = state_free;
        d->lock = &s->feature;
        return s;
}

Task *lock_task_running(const Domain *d) {
        return d->lock ? ((LockState *) d->lock)->task : NULL;
}

static void run_fail(LockRun *run, int r) {
        _cleanup_free_ char *message = NULL;

        if (asprintf(&message, "internal error: %s", strerror(-r)) < 0)
                message = NULL;
        task_complete(run->task, VPC_ERROR_EXCEPTION, message ?: "internal error");
}

static void run_send(LockRun *run);

static int on_timer(sd_event_source *s, uint64_t usec, void *userdata) {
        LockRun *run = userdata;

        run->timer = sd_event_source_disable_unref(run->timer);
        run_send(run);
        return 0;
}

static void run_sleep(LockRun *run, uint64_t usec) {
        int r;

        /* Accuracy 1 µs, as the Logoff's polls: sd-event's default would coalesce them to 250 ms. */
        r = sd_event_add_time_relative(run->manager->event, &run->timer, CLOCK_MONOTONIC, usec, 1, on_timer, run);
        if (r < 0)
                run_fail(run, r);
}

static void run_poll_later(LockRun *run) {
        run->interval = run->interval == 0 ? LOCK_POLL_MIN_USEC : run->interval * 2;
        if (run->interval > LOCK_POLL_MAX_USEC)
                run->interval = LOCK_POLL_MAX_USEC;
        run_sleep(run, run->interval);
}

static void run_end_exited(LockRun *run, const AgentExecStatus *status) {
        _cleanup_free_ char *message = NULL;
        VpcError e;
        int r;

        r = lock_strategy_outcome(run->strategy, run->os, status, &e, &message);
        if (r < 0) {
                run_fail(run, r);
                return;
        }
        if (e == VPC_OK)
                log_info("%s: the sessions of '%s' are locked", run->task->path, run->task->vm_name);
        task_complete(run->task, e, message);
}

static void run_reply(LockRun *run, VpcError error, const char *message, const char *json) {
        _cleanup_free_ char *parse_error = NULL;
        AgentExecStatus status;
        int r;

        if (error != VPC_OK) {
                /* The VM stopping or the agent going silent keep their own codes. */
                if (error == VPC_ERROR_VM_UNKNOWN)
                        error = VPC_ERROR_VM_NOT_RUNNING;
                else if (error != VPC_ERROR_VM_NOT_RUNNING && error != VPC_ERROR_TIMEOUT)
                        error = VPC_ERROR_EXCEPTION;
                task_complete(run->task, error, message ?: "guest agent call failed");
                return;
        }
        if (run->pid == 0) {
                r = agent_parse_exec(json, &run->pid, &parse_error);
                if (r == -ENOMEM) {
                        run_fail(run, r);
                        return;
                }
                if (r < 0) {
                        task_complete(run->task, VPC_ERROR_EXCEPTION, parse_error);
                        return;
                }
                run->task->resume.guest_pid = run->pid;
                task_save_state(run->task);
                run_poll_later(run);
                return;
        }
        r = agent_parse_exec_status(json, &status, &parse_error);
        if (r == -ENOMEM) {
                run_fail(run, r);
                return;
        }
        if (r < 0) {
                task_complete(run->task, VPC_ERROR_EXCEPTION, parse_error);
                return;
        }
        if (status.exited) {
                run_end_exited(run, &status);
                return;
        }
        if (now_usec(CLOCK_MONOTONIC) >= run->deadline) {
                _cleanup_free_ char *m = NULL;

                if (asprintf(&m, "the lock program '%s' did not finish within %u s", run->strategy->name,
                             run->manager->options.logoff_timeout_sec) < 0)
                        m = NULL;
                task_complete(run->task, VPC_ERROR_TIMEOUT, m ?: "the lock program did not finish in time");
                return;
        }
        run_poll_later(run);
}

/* An agent call that failed while the VM was being destroyed fails before libvirt's lifecycle
 * event has come: the domain's state is asked first, in order with the events, so a VM that
 * stopped ends the task with VmNotRunning (lock_task_domain_stopped()) and only a VM still running
 * gets the call's own error (as logoff-task.c does). */
typedef struct FailedReply {
        Task *task;
        VpcError error;
        char *message;
} FailedReply;

static void on_failed_reply_refreshed(bool stopping, bool applied, void *userdata) {
        FailedReply *f = userdata;

        if (!stopping && !f->task->complete)
                run_reply(f->task->engine, f->error, f->message, NULL);
        task_unref(f->task);
        free(f->message);
        free(f);
}

static void on_agent_reply(const AgentCallResult *result, void *userdata) {
        _cleanup_(task_unrefp) Task *t = userdata;      /* the reference taken for the call */
        FailedReply *f;

        if (result->stopping || t->complete)
                return;
        if (result->error != VPC_OK && result->error != VPC_ERROR_VM_NOT_RUNNING &&
            (f = calloc(1, sizeof(*f)))) {
                LockRun *run = t->engine;

                *f = (FailedReply) { .task = task_ref(t), .error = result->error,
                                     .message = result->message ? strdup(result->message) : NULL };
                if (hypervisor_refresh_domain(run->manager->hypervisor, t->vm_uuid, on_failed_reply_refreshed, f) >= 0)
                        return;
                task_unref(f->task);
                free(f->message);
                free(f);
        }
        run_reply(t->engine, result->error, result->message, result->reply);
}

static void run_send(LockRun *run) {
        _cleanup_free_ char *command = NULL;
        Task *t = run->task;
        Manager *m = run->manager;
        int r;

        command = run->pid == 0 ? agent_command_exec(run->strategy->path, run->strategy->argv)
                                : agent_command_exec_status(run->pid);
        if (!command) {
                run_fail(run, -ENOMEM);
                return;
        }
        r = hypervisor_agent_command(m->hypervisor, t->vm_uuid, command, (int) m->options.agent_timeout_sec,
                                     on_agent_reply, task_ref(t));
        if (r >= 0)
                return;
        task_unref(t);
        if (r == -EBUSY)
                run_sleep(run, LOCK_BUSY_RETRY_USEC);   /* the agent queue is full: try again */
        else
                run_fail(run, r);
}

static void run_stop(Task *t) {
        LockRun *run = t->engine;

        run->timer = sd_event_source_disable_unref(run->timer);
}

static void run_release(Task *t) {
        LockRun *run = t->engine;

        if (!run)
                return;
        sd_event_source_disable_unref(run->timer);
        free(run);
        t->engine = NULL;
}

static const TaskOps lock_task_ops = {
        .stop = run_stop,
        .release = run_release,
};

int lock_task_start(Manager *m, Domain *d, uid_t owner, GuestOsKind os, Task **ret) {
        return lock_task_start_described(m, d, owner, "Lock", os, ret);
}

int lock_task_start_described(Manager *m, Domain *d, uid_t owner, const char *description, GuestOsKind os,
                              Task **ret) {
        LockState *s;
        LockRun *run;
        Task *t;
        int r;

        s = lock_state_get(d);
        if (!s)
                return -ENOMEM;
        if (s->task) {
                *ret = task_ref(s->task);
                return 0;
        }
        run = calloc(1, sizeof(*run));
        if (!run)
                return -ENOMEM;
        *run = (LockRun) {
                .manager = m,
                .os = os,
                .strategy = lock_strategy_get(os),
                .deadline = now_usec(CLOCK_MONOTONIC) + (uint64_t) m->options.logoff_timeout_sec * USEC_PER_SEC,
        };
        r = task_new(&m->tasks, description, d, owner, &lock_task_ops, run, &t);
        if (r < 0) {
                free(run);
                return r;
        }
        run->task = t;
        task_link(t, &s->task);
        t->resume = (TaskResume) {
                .kind = TASK_KIND_LOCK,
                .os = os,
                .deadline_usec = t->started_usec + (uint64_t) m->options.logoff_timeout_sec * USEC_PER_SEC,
        };
        task_save_state(t);

        /* The caller's reference before the first step, which may already complete the task (see
         * logoff_task_start_described()). */
        *ret = task_ref(t);
        run_send(run);
        return 0;
}

void lock_task_domain_stopped(Domain *d) {
        _cleanup_free_ char *message = NULL;
        Task *t = lock_task_running(d);

        if (!t)
                return;
        if (asprintf(&message, "domain '%s' stopped (%s) during the lock", d->name, domain_state_to_string(d->state)) < 0)
                message = NULL;
        task_complete(t, VPC_ERROR_VM_NOT_RUNNING, message ?: "domain stopped");
}

int lock_task_restore(Manager *m, const TaskRecord *rec, Task **ret) {
        LockRun *run = NULL;
        Task *t;
        int r;

        if (!rec->complete) {
                uint64_t now = now_usec(CLOCK_REALTIME);

                run = calloc(1, sizeof(*run));
                if (!run)
                        return -ENOMEM;
                /* The deadline is wall-clock time: the time the daemon was down counts. */
                *run = (LockRun) {
                        .manager = m,
                        .os = rec->resume.os,
                        .strategy = lock_strategy_get(rec->resume.os),
                        .pid = rec->resume.guest_pid,
                        .deadline = now_usec(CLOCK_MONOTONIC) +
                                    (rec->resume.deadline_usec > now ? rec->resume.deadline_usec - now : 0),
                        .adopting = true,
                };
        }
        r = task_restore(&m->tasks, rec, &lock_task_ops, run, &t);
        if (r < 0) {
                free(run);
                return r;
        }
        if (run)
                run->task = t;
        *ret = t;
        return 0;
}

void lock_task_adopt(Manager *m, Task *t) {
        LockRun *run = t->engine;
        LockState *s;
        Domain *d;

        if (t->complete || !run || !run->adopting)
                return;
        run->adopting = false;
        d = task_restored_domain(t, &m->domains);
        if (!d)
                return;
        s = lock_state_get(d);
        if (!task_adopt_link(t, s ? &s->task : NULL, "Lock"))
                return;
        log_info("%s: taking up the Lock of '%s' again (guest pid %" PRIi64 ")", t->path, d->name, run->pid);
        run_send(run);
}
