/* See domain-request.h. */
#include <errno.h>
#include <stdio.h>

#include "domain-request.h"
#include "logoff-check.h"
#include "logoff-state.h"
#include "operation.h"

/* A check in flight, the guest check (logoff-check.c's GuestCheckResult comes back) or the state
 * check: what its operation's completion needs to find the domain again, which may be gone by
 * then. */
typedef struct RequestCheck {
        Manager *manager;
        const DomainRequestFeature *feature;
        Operation *operation;
        char vm_uuid[UUID_STRING_MAX];
        const GuestCheckResult *result;         /* while the guest check's calls are answered */
        const char *failure;                    /* while the state check's calls are answered */
} RequestCheck;

void domain_request_answer_task(const BusRequest *req, Task *t) {
        BusRequest answered = *req;

        answered.task_path = t->path;
        bus_request_audit(&answered, VPC_OK, NULL);
        (void) vpc_reply_return(req->call, "o", t->path);
}

/* Why an operation's job could not be started. */
typedef struct NotStarted {
        VpcError error;
        const char *message;
} NotStarted;

static void answer_not_started(const BusRequest *req, void *userdata) {
        const NotStarted *n = userdata;

        bus_request_refuse(req, n->error, n->message);
}

typedef int (*check_start_t)(RequestCheck *c);

/* Parks req on d's guest check (or, with state_check, its state check); a new operation's job is
 * started with start(). */
static void park(Manager *m, Domain *d, const DomainRequestFeature *f, bool state_check, const BusRequest *req,
                 check_start_t start) {
        _cleanup_free_ RequestCheck *c = NULL;
        Operation **guest_slot, **state_slot, *o;
        int r;

        r = f->checks(d, &guest_slot, &state_slot);
        r = r < 0 ? r : operation_park(state_check ? state_slot : guest_slot, req, &o);
        if (r < 0) {
                bus_request_refuse(req, VPC_ERROR_EXCEPTION, strerror(-r));
                return;
        }
        if (r == 0)
                return;         /* joined the one in flight */

        c = calloc(1, sizeof(*c));
        if (c) {
                *c = (RequestCheck) { .manager = m, .feature = f, .operation = o };
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

/* --- the guest check --- */

static void answer_guest_checked(const BusRequest *req, void *userdata) {
        RequestCheck *c = userdata;
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
        c->feature->start(c->manager, d, req, result->os);
}

static void on_guest_checked(const GuestCheckResult *result, void *userdata) {
        RequestCheck *c = userdata;
        Domain *d;

        if (!result->stopping && result->error == VPC_OK &&
            (d = domain_registry_find_by_uuid(&c->manager->domains, c->vm_uuid)))
                logoff_state_remember_guest_os(d, result->os, c->manager->generation);
        c->result = result;
        operation_finish(c->operation, answer_guest_checked, c);
        free(c);
}

static int start_guest_check(RequestCheck *c) {
        Manager *m = c->manager;
        GuestOsKind known = logoff_state_known_guest_os(domain_registry_find_by_uuid(&m->domains, c->vm_uuid), m->generation);

        return logoff_check_guest(m->hypervisor, c->vm_uuid, (int) m->options.agent_timeout_sec, known,
                                  on_guest_checked, c);
}

/* --- the state check before VmNotRunning --- */

static void answer_state_refreshed(const BusRequest *req, void *userdata) {
        RequestCheck *c = userdata;
        _cleanup_free_ char *message = NULL;
        Task *running;
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
        running = c->feature->running(d);
        if (running) {
                domain_request_answer_task(req, running);
                return;
        }
        if (d->state == DOMAIN_STATE_RUNNING) {
                park(c->manager, d, c->feature, false, req, start_guest_check);
                return;
        }
        if (asprintf(&message, "domain '%s' is not running (%s)", d->name, domain_state_to_string(d->state)) < 0)
                message = NULL;
        bus_request_refuse(req, VPC_ERROR_VM_NOT_RUNNING, message ?: "the domain is not running");
}

static void on_state_refreshed(bool stopping, bool applied, void *userdata) {
        RequestCheck *c = userdata;

        if (stopping)
                c->failure = "the service is stopping";
        else if (!applied)
                c->failure = hypervisor_is_connected(c->manager->hypervisor) ?
                             "cannot read the domain's state from libvirt" : "not connected to the hypervisor";
        operation_finish(c->operation, answer_state_refreshed, c);
        free(c);
}

static int start_state_check(RequestCheck *c) {
        return hypervisor_refresh_domain(c->manager->hypervisor, c->vm_uuid, on_state_refreshed, c);
}

void domain_request(Manager *m, Domain *d, const BusRequest *req, const DomainRequestFeature *f) {
        Task *running = f->running(d);

        if (running) {
                domain_request_answer_task(req, running);
                return;
        }
        /* A running domain goes on to its guest check: an agent call on a domain that stopped or
         * vanished meanwhile fails with VmNotRunning or VmUnknown, so the registry's word is enough.
         * A stopped one is refused only once libvirt confirmed it. */
        park(m, d, f, d->state != DOMAIN_STATE_RUNNING, req,
             d->state == DOMAIN_STATE_RUNNING ? start_guest_check : start_state_check);
}
