/* See logoff-request.h. One libvirt job per domain at a time for these checks (operation.c): calls
 * that come while one is in flight wait for it, so a domain never has more than one agent call in
 * flight for them and a flood queues one libvirt call per domain, not one per call. */
#include <errno.h>
#include <stdio.h>

#include "audit.h"
#include "log.h"
#include "logoff-check.h"
#include "logoff-request.h"
#include "logoff-task.h"
#include "operation.h"

/* What an operation's completion needs to answer its calls: the domain may be gone by then. */
typedef struct LogoffCheck {
        Manager *manager;
        Operation *operation;
        char vm_uuid[UUID_STRING_MAX];
        char *vm_name;
        const GuestCheckResult *result;         /* while the guest check's calls are answered */
        const char *failure;                    /* while the state check's calls are answered */
} LogoffCheck;

static void logoff_audit(sd_bus_message *call, const CallerCreds *creds, const char *vm_name, const char *vm_uuid,
                         VpcError result, const char *task_path, const char *message) {
        audit_log(&(AuditRecord) {
                .event = AUDIT_LOGOFF_REQUEST,
                .uid = creds->uid,
                .pid = creds->pid,
                .sender = sd_bus_message_get_sender(call),
                .vm_name = vm_name,
                .vm_uuid = vm_uuid,
                .task_path = task_path,
                .result = result,
                .message = message,
        });
}

void logoff_request_refuse(sd_bus_message *call, const CallerCreds *creds, const char *vm_name, const char *vm_uuid,
                           VpcError e, const char *reason) {
        _cleanup_free_ char *full = NULL;

        if (asprintf(&full, "cannot log off '%s': %s", vm_name, reason ?: "failed") < 0)
                full = NULL;
        logoff_audit(call, creds, vm_name, vm_uuid, e, NULL, full);
        (void) vpc_error_reply(call, e, "%s", full ?: "cannot log off");
}

static void logoff_request_answer_task(sd_bus_message *call, const CallerCreds *creds, const Domain *d, Task *t) {
        logoff_audit(call, creds, d->name, d->uuid, VPC_OK, t->path, NULL);
        (void) vpc_reply_return(call, "o", t->path);
}

/* The guest passed its check: the domain's running task, or a new one. */
static void logoff_request_start(Manager *m, Domain *d, sd_bus_message *call, const CallerCreds *creds,
                                 GuestOsKind os) {
        _cleanup_(task_unrefp) Task *t = NULL;
        int r;

        if (d->logoff_task) {
                logoff_request_answer_task(call, creds, d, d->logoff_task);
                return;
        }
        r = logoff_task_start(m, d, creds->uid, os, &t);
        if (r < 0) {
                logoff_request_refuse(call, creds, d->name, d->uuid, VPC_ERROR_EXCEPTION, strerror(-r));
                return;
        }
        logoff_request_answer_task(call, creds, d, t);
}

static void logoff_check_free(LogoffCheck *c) {
        free(c->vm_name);
        free(c);
}

/* The operation's job could not be started: every call parked on it (one) hears why. */
static void answer_not_started(sd_bus_message *call, const CallerCreds *creds, void *userdata) {
        LogoffCheck *c = userdata;

        logoff_request_refuse(call, creds, c->vm_name, c->vm_uuid, c->result->error, c->result->message);
}

typedef int (*check_start_t)(LogoffCheck *c);

/* Parks call on the operation in *slot; a new operation's job is started with start(). */
static void logoff_request_park(Manager *m, Domain *d, Operation **slot, sd_bus_message *call,
                                const CallerCreds *creds, check_start_t start) {
        LogoffCheck *c;
        Operation *o;
        int r;

        r = operation_park(slot, call, creds, &o);
        if (r < 0) {
                logoff_request_refuse(call, creds, d->name, d->uuid, VPC_ERROR_EXCEPTION, strerror(-r));
                return;
        }
        if (r == 0)
                return;         /* joined the one in flight */

        c = calloc(1, sizeof(*c));
        if (c) {
                *c = (LogoffCheck) { .manager = m, .operation = o, .vm_name = strdup(d->name) };
                strcpy(c->vm_uuid, d->uuid);
        }
        r = !c || !c->vm_name ? -ENOMEM : start(c);
        if (r < 0) {
                GuestCheckResult failed = {
                        .error = r == -EBUSY ? VPC_ERROR_LIMITS_EXCEEDED : VPC_ERROR_EXCEPTION,
                        .message = r == -EBUSY ? "too many guest-agent calls in flight" : strerror(-r),
                };
                LogoffCheck fallback = { .vm_name = d->name, .result = &failed };

                strcpy(fallback.vm_uuid, d->uuid);
                operation_finish(o, answer_not_started, &fallback);
                if (c)
                        logoff_check_free(c);
        }
}

