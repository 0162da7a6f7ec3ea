/* See logoff-task.h. The engine holds a task reference while an agent call is in flight, so a task
 * that completes meanwhile (cancel, VM stop) is still there when the stale reply arrives. */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>

#include "hypervisor-agent.h"
#include "log.h"
#include "logoff-task.h"
#include "logoff.h"
#include "manager.h"

#define BUSY_RETRY_USEC (100 * USEC_PER_MSEC)

_Static_assert(TASK_STATE_NOTICE_MAX == LOGOFF_MESSAGE_MAX, "a saved message holds any message");

typedef struct LogoffRun {
        Manager *manager;
        Task *task;             /* weak: the task owns the run */
        LogoffMachine machine;
        LogoffAction pending;   /* an agent command waiting for room in the agent queue */
        sd_event_source *timer;
        bool agent_busy;
        bool adopting;          /* restored from the state files, waits for the domain list */
} LogoffRun;

static void run_perform(LogoffRun *run, int r, const LogoffAction *a);

static void run_fail(LogoffRun *run, int r) {
        _cleanup_free_ char *message = NULL;

        if (asprintf(&message, "internal error: %s", strerror(-r)) < 0)
                message = NULL;
        task_complete(run->task, VPC_ERROR_EXCEPTION, message ?: "internal error");
}

static void run_update_progress(LogoffRun *run) {
        if (run->machine.phase != LOGOFF_PHASE_DONE)
                task_set_progress(run->task, run->machine.percent);
}

/* What a restart needs changed: the program's pid became known, or its exit was read. */
static void run_save_phase(LogoffRun *run, LogoffPhase before) {
        LogoffMachine *lm = &run->machine;
        Task *t = run->task;

        if (lm->phase == before || t->complete)
                return;
        if (lm->phase == LOGOFF_PHASE_LOGOFF_STATUS)
                t->resume.guest_pid = lm->exec_pid;
        else if (lm->phase == LOGOFF_PHASE_POLL_USERS && before == LOGOFF_PHASE_LOGOFF_STATUS) {
                t->resume.program_exited = true;
                t->resume.relogin_expected = lm->relogin_expected;
        } else
                return;
        task_save_state(t);
}

static void run_reply(LogoffRun *run, const LogoffReply *reply) {
        LogoffPhase before = run->machine.phase;
        LogoffAction a;
        int r;

        r = logoff_machine_reply(&run->machine, now_usec(CLOCK_MONOTONIC), reply, &a);
        run_update_progress(run);
        run_save_phase(run, before);
        run_perform(run, r, &a);
}

/* An agent call that failed while the VM was being destroyed says "agent disappeared" (Timeout) or
 * similar before libvirt's lifecycle event has come: the domain's state is asked first, in order
 * with the events, so a VM that stopped ends the task with VmNotRunning (domain_set_state() does it
 * as the answer is applied) and only a VM still running gets the call's own error. */
typedef struct FailedReply {
        Task *task;
        VpcError error;
        char *message;
} FailedReply;

static void on_failed_reply_refreshed(bool stopping, bool applied, void *userdata) {
        FailedReply *f = userdata;
        Task *t = f->task;

        if (!stopping && !t->complete)
                run_reply(t->engine, &(LogoffReply) { f->error, f->message, NULL });
        task_unref(t);
        free(f->message);
        free(f);
}

static void on_agent_reply(const AgentCallResult *result, void *userdata) {
        _cleanup_(task_unrefp) Task *t = userdata;      /* the reference taken for the call */
        LogoffRun *run = t->engine;
        FailedReply *f;

        run->agent_busy = false;
        if (result->stopping || t->complete)
                return;

        if (result->error != VPC_OK && result->error != VPC_ERROR_VM_NOT_RUNNING &&
            (f = calloc(1, sizeof(*f)))) {
                *f = (FailedReply) { .task = task_ref(t), .error = result->error,
                                     .message = result->message ? strdup(result->message) : NULL };
                if (hypervisor_refresh_domain(run->manager->hypervisor, t->vm_uuid, on_failed_reply_refreshed, f) >= 0)
                        return;
                task_unref(f->task);
                free(f->message);
                free(f);
        }
        run_reply(run, &(LogoffReply) { result->error, result->message, result->reply });
}

