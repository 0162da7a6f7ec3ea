/* The task model (see task.h): lifetime, progress and completion with their signals, the parked
 * WaitForCompletion calls answered when the task ends, and the retention/max-tasks bounds. The bus
 * side (properties, methods, lookup) is task-dbus.c. */
#include <assert.h>
#include <errno.h>
#include <inttypes.h>
#include <search.h>
#include <stddef.h>
#include <stdio.h>

#include "audit.h"
#include "log.h"
#include "task.h"

static int compare_id(const void *a, const void *b) {
        uint64_t x = ((const Task *) a)->id, y = ((const Task *) b)->id;

        return x < y ? -1 : x > y;
}

int task_path_to_id(const char *path, uint64_t *ret_id) {
        const char *s;
        char *end;
        uint64_t id;

        if (!path || strncmp(path, TASK_PATH_PREFIX "/", strlen(TASK_PATH_PREFIX) + 1) != 0)
                return -EINVAL;
        s = path + strlen(TASK_PATH_PREFIX) + 1;
        /* Canonical decimal only: "/Task/01" is not "/Task/1". */
        if (s[0] < '1' || s[0] > '9')
                return -EINVAL;
        errno = 0;
        id = strtoull(s, &end, 10);
        if (errno != 0 || *end != 0)
                return -EINVAL;
        *ret_id = id;
        return 0;
}

Task *task_find_by_path(TaskRegistry *reg, const char *path) {
        Task key = {};
        void *node;

        if (task_path_to_id(path, &key.id) < 0)
                return NULL;
        node = tfind(&key, &reg->tasks, compare_id);
        return node ? *(Task **) node : NULL;
}

/* --- waiters --- */

static void waiter_free(Waiter *w) {
        Task *t = w->task;

        LIST_REMOVE(waiters, t->waiters, w);
        t->registry->n_waiters--;

        caller_unlink(&w->link);
        sd_event_source_disable_unref(w->timer);
        sd_bus_message_unref(w->call);
        task_unref(t);
        free(w);
}

static void waiter_answer(Waiter *w, bool complete) {
        int r = vpc_reply_return(w->call, "b", complete);

        if (r < 0)
                log_debug("cannot answer WaitForCompletion of %s: %s",
                          strempty(sd_bus_message_get_sender(w->call)), strerror(-r));
        waiter_free(w);
}

static void task_answer_waiters(Task *t) {
        /* The last waiter may hold the last reference. */
        _cleanup_(task_unrefp) _unused_ Task *hold = task_ref(t);

        while (t->waiters.first)
                waiter_answer(t->waiters.first, true);
}

/* The caller left the bus: nobody is there to read the answer. */
static void on_waiter_caller_left(CallerLink *link) {
        waiter_free((Waiter *) ((char *) link - offsetof(Waiter, link)));
}

static int on_waiter_timeout(sd_event_source *s, uint64_t usec, void *userdata) {
        waiter_answer(userdata, false);
        return 0;
}

int task_park_waiter(Task *t, sd_bus_message *call, Caller *caller, uint64_t timeout_usec) {
        TaskRegistry *reg = t->registry;
        Waiter *w;
        int r;

        w = calloc(1, sizeof(*w));
        if (!w)
                return -ENOMEM;
        w->task = task_ref(t);
        w->call = sd_bus_message_ref(call);
        LIST_PREPEND(waiters, t->waiters, w);
        reg->n_waiters++;
        caller_link(caller, &w->link, CALLER_LINK_WAITER, on_waiter_caller_left, NULL);

        /* A caller's timeout is kept to the millisecond (sd-event's default accuracy is 250 ms). */
        if (timeout_usec != USEC_INFINITY) {
                r = sd_event_add_time_relative(reg->event, &w->timer, CLOCK_MONOTONIC, timeout_usec, USEC_PER_MSEC,
                                               on_waiter_timeout, w);
                if (r < 0) {
                        waiter_free(w);
                        return r;
                }
        }
        return 0;
}

/* --- lifetime --- */

Task *task_ref(Task *t) {
        if (t)
                t->n_ref++;
        return t;
}

Task *task_unref(Task *t) {
        if (!t || --t->n_ref > 0)
                return NULL;
        if (t->ops && t->ops->release)
                t->ops->release(t);
        sd_event_source_disable_unref(t->retention_timer);
        free(t->path);
        free(t->description);
        free(t->target_path);
        free(t->vm_name);
        free(t->error_message);
        free(t);
        return NULL;
}

