/* See lock-request.h. One check per domain at a time (operation.c): calls that come while one is in
 * flight wait for it. */
#include <errno.h>
#include <stdio.h>

#include "lock-request.h"
#include "lock-task.h"
#include "logoff-check.h"
#include "logoff-state.h"
#include "operation.h"

const BusRequestKind lock_request_kind = {
        .event = AUDIT_LOCK_REQUEST,
        .action = "org.vpc.guestos.lock",
        .refusal = "cannot lock",
};

/* A check in flight: what its completion needs to find the domain again, which may be gone by then. */
typedef struct LockCheck {
        Manager *manager;
        Operation *operation;
        char vm_uuid[UUID_STRING_MAX];
        const GuestCheckResult *result;         /* while the guest check's calls are answered */
        const char *failure;                    /* while the state check's calls are answered */
} LockCheck;

static void answer_task(const BusRequest *req, Task *t) {
        BusRequest answered = *req;

        answered.task_path = t->path;
        bus_request_audit(&answered, VPC_OK, NULL);
        (void) vpc_reply_return(req->call, "o", t->path);
}

static void start_or_join(Manager *m, Domain *d, const BusRequest *req, GuestOsKind os) {
        _cleanup_(task_unrefp) Task *t = NULL;
        int r;

        r = lock_task_start(m, d, req->creds.uid, os, &t);
        if (r < 0) {
                bus_request_refuse(req, VPC_ERROR_EXCEPTION, strerror(-r));
                return;
        }
        answer_task(req, t);
}

typedef struct NotStarted {
        VpcError error;
        const char *message;
} NotStarted;

static void answer_not_started(const BusRequest *req, void *userdata) {
        const NotStarted *n = userdata;

        bus_request_refuse(req, n->error, n->message);
}

typedef int (*check_start_t)(LockCheck *c);

static void park(Manager *m, Domain *d, Operation **slot, const BusRequest *req, check_start_t start) {
        _cleanup_free_ LockCheck *c = NULL;
        Operation *o;
        int r;

        r = operation_park(slot, req, &o);
        if (r < 0) {
                bus_request_refuse(req, VPC_ERROR_EXCEPTION, strerror(-r));
                return;
        }
        if (r == 0)
                return;         /* joined the one in flight */

        c = calloc(1, sizeof(*c));
        if (c) {
                *c = (LockCheck) { .manager = m, .operation = o };
                strcpy(c->vm_uuid, d->uuid);
        }
        r = c ? start(c) : -ENOMEM;
        if (r < 0) {
                operation_finish(o, answer_not_started, &(NotStarted) {
                        .error = r == -EBUSY ? VPC_ERROR_LIMITS_EXCEEDED : VPC_ERROR_EXCEPTION,
                        .message = r == -EBUSY ? "too many guest-agent calls in flight" : strerror(-r),
                });
                return;
        }
        TAKE_PTR(c);    /* the job's now */
}

/* --- the guest check: Logoff's, which reads what a Lock needs too (guest-exec, the OS) --- */

static void answer_guest_checked(const BusRequest *req, void *userdata) {
        LockCheck *c = userdata;
        const GuestCheckResult *result = c->result;
        Domain *d;

        if (result->stopping) {
                bus_request_refuse(req, VPC_ERROR_EXCEPTION, "the service is stopping");
                return;
        }
        if (result->error != VPC_OK) {
                bus_request_refuse(req, result->error, result->message);
                return;
        }
        d = domain_registry_find_by_uuid(&c->manager->domains, c->vm_uuid);
        if (!d) {
                bus_request_refuse(req, VPC_ERROR_VM_UNKNOWN, "the domain is gone");
                return;
        }
        /* Calls that passed their check together share one task. */
        start_or_join(c->manager, d, req, result->os);
}

static void on_guest_checked(const GuestCheckResult *result, void *userdata) {
        LockCheck *c = userdata;
        Domain *d;

        if (!result->stopping && result->error == VPC_OK &&
            (d = domain_registry_find_by_uuid(&c->manager->domains, c->vm_uuid)))
                logoff_state_remember_guest_os(d, result->os, c->manager->generation);
        c->result = result;
        operation_finish(c->operation, answer_guest_checked, c);
        free(c);
}

static int start_guest_check(LockCheck *c) {
        Manager *m = c->manager;
        GuestOsKind known = logoff_state_known_guest_os(domain_registry_find_by_uuid(&m->domains, c->vm_uuid), m->generation);

        return logoff_check_guest(m->hypervisor, c->vm_uuid, (int) m->options.agent_timeout_sec, known,
                                  on_guest_checked, c);
}

/* --- the state check before VmNotRunning --- */

static void answer_state_refreshed(const BusRequest *req, void *userdata) {
        LockCheck *c = userdata;
        _cleanup_free_ char *message = NULL;
        LockState *s;
        Domain *d;

        if (c->failure) {
                bus_request_refuse(req, VPC_ERROR_EXCEPTION, c->failure);
                return;
        }
        d = domain_registry_find_by_uuid(&c->manager->domains, c->vm_uuid);
        if (!d) {
                bus_request_refuse(req, VPC_ERROR_VM_UNKNOWN, "the domain is gone");
                return;
        }
        if (lock_task_running(d)) {
                answer_task(req, lock_task_running(d));
                return;
        }
        if (d->state == DOMAIN_STATE_RUNNING) {
                s = lock_state_get(d);
                if (!s) {
                        bus_request_refuse(req, VPC_ERROR_EXCEPTION, strerror(ENOMEM));
                        return;
                }
                park(c->manager, d, &s->guest_check, req, start_guest_check);
                return;
        }
        if (asprintf(&message, "domain '%s' is not running (%s)", d->name, domain_state_to_string(d->state)) < 0)
                message = NULL;
        bus_request_refuse(req, VPC_ERROR_VM_NOT_RUNNING, message ?: "the domain is not running");
}

static void on_state_refreshed(bool stopping, bool applied, void *userdata) {
        LockCheck *c = userdata;

        if (stopping)
                c->failure = "the service is stopping";
        else if (!applied)
                c->failure = hypervisor_is_connected(c->manager->hypervisor) ?
                             "cannot read the domain's state from libvirt" : "not connected to the hypervisor";
        operation_finish(c->operation, answer_state_refreshed, c);
        free(c);
}

static int start_state_check(LockCheck *c) {
        return hypervisor_refresh_domain(c->manager->hypervisor, c->vm_uuid, on_state_refreshed, c);
}

void lock_request(Manager *m, Domain *d, const BusRequest *req) {
        LockState *s;

        if (lock_task_running(d)) {
                answer_task(req, lock_task_running(d));
                return;
        }
        s = lock_state_get(d);
        if (!s) {
                bus_request_refuse(req, VPC_ERROR_EXCEPTION, strerror(ENOMEM));
                return;
        }
        /* As a Logoff's: a running domain goes on to its guest check, a stopped one is refused only
         * once libvirt confirmed it. */
        if (d->state == DOMAIN_STATE_RUNNING)
                park(m, d, &s->guest_check, req, start_guest_check);
        else
                park(m, d, &s->state_check, req, start_state_check);
}
