/* org.vpc.GuestOS (see guestos.h). Logoff: authorize (polkit, async) -> check the guest on a worker
 * -> start or join the domain's Logoff task -> reply with its path. */
#include <errno.h>

#include "audit.h"
#include "guestos.h"
#include "log.h"
#include "logoff-check.h"
#include "logoff-run.h"
#include "task.h"

typedef struct LogoffRequest LogoffRequest;
struct LogoffRequest {
        Manager *manager;
        LogoffRequest *next;            /* in the GuestCheck it waits for */
        sd_bus_message *call;
        char *vm_name;
        char vm_uuid[UUID_STRING_MAX];
        CallerCreds creds;
};

/* One libvirt call per domain at a time for Logoff's checks (the guest agent check, or the state
 * query before VmNotRunning): concurrent Logoff calls on the same domain wait for the same call, so a
 * domain never has more than one agent call in flight, and a flood queues one libvirt call per
 * domain, not one per call. */
typedef struct GuestCheck {
        char vm_uuid[UUID_STRING_MAX];
        LogoffRequest *requests;
} GuestCheck;

static void logoff_request_free(LogoffRequest *q) {
        sd_bus_message_unref(q->call);
        free(q->vm_name);
        free(q);
}

static void logoff_request_audit(LogoffRequest *q, VpcError result, const char *task_path, const char *message) {
        audit_log(&(AuditRecord) {
                .event = AUDIT_LOGOFF_REQUEST,
                .uid = q->creds.uid,
                .pid = q->creds.pid,
                .sender = sd_bus_message_get_sender(q->call),
                .vm_name = q->vm_name,
                .vm_uuid = q->vm_uuid,
                .task_path = task_path,
                .result = result,
                .message = message,
        });
}

/* Ends the request with an error from the table, audited. */
static void logoff_request_fail(LogoffRequest *q, VpcError e, const char *message) {
        _cleanup_free_ char *full = NULL;

        if (asprintf(&full, "cannot log off '%s': %s", q->vm_name, message ?: "failed") < 0)
                full = NULL;
        logoff_request_audit(q, e, NULL, full);
        (void) vpc_error_reply(q->call, e, "%s", full ?: "cannot log off");
        logoff_request_free(q);
}

static void logoff_request_succeed(LogoffRequest *q, Task *t) {
        logoff_request_audit(q, VPC_OK, t->path, NULL);
        (void) sd_bus_reply_method_return(q->call, "o", t->path);
        logoff_request_free(q);
}

/* Answers q at once when its domain is gone (VmUnknown) or already runs a Logoff task (that task).
 * Returns the domain when q still needs work, NULL when q was answered and freed. */
static Domain *logoff_request_resolve(LogoffRequest *q) {
        Domain *d = domain_registry_find_by_uuid(&q->manager->domains, q->vm_uuid);

        if (!d) {
                logoff_request_fail(q, VPC_ERROR_VM_UNKNOWN, "the domain is gone");
                return NULL;
        }
        if (d->logoff_task) {
                logoff_request_succeed(q, d->logoff_task);
                return NULL;
        }
        return d;
}

/* The guest passed (or failed) its check: answer one waiting request. */
static void logoff_request_finish(LogoffRequest *q, const GuestCheckResult *result) {
        Manager *m = q->manager;
        Domain *d;
        Task *t;
        int r;

        if (result->stopping) {
                logoff_request_fail(q, VPC_ERROR_EXCEPTION, "the service is stopping");
                return;
        }
        if (result->error != VPC_OK) {
                logoff_request_fail(q, result->error, result->message);
                return;
        }

        /* Calls that passed their check together share one task. */
        d = logoff_request_resolve(q);
        if (!d)
                return;

        r = logoff_run_start(m, d, q->creds.uid, result->os, &t);
        if (r < 0) {
                logoff_request_fail(q, VPC_ERROR_EXCEPTION, strerror(-r));
                return;
        }
        logoff_request_succeed(q, t);
}

/* q waits for the check in flight in *slot, or for a new one. Returns the new check, whose call the
 * caller starts and then stores in *slot; NULL when q joined the one in flight (or was answered). */
static GuestCheck *guest_check_enter(GuestCheck **slot, Domain *d, LogoffRequest *q) {
        GuestCheck *c;

        if (*slot) {
                q->next = (*slot)->requests;
                (*slot)->requests = q;
                return NULL;
        }
        c = calloc(1, sizeof(*c));
        if (!c) {
                logoff_request_fail(q, VPC_ERROR_EXCEPTION, strerror(ENOMEM));
                return NULL;
        }
        strcpy(c->vm_uuid, d->uuid);
        c->requests = q;
        return c;
}