void task_registry_init(TaskRegistry *reg, sd_event *event, sd_bus *bus, Authorizer *authorizer,
                        CallerRegistry *callers, const TaskOptions *options) {
        *reg = (TaskRegistry) {
                .event = event,
                .bus = bus,
                .authorizer = authorizer,
                .callers = callers,
                .options = *options,
        };
}

int task_new(TaskRegistry *reg, const char *description, const Domain *d, uid_t owner, const TaskOps *ops,
             void *engine, Task **ret) {
        _cleanup_(task_unrefp) Task *t = NULL;

        t = calloc(1, sizeof(*t));
        if (!t)
                return -ENOMEM;
        t->n_ref = 1;
        t->registry = reg;
        t->id = ++reg->last_task_id;
        /* Before the id is seen anywhere: a restart must never hand it out again. */
        (void) task_store_reserve(reg->store, t->id);
        t->owner = owner;
        t->started_usec = now_usec(CLOCK_REALTIME);
        strcpy(t->vm_uuid, d->uuid);
        if (asprintf(&t->path, TASK_PATH_PREFIX "/%" PRIu64, t->id) < 0)
                return -ENOMEM;
        t->description = strdup(description);
        t->target_path = strdup(d->path);
        t->vm_name = strdup(d->name);
        if (!t->description || !t->target_path || !t->vm_name)
                return -ENOMEM;

        if (!tsearch(t, &reg->tasks, compare_id))
                return -ENOMEM;
        reg->n_tasks++;
        t->published = true;
        /* Engine last: from here on the task owns it. */
        t->ops = ops;
        t->engine = engine;

        (void) sd_bus_emit_object_added(reg->bus, t->path);
        *ret = TAKE_PTR(t);
        return 0;
}

static int task_to_record(const Task *t, TaskRecord *rec) {
        *rec = (TaskRecord) {
                .id = t->id,
                .owner = t->owner,
                .started_usec = t->started_usec,
                .percent = t->percent,
                .complete = t->complete,
                .resume = t->resume,
                .error = t->error,
                .finished_usec = t->finished_usec,
        };
        strcpy(rec->vm_uuid, t->vm_uuid);
        rec->vm_name = strdup(t->vm_name);
        rec->description = strdup(t->description);
        if (t->error_message)
                rec->error_message = strdup(t->error_message);
        if (!rec->vm_name || !rec->description || (t->error_message && !rec->error_message)) {
                task_record_done(rec);
                return -ENOMEM;
        }
        return 0;
}

void task_save_state(Task *t) {
        _cleanup_(task_record_done) TaskRecord rec = {};

        if (!task_store_usable(t->registry->store) || !t->published)
                return;
        if (task_to_record(t, &rec) < 0) {
                log_warning("cannot save the state of %s: out of memory", t->path);
                return;
        }
        (void) task_store_save(t->registry->store, &rec);
}

static void task_retain(Task *t, uint64_t retention_usec);

int task_restore(TaskRegistry *reg, const TaskRecord *rec, const TaskOps *ops, void *engine, Task **ret) {
        _cleanup_(task_unrefp) Task *t = NULL;
        uint64_t retention = (uint64_t) reg->options.task_retention_sec * USEC_PER_SEC, now = 0, until = 0;
        Task key = { .id = rec->id };

        if (tfind(&key, &reg->tasks, compare_id))
                return -EEXIST;
        if (rec->complete) {
                now = now_usec(CLOCK_REALTIME);
                until = rec->finished_usec + retention;
                if (until <= now || until < rec->finished_usec)
                        return -ESTALE;
        }

        t = calloc(1, sizeof(*t));
        if (!t)
                return -ENOMEM;
        t->n_ref = 1;
        t->registry = reg;
        t->id = rec->id;
        t->owner = rec->owner;
        t->started_usec = rec->started_usec;
        t->percent = rec->percent;
        t->resume = rec->resume;
        strcpy(t->vm_uuid, rec->vm_uuid);
        if (asprintf(&t->path, TASK_PATH_PREFIX "/%" PRIu64, t->id) < 0)
                return -ENOMEM;
        t->description = strdup(rec->description);
        t->vm_name = strdup(rec->vm_name);
        if (!t->description || !t->vm_name || guestos_path_from_name(t->vm_name, &t->target_path) < 0)
                return -ENOMEM;
        if (rec->complete) {
                t->complete = true;
                t->error = rec->error;
                t->finished_usec = rec->finished_usec;
                if (rec->error_message && !(t->error_message = strdup(rec->error_message)))
                        return -ENOMEM;
        }

        if (!tsearch(t, &reg->tasks, compare_id))
                return -ENOMEM;
        reg->n_tasks++;
        t->published = true;
        if (t->id > reg->last_task_id)
                reg->last_task_id = t->id;
        (void) sd_bus_emit_object_added(reg->bus, t->path);

        if (rec->complete) {
                /* The list may let it go at once (max-tasks); *ret, as task_new()'s, is the registry's. */
                _cleanup_(task_unrefp) Task *hold = task_ref(t);
                Task *kept = TAKE_PTR(t);

                task_retain(kept, until - now);
                if (!kept->published)
                        return -ESTALE;
                *ret = kept;
                return 0;
        }
        t->ops = ops;
        t->engine = engine;
        *ret = TAKE_PTR(t);
        return 0;
}