static int on_timer(sd_event_source *s, uint64_t usec, void *userdata) {
        LogoffRun *run = userdata;
        LogoffAction a;
        int r;

        run->timer = sd_event_source_disable_unref(run->timer);
        if (run->pending.kind == LOGOFF_ACTION_AGENT) {
                /* Retry of a command the full agent queue refused. */
                a = run->pending;
                run->pending = (LogoffAction) { .kind = LOGOFF_ACTION_DONE };
                run_perform(run, 0, &a);
                return 0;
        }
        r = logoff_machine_wake(&run->machine, now_usec(CLOCK_MONOTONIC), &a);
        run_update_progress(run);       /* the grace moves it */
        run_perform(run, r, &a);
        return 0;
}

static int arm_timer(LogoffRun *run, uint64_t usec) {
        /* Accuracy 1 µs: sd-event's default (0 = 250 ms) lets it coalesce the wake-up anywhere in
         * that window, which turned the 10-20 ms polls into up to 260 ms ones. */
        return sd_event_add_time_relative(run->manager->event, &run->timer, CLOCK_MONOTONIC, usec, 1, on_timer, run);
}

static void run_perform(LogoffRun *run, int r, const LogoffAction *a) {
        Task *t = run->task;
        Manager *m = run->manager;

        if (r < 0) {
                run_fail(run, r);
                return;
        }

        switch (a->kind) {
        case LOGOFF_ACTION_AGENT:
                r = hypervisor_agent_command(m->hypervisor, t->vm_uuid, a->command, (int) m->options.agent_timeout_sec,
                                             on_agent_reply, task_ref(t));
                if (r == -EBUSY) {
                        task_unref(t);
                        run->pending = *a;
                        r = arm_timer(run, BUSY_RETRY_USEC);
                } else if (r < 0)
                        task_unref(t);
                else
                        run->agent_busy = true;
                break;

        case LOGOFF_ACTION_SLEEP:
                r = arm_timer(run, a->sleep_usec);
                break;

        case LOGOFF_ACTION_DONE:
                task_complete(t, run->machine.result, run->machine.message);
                return;
        }
        if (r < 0)
                run_fail(run, r);
}

static void run_stop(Task *t) {
        LogoffRun *run = t->engine;

        run->timer = sd_event_source_disable_unref(run->timer);
        run->pending = (LogoffAction) { .kind = LOGOFF_ACTION_DONE };
}

static void run_release(Task *t) {
        LogoffRun *run = t->engine;

        if (!run)
                return;
        sd_event_source_disable_unref(run->timer);
        logoff_machine_release(&run->machine);
        free(run);
        t->engine = NULL;
}

static const TaskOps logoff_task_ops = {
        .stop = run_stop,
        .release = run_release,
};

int logoff_task_start(Manager *m, Domain *d, uid_t owner, GuestOsKind os, Task **ret) {
        return logoff_task_start_described(m, d, owner, "Logoff", os, ret);
}

int logoff_task_start_described(Manager *m, Domain *d, uid_t owner, const char *description, GuestOsKind os,
                                Task **ret) {
        return logoff_task_start_with_options(m, d, owner, description, NULL, os, ret);
}

int logoff_task_start_with_options(Manager *m, Domain *d, uid_t owner, const char *description,
                                   const LogoffOptions *o, GuestOsKind os, Task **ret) {
        LogoffState *s = logoff_state_get(d);
        LogoffRun *run;
        LogoffAction a;
        Task *t;
        int r;

        if (!s)
                return -ENOMEM;
        run = calloc(1, sizeof(*run));
        if (!run)
                return -ENOMEM;
        run->manager = m;
        /* Nothing pending: a zeroed action would read as LOGOFF_ACTION_AGENT with no command, and the
         * first poll timer would "retry" it (a NULL command; found by the end-to-end tests). */
        run->pending = (LogoffAction) { .kind = LOGOFF_ACTION_DONE };
        logoff_machine_init(&run->machine, os, now_usec(CLOCK_MONOTONIC),
                            (uint64_t) m->options.logoff_timeout_sec * USEC_PER_SEC,
                            (uint64_t) m->options.poll_interval_msec * USEC_PER_MSEC);
        if (o && logoff_machine_set_options(&run->machine, o) < 0) {
                logoff_machine_release(&run->machine);
                free(run);
                return -ENOMEM;
        }

        r = task_new(&m->tasks, description, d, owner, &logoff_task_ops, run, &t);
        if (r < 0) {
                logoff_machine_release(&run->machine);
                free(run);
                return r;
        }
        run->task = t;
        task_link(t, &s->task);
        t->resume = (TaskResume) {
                .os = os,
                .deadline_usec = t->started_usec + (uint64_t) m->options.logoff_timeout_sec * USEC_PER_SEC +
                                 run->machine.grace,
                .grace_sec = o ? o->grace_sec : 0,
        };
        if (run->machine.notice)
                snprintf(t->resume.notice, sizeof(t->resume.notice), "%s", run->machine.notice);
        task_save_state(t);

        /* The caller's reference, taken before the first step: that step may already complete the
         * task (its agent call refused), and with --max-tasks 0 a finished task leaves at once, so
         * without it the task would be freed before the caller reads its path. */
        *ret = task_ref(t);
        r = logoff_machine_start(&run->machine, &a);
        run_perform(run, r, &a);
        return 0;
}