/* The new check's call could not be started: its only request gets the error. */
static void guest_check_not_started(GuestCheck *c, int r) {
        LogoffRequest *q = c->requests;

        free(c);
        if (r == -EBUSY)
                logoff_request_fail(q, VPC_ERROR_LIMITS_EXCEEDED, "too many guest-agent calls in flight");
        else
                logoff_request_fail(q, VPC_ERROR_EXCEPTION, strerror(-r));
}

/* The call of c returned: the domain (if it is still there) no longer waits for it. */
static void guest_check_detach(GuestCheck *c, bool stopping) {
        Domain *d;

        if (stopping)
                return;
        d = domain_registry_find_by_uuid(&c->requests->manager->domains, c->vm_uuid);
        if (d && d->check == c)
                d->check = NULL;
        if (d && d->state_check == c)
                d->state_check = NULL;
}

static void on_guest_checked(const GuestCheckResult *result, void *userdata) {
        GuestCheck *c = userdata;

        guest_check_detach(c, result->stopping);
        for (LogoffRequest *q = c->requests, *next; q; q = next) {
                next = q->next;
                logoff_request_finish(q, result);
        }
        free(c);
}

/* The domain runs as far as the registry knows: check its guest agent on a worker. Concurrent
 * requests on the domain join the check already in flight. */
static void logoff_request_check_guest(LogoffRequest *q, Domain *d) {
        Manager *m = q->manager;
        GuestCheck *c;
        int r;

        c = guest_check_enter(&d->check, d, q);
        if (!c)
                return;
        r = logoff_check_guest(m->hypervisor, d->uuid, (int) m->options.agent_timeout_sec, on_guest_checked, c);
        if (r < 0) {
                guest_check_not_started(c, r);
                return;
        }
        d->check = c;
}

static void on_domain_refreshed(bool stopping, bool applied, void *userdata);

/* After authorization, and again once libvirt confirmed the state (state_confirmed): a running
 * domain goes on to its guest check, a stopped one is refused with VmNotRunning, but only once
 * libvirt confirmed it: the registry may lag behind a start or an undefine whose event is still on
 * its way, and while libvirt is away it is only the last known state. */
static void logoff_request_continue(LogoffRequest *q, bool state_confirmed) {
        _cleanup_free_ char *message = NULL;
        GuestCheck *c;
        Domain *d;
        int r;

        d = logoff_request_resolve(q);
        if (!d)
                return;
        if (d->state == DOMAIN_STATE_RUNNING) {
                /* An agent call on a domain that stopped or vanished meanwhile fails with VmNotRunning
                 * or VmUnknown, so the registry's word is enough here. */
                logoff_request_check_guest(q, d);
                return;
        }
        if (state_confirmed) {
                if (asprintf(&message, "domain '%s' is not running (%s)", d->name,
                             domain_state_to_string(d->state)) < 0)
                        message = NULL;
                logoff_request_fail(q, VPC_ERROR_VM_NOT_RUNNING, message ?: "the domain is not running");
                return;
        }

        c = guest_check_enter(&d->state_check, d, q);
        if (!c)
                return;
        r = hypervisor_refresh_domain(q->manager->hypervisor, d->uuid, on_domain_refreshed, c);
        if (r < 0) {
                guest_check_not_started(c, r);
                return;
        }
        d->state_check = c;
}

/* libvirt was asked for the state of a domain that the registry had as not running, and the
 * registry now has libvirt's answer. */
static void on_domain_refreshed(bool stopping, bool applied, void *userdata) {
        GuestCheck *c = userdata;
        const char *failure = NULL;

        if (stopping)
                failure = "the service is stopping";
        else if (!applied)
                failure = hypervisor_is_connected(c->requests->manager->hypervisor) ?
                          "cannot read the domain's state from libvirt" : "not connected to the hypervisor";

        guest_check_detach(c, stopping);
        for (LogoffRequest *q = c->requests, *next; q; q = next) {
                next = q->next;
                if (failure)
                        logoff_request_fail(q, VPC_ERROR_EXCEPTION, failure);
                else
                        logoff_request_continue(q, true);
        }
        free(c);
}

static int method_logoff(sd_bus_message *call, void *userdata, sd_bus_error *error) {
        Domain *d = userdata;
        Manager *m = d->manager;
        LogoffRequest *q;
        AuthVerdict v;
        int r;

        /* Authorization comes before any libvirt work. */
        r = authorizer_verify_async(m->authorizer, call, "org.vpc.guestos.logoff",
                                    (const char *const[]) { "vm.name", d->name, "vm.uuid", d->uuid, NULL },
                                    UID_INVALID, &v);
        if (r == 0)
                return 1;       /* parked: this runs again once the verdict is in */

        q = calloc(1, sizeof(*q));
        if (!q)
                return -ENOMEM;
        q->manager = m;
        q->call = sd_bus_message_ref(call);
        q->creds = v.creds;
        strcpy(q->vm_uuid, d->uuid);
        q->vm_name = strdup(d->name);
        if (!q->vm_name) {
                logoff_request_free(q);
                return -ENOMEM;
        }
        if (v.error == VPC_ERROR_LIMITS_EXCEEDED) {
                logoff_request_audit(q, v.error, NULL, v.reason);
                logoff_request_free(q);
                return vpc_error_set(error, v.error, "%s", v.reason);
        }
        if (v.error != VPC_OK) {
                logoff_request_fail(q, v.error, v.reason);
                return 1;
        }
        logoff_request_continue(q, false);
        return 1;
}