void task_set_progress(Task *t, unsigned percent) {
        if (t->complete || percent == t->percent || percent > 100)
                return;
        t->percent = percent;
        /* Saved with every change: a restarted daemon resumes from the stored percentage, so a
         * client never sees the progress go back (one write per change, at most 100 per task). */
        task_save_state(t);
        (void) sd_bus_emit_properties_changed(t->registry->bus, t->path, "org.vpc.Task", "PercentCompleted", NULL);
        (void) sd_bus_emit_signal(t->registry->bus, t->path, "org.vpc.Task", "Progress", "u", percent);
}

static void finished_unlink(Task *t) {
        TaskRegistry *reg = t->registry;

        if (!t->complete)
                return;
        /* Not yet in the list: completed, but task_retain() has not run. */
        if (!t->finished_prev && reg->finished.first != t)
                return;
        LIST_REMOVE(finished, reg->finished, t);
        reg->n_finished--;
}

void task_remove(Task *t) {
        TaskRegistry *reg = t->registry;

        if (!t->published)
                return;
        /* InterfacesRemoved lists the interfaces, so it goes out while the object is still found. */
        (void) sd_bus_emit_object_removed(reg->bus, t->path);
        t->published = false;
        finished_unlink(t);
        tdelete(t, &reg->tasks, compare_id);
        reg->n_tasks--;
        t->retention_timer = sd_event_source_disable_unref(t->retention_timer);
        (void) task_store_delete(reg->store, t->id);
        task_unref(t);
}

static int on_retention_timeout(sd_event_source *s, uint64_t usec, void *userdata) {
        task_remove(userdata);
        return 0;
}

void task_link(Task *t, Task **link) {
        assert(!t->complete && !t->link);
        t->link = link;
        *link = t;
}

/* Keeps a finished task for retention_usec, and at most max_tasks finished ones: oldest out first. */
static void task_retain(Task *t, uint64_t retention_usec) {
        TaskRegistry *reg = t->registry;
        Task *after = reg->finished.last;
        int r;

        /* By FinishedUSec: tasks restored at start come in any order. */
        while (after && after->finished_usec > t->finished_usec)
                after = after->finished_prev;
        LIST_INSERT_AFTER(finished, reg->finished, after, t);
        reg->n_finished++;
        while (reg->n_finished > reg->options.max_tasks && reg->finished.first)
                task_remove(reg->finished.first);

        if (t->published) {
                r = sd_event_add_time_relative(reg->event, &t->retention_timer, CLOCK_MONOTONIC, retention_usec, 0,
                                               on_retention_timeout, t);
                if (r < 0) {
                        log_error("cannot arm the retention timer of %s: %s", t->path, strerror(-r));
                        task_remove(t);
                }
        }
}