void logoff_task_domain_stopped(Domain *d) {
        _cleanup_free_ char *message = NULL;

        Task *t = logoff_task_running(d);

        if (!t)
                return;
        if (asprintf(&message, "domain '%s' stopped (%s) during the logoff", d->name,
                     domain_state_to_string(d->state)) < 0)
                message = NULL;
        task_complete(t, VPC_ERROR_VM_NOT_RUNNING, message ?: "domain stopped");
}

static LogoffRun *run_new(Manager *m, GuestOsKind os, uint64_t timeout_usec) {
        LogoffRun *run = calloc(1, sizeof(*run));

        if (!run)
                return NULL;
        run->manager = m;
        run->pending = (LogoffAction) { .kind = LOGOFF_ACTION_DONE };
        logoff_machine_init(&run->machine, os, now_usec(CLOCK_MONOTONIC), timeout_usec,
                            (uint64_t) m->options.poll_interval_msec * USEC_PER_MSEC);
        return run;
}

int logoff_task_restore(Manager *m, const TaskRecord *rec, Task **ret) {
        uint64_t now = now_usec(CLOCK_REALTIME), left;
        LogoffRun *run = NULL;
        Task *t;
        int r;

        if (!rec->complete) {
                /* The deadline is wall-clock time: the time the daemon was down counts. */
                left = rec->resume.deadline_usec > now ? rec->resume.deadline_usec - now : 0;
                run = run_new(m, rec->resume.os, left);
                if (!run)
                        return -ENOMEM;
                /* Messages name the configured timeout, as for a task that never restarted. */
                run->machine.timeout = (uint64_t) m->options.logoff_timeout_sec * USEC_PER_SEC;
                /* Before its logoff program started: the message again, and the whole grace. */
                if (rec->resume.guest_pid == 0 && (rec->resume.notice[0] || rec->resume.grace_sec > 0)) {
                        _cleanup_free_ char *clean = NULL;

                        r = logoff_message_clean(rec->resume.notice, &clean);
                        if (r >= 0)
                                r = logoff_machine_set_options(&run->machine, &(LogoffOptions) {
                                        .message = clean, .grace_sec = rec->resume.grace_sec });
                        if (r < 0) {
                                logoff_machine_release(&run->machine);
                                free(run);
                                return r;
                        }
                }
                run->adopting = true;
        }
        r = task_restore(&m->tasks, rec, &logoff_task_ops, run, &t);
        if (r < 0) {
                if (run) {
                        logoff_machine_release(&run->machine);
                        free(run);
                }
                return r;
        }
        if (run)
                run->task = t;
        *ret = t;
        return 0;
}

void logoff_task_adopt(Manager *m, Task *t) {
        LogoffRun *run = t->engine;
        LogoffState *s;
        LogoffAction a;
        Domain *d;
        int r;

        if (t->complete || !run || !run->adopting)
                return;
        run->adopting = false;
        d = task_restored_domain(t, &m->domains);
        if (!d)
                return;
        s = logoff_state_get(d);
        if (!task_adopt_link(t, s ? &s->task : NULL, "Logoff"))
                return;
        log_info("%s: taking up the Logoff of '%s' again (guest pid %" PRIi64 "%s)", t->path, d->name,
                 t->resume.guest_pid, t->resume.program_exited ? ", exited" : "");
        r = logoff_machine_resume(&run->machine, t->resume.guest_pid, t->resume.program_exited,
                                  t->resume.relogin_expected, t->percent, &a);
        run_perform(run, r, &a);
}