static int property_get(sd_bus *bus, const char *path, const char *interface, const char *property,
                        sd_bus_message *reply, void *userdata, sd_bus_error *error) {
        Domain *d = userdata;

        if (streq_ptr(property, "Name"))
                return sd_bus_message_append(reply, "s", d->name);
        if (streq_ptr(property, "UUID"))
                return sd_bus_message_append(reply, "s", d->uuid);
        if (streq_ptr(property, "State"))
                return sd_bus_message_append(reply, "s", domain_state_to_string(d->state));
        return -EINVAL;
}

const sd_bus_vtable guestos_vtable[] = {
        SD_BUS_VTABLE_START(0),
        SD_BUS_PROPERTY("Name", "s", property_get, 0, SD_BUS_VTABLE_PROPERTY_CONST),
        SD_BUS_PROPERTY("UUID", "s", property_get, 0, SD_BUS_VTABLE_PROPERTY_CONST),
        SD_BUS_PROPERTY("State", "s", property_get, 0, SD_BUS_VTABLE_PROPERTY_EMITS_CHANGE),
        SD_BUS_METHOD_WITH_ARGS("Logoff", SD_BUS_NO_ARGS, SD_BUS_RESULT("o", task), method_logoff,
                                SD_BUS_VTABLE_UNPRIVILEGED),
        SD_BUS_VTABLE_END,
};

static int guestos_object_find(sd_bus *bus, const char *path, const char *interface, void *userdata,
                               void **found, sd_bus_error *error) {
        Domain *d = domain_registry_find_by_path(&((Manager *) userdata)->domains, path);

        if (!d)
                return 0;
        *found = d;
        return 1;
}

/* A call on the path of a domain that is gone (or never was) says VmUnknown, like GetGuestOS,
 * rather than sd-bus's generic UnknownObject/UnknownInterface. Runs before the vtable; declines
 * Introspect, Peer and paths of existing domains. */
static int guestos_unknown_fallback(sd_bus_message *call, void *userdata, sd_bus_error *error) {
        Manager *m = userdata;
        const char *path = sd_bus_message_get_path(call);
        _cleanup_free_ char *name = NULL;

        if (!sd_bus_message_is_method_call(call, "org.vpc.GuestOS", NULL) &&
            !sd_bus_message_is_method_call(call, "org.freedesktop.DBus.Properties", NULL))
                return 0;
        if (domain_registry_find_by_path(&m->domains, path))
                return 0;
        if (guestos_path_to_name(path, &name) < 0)
                return 0;
        return vpc_error_set(error, VPC_ERROR_VM_UNKNOWN, "no domain '%s'", name);
}

typedef struct NodeList {
        char **nodes;
        size_t n;
        int error;
} NodeList;

static void list_one(Domain *d, void *userdata) {
        NodeList *l = userdata;

        if (l->error < 0)
                return;
        l->nodes[l->n] = strdup(d->path);
        if (l->nodes[l->n])
                l->n++;
        else
                l->error = -ENOMEM;
}

static int guestos_node_enumerator(sd_bus *bus, const char *prefix, void *userdata, char ***nodes,
                                   sd_bus_error *error) {
        Manager *m = userdata;
        NodeList l = {};

        l.nodes = calloc(m->domains.n_domains + 1, sizeof(char *));
        if (!l.nodes)
                return -ENOMEM;
        domain_registry_foreach(&m->domains, list_one, &l);
        if (l.error < 0) {
                strv_free(l.nodes);
                return l.error;
        }
        *nodes = l.nodes;
        return 0;
}

const BusObjectImplementation guestos_object = {
        .path = GUESTOS_PATH_PREFIX,
        .interface = "org.vpc.GuestOS",
        .vtable = guestos_vtable,
        .find = guestos_object_find,
        .node_enumerator = guestos_node_enumerator,
        .fallback = guestos_unknown_fallback,
};

void guestos_emit_state_changed(Manager *m, Domain *d) {
        (void) sd_bus_emit_properties_changed(m->bus, d->path, "org.vpc.GuestOS", "State", NULL);
}