void task_complete(Task *t, VpcError error, const char *message) {
        TaskRegistry *reg = t->registry;

        if (t->complete)
                return;
        _cleanup_(task_unrefp) _unused_ Task *hold = task_ref(t);

        bool progressed = error == VPC_OK && t->percent != 100;

        t->complete = true;
        t->error = error;
        t->finished_usec = now_usec(CLOCK_REALTIME);
        if (error == VPC_OK)
                t->percent = 100;
        free(t->error_message);
        t->error_message = NULL;
        /* ErrorMessage and Completed carry it to every client: worded as a reply's error is, through
         * the same boundary, so one guest's bytes cannot make the task's properties (and
         * GetManagedObjects) unsendable. */
        if (error != VPC_OK)
                t->error_message = vpc_error_message(error, "%s", message ?: "operation failed");

        if (t->ops && t->ops->stop)
                t->ops->stop(t);

        if (t->link && *t->link == t)
                *t->link = NULL;
        t->link = NULL;

        audit_log(&(AuditRecord) {
                .event = AUDIT_TASK_END,
                .uid = t->owner,
                .vm_name = t->vm_name,
                .vm_uuid = t->vm_uuid,
                .task_path = t->path,
                .result = error,
                .message = t->error_message,
        });

        (void) sd_bus_emit_properties_changed(reg->bus, t->path, "org.vpc.Task", "IsComplete", "PercentCompleted",
                                              "ErrorCode", "ErrorName", "ErrorMessage", "FinishedUSec", NULL);
        if (progressed)
                (void) sd_bus_emit_signal(reg->bus, t->path, "org.vpc.Task", "Progress", "u", t->percent);
        (void) sd_bus_emit_signal(reg->bus, t->path, "org.vpc.Task", "Completed", "uss", vpc_error_hresult(error),
                                  error == VPC_OK ? "" : vpc_error_name(error), strempty(t->error_message));
        task_answer_waiters(t);

        task_retain(t, (uint64_t) reg->options.task_retention_sec * USEC_PER_SEC);
        task_save_state(t);
}

static void collect_task(const void *node, VISIT which, void *closure) {
        Task ***next = closure;

        if (which == postorder || which == leaf)
                *(*next)++ = *(Task *const *) node;
}

/* Shutdown with a usable store: the task leaves the bus quietly and its file stays for the next start. */
static void task_detach(Task *t) {
        TaskRegistry *reg = t->registry;

        if (!t->complete && t->ops && t->ops->stop)
                t->ops->stop(t);
        if (t->link && *t->link == t)
                *t->link = NULL;
        t->link = NULL;
        while (t->waiters.first)
                waiter_free(t->waiters.first);
        if (!t->published)
                return;
        t->published = false;
        finished_unlink(t);
        tdelete(t, &reg->tasks, compare_id);
        reg->n_tasks--;
        t->retention_timer = sd_event_source_disable_unref(t->retention_timer);
        task_unref(t);
}

void task_remove_all(TaskRegistry *reg) {
        _cleanup_free_ Task **all = NULL;
        bool keep = task_store_usable(reg->store);
        Task **end;

        all = calloc(reg->n_tasks + 1, sizeof(Task *));
        if (!all)
                return;
        end = all;
        twalk_r(reg->tasks, collect_task, &end);
        /* Completing one task may push another out (max-tasks): hold them all while we go. */
        for (Task **t = all; t < end; t++)
                task_ref(*t);
        for (Task **t = all; t < end; t++) {
                if (keep)
                        task_detach(*t);
                else {
                        task_complete(*t, VPC_ERROR_CANCELLED, "the service is stopping");
                        task_remove(*t);
                }
                task_unref(*t);
        }
}

Domain *task_restored_domain(Task *t, DomainRegistry *domains) {
        _cleanup_free_ char *message = NULL;
        Domain *d;

        d = domain_registry_find_by_uuid(domains, t->vm_uuid);
        if (!d) {
                task_complete(t, VPC_ERROR_VM_NOT_RUNNING, "the domain no longer exists (seen after the service restarted)");
                return NULL;
        }
        if (d->state == DOMAIN_STATE_RUNNING)
                return d;
        if (asprintf(&message, "domain '%s' stopped (%s) while the service restarted", d->name,
                     domain_state_to_string(d->state)) < 0)
                message = NULL;
        task_complete(t, VPC_ERROR_VM_NOT_RUNNING, message ?: "domain stopped");
        return NULL;
}

bool task_adopt_link(Task *t, Task **link, const char *kind) {
        char message[96];

        if (!link) {
                snprintf(message, sizeof(message), "out of memory while taking up the %s", kind);
                task_complete(t, VPC_ERROR_EXCEPTION, message);
                return false;
        }
        if (*link) {
                snprintf(message, sizeof(message), "another %s of the domain runs", kind);
                task_complete(t, VPC_ERROR_EXCEPTION, message);
                return false;
        }
        task_link(t, link);
        return true;
}