/* --- the guest check --- */

static void answer_guest_checked(sd_bus_message *call, const CallerCreds *creds, void *userdata) {
        LogoffCheck *c = userdata;
        const GuestCheckResult *result = c->result;
        Domain *d;

        if (result->stopping) {
                logoff_request_refuse(call, creds, c->vm_name, c->vm_uuid, VPC_ERROR_EXCEPTION, "the service is stopping");
                return;
        }
        if (result->error != VPC_OK) {
                logoff_request_refuse(call, creds, c->vm_name, c->vm_uuid, result->error, result->message);
                return;
        }
        d = domain_registry_find_by_uuid(&c->manager->domains, c->vm_uuid);
        if (!d) {
                logoff_request_refuse(call, creds, c->vm_name, c->vm_uuid, VPC_ERROR_VM_UNKNOWN, "the domain is gone");
                return;
        }
        /* Calls that passed their check together share one task. */
        logoff_request_start(c->manager, d, call, creds, result->os);
}

static void on_guest_checked(const GuestCheckResult *result, void *userdata) {
        LogoffCheck *c = userdata;
        Domain *d;

        if (!result->stopping && result->error == VPC_OK &&
            (d = domain_registry_find_by_uuid(&c->manager->domains, c->vm_uuid)))
                domain_remember_guest_os(d, result->os, c->manager->generation);
        c->result = result;
        operation_finish(c->operation, answer_guest_checked, c);
        logoff_check_free(c);
}

static int start_guest_check(LogoffCheck *c) {
        Manager *m = c->manager;
        GuestOsKind known = domain_known_guest_os(domain_registry_find_by_uuid(&m->domains, c->vm_uuid), m->generation);

        return logoff_check_guest(m->hypervisor, c->vm_uuid, (int) m->options.agent_timeout_sec, known,
                                  on_guest_checked, c);
}

/* --- the state check before VmNotRunning --- */

static void answer_state_refreshed(sd_bus_message *call, const CallerCreds *creds, void *userdata) {
        LogoffCheck *c = userdata;
        _cleanup_free_ char *message = NULL;
        Domain *d;

        if (c->failure) {
                logoff_request_refuse(call, creds, c->vm_name, c->vm_uuid, VPC_ERROR_EXCEPTION, c->failure);
                return;
        }
        d = domain_registry_find_by_uuid(&c->manager->domains, c->vm_uuid);
        if (!d) {
                logoff_request_refuse(call, creds, c->vm_name, c->vm_uuid, VPC_ERROR_VM_UNKNOWN, "the domain is gone");
                return;
        }
        if (d->logoff_task) {
                logoff_request_answer_task(call, creds, d, d->logoff_task);
                return;
        }
        if (d->state == DOMAIN_STATE_RUNNING) {
                logoff_request_park(c->manager, d, &d->guest_check, call, creds, start_guest_check);
                return;
        }
        if (asprintf(&message, "domain '%s' is not running (%s)", d->name, domain_state_to_string(d->state)) < 0)
                message = NULL;
        logoff_request_refuse(call, creds, d->name, d->uuid, VPC_ERROR_VM_NOT_RUNNING,
                              message ?: "the domain is not running");
}

static void on_state_refreshed(bool stopping, bool applied, void *userdata) {
        LogoffCheck *c = userdata;

        if (stopping)
                c->failure = "the service is stopping";
        else if (!applied)
                c->failure = hypervisor_is_connected(c->manager->hypervisor) ?
                             "cannot read the domain's state from libvirt" : "not connected to the hypervisor";
        operation_finish(c->operation, answer_state_refreshed, c);
        logoff_check_free(c);
}

static int start_state_check(LogoffCheck *c) {
        return hypervisor_refresh_domain(c->manager->hypervisor, c->vm_uuid, on_state_refreshed, c);
}

void logoff_request(Manager *m, Domain *d, sd_bus_message *call, const CallerCreds *creds) {
        if (d->logoff_task) {
                logoff_request_answer_task(call, creds, d, d->logoff_task);
                return;
        }
        /* A running domain goes on to its guest check: an agent call on a domain that stopped or
         * vanished meanwhile fails with VmNotRunning or VmUnknown, so the registry's word is enough.
         * A stopped one is refused only once libvirt confirmed it. */
        if (d->state == DOMAIN_STATE_RUNNING)
                logoff_request_park(m, d, &d->guest_check, call, creds, start_guest_check);
        else
                logoff_request_park(m, d, &d->state_check, call, creds, start_state_check);
}
