/* GuestOS.ListUsers() (see guestos-users.h). One agent query per domain at a time (operation.c):
 * calls that come while one is in flight join it and get its answer, so a flood of ListUsers holds
 * one agent worker per domain, not one per call. */
#include <errno.h>
#include <stdio.h>

#include "agent.h"
#include "audit.h"
#include "guestos-users.h"
#include "hypervisor-agent.h"
#include "log.h"
#include "operation.h"
#include "vpc-guestosd.h"

/* One query, from the worker back to the calls parked on it: the domain may be gone by then, so it
 * keeps its own copy of what the answers and the audit records name. */
typedef struct UsersQuery {
        Operation *operation;   /* NULL once its calls were answered (the job's deadline passed) */
        char *vm_name;
        char vm_uuid[UUID_STRING_MAX];
        VpcError error;
        char *message;
        AgentUser *users;
        size_t n_users;
} UsersQuery;

static UsersQuery *users_query_free(UsersQuery *q) {
        if (!q)
                return NULL;
        free(q->vm_name);
        free(q->message);
        agent_users_free(q->users, q->n_users);
        free(q);
        return NULL;
}
DEFINE_TRIVIAL_CLEANUP_FUNC(UsersQuery *, users_query_free);

static void list_users_audit(sd_bus_message *call, const CallerCreds *creds, const char *vm_name,
                             const char *vm_uuid, VpcError result, const char *message) {
        audit_log(&(AuditRecord) {
                .event = AUDIT_LIST_USERS_REQUEST,
                .uid = creds->uid,
                .pid = creds->pid,
                .sender = sd_bus_message_get_sender(call),
                .vm_name = vm_name,
                .vm_uuid = vm_uuid,
                .result = result,
                .message = message,
        });
}

static void list_users_refuse(sd_bus_message *call, const CallerCreds *creds, const char *vm_name,
                              const char *vm_uuid, VpcError e, const char *reason) {
        _cleanup_free_ char *full = NULL;

        if (asprintf(&full, "cannot list the users of '%s': %s", vm_name, reason ?: "failed") < 0)
                full = NULL;
        list_users_audit(call, creds, vm_name, vm_uuid, e, full);
        (void) vpc_error_reply(call, e, "%s", full ?: "cannot list the users");
}

static int list_users_reply(sd_bus_message *call, const AgentUser *users, size_t n) {
        _cleanup_(sd_bus_message_unrefp) sd_bus_message *reply = NULL;
        int r;

        if (sd_bus_message_get_expect_reply(call) == 0)
                return 0;
        r = sd_bus_message_new_method_return(call, &reply);
        if (r >= 0)
                r = sd_bus_message_open_container(reply, 'a', "(sst)");
        for (size_t i = 0; r >= 0 && i < n; i++)
                r = sd_bus_message_append(reply, "(sst)", users[i].user, users[i].domain, users[i].login_usec);
        if (r >= 0)
                r = sd_bus_message_close_container(reply);
        if (r >= 0)
                r = sd_bus_send(NULL, reply, NULL);
        return r < 0 ? vpc_reply_fallback(call, r) : r;
}

/* Each call parked on the query hears its outcome (q->error, or the users). */
static void answer_query(sd_bus_message *call, const CallerCreds *creds, void *userdata) {
        const UsersQuery *q = userdata;

        if (q->error != VPC_OK) {
                list_users_refuse(call, creds, q->vm_name, q->vm_uuid, q->error, q->message);
                return;
        }
        list_users_audit(call, creds, q->vm_name, q->vm_uuid, VPC_OK, NULL);
        (void) list_users_reply(call, q->users, q->n_users);
}

static void users_query_finish(UsersQuery *q, VpcError e, const char *message) {
        UsersQuery failed = { .vm_name = q->vm_name, .error = e, .message = (char *) message };

        if (!q->operation)
                return;
        strcpy(failed.vm_uuid, q->vm_uuid);
        operation_finish(q->operation, answer_query, e == VPC_OK ? q : &failed);
        q->operation = NULL;
}

/* On an agent worker. The domain must run now (libvirt's word, not the registry's, which an event
 * may not have reached yet), and its agent must offer guest-get-users. */
static void users_query_run(AgentSession *s, void *userdata) {
        UsersQuery *q = userdata;
        _cleanup_free_ char *reply = NULL;
        AgentInfo info;

        q->error = agent_session_require_running(s, &q->message);
        if (q->error != VPC_OK)
                return;
        q->error = agent_session_command(s, AGENT_COMMAND_INFO, &reply, &q->message);
        if (q->error != VPC_OK)
                return;
        if (agent_parse_info(reply, &info, &q->message) < 0) {
                q->error = VPC_ERROR_EXCEPTION;
                return;
        }
        if (!info.has_get_users) {
                q->error = VPC_ERROR_ADDITIONS_FEATURE_NOT_AVAILABLE;
                q->message = strdup("the guest agent lacks guest-get-users");
                return;
        }
        free(reply);
        reply = NULL;
        q->error = agent_session_command(s, AGENT_COMMAND_GET_USERS, &reply, &q->message);
        if (q->error != VPC_OK)
                return;
        if (agent_parse_user_list(reply, &q->users, &q->n_users, &q->message) < 0)
                q->error = VPC_ERROR_EXCEPTION;
}

static void users_query_done(bool stopping, bool answered, void *userdata) {
        _cleanup_(users_query_freep) UsersQuery *q = userdata;

        if (answered)
                return;
        if (stopping)
                users_query_finish(q, VPC_ERROR_EXCEPTION, "the service is stopping");
        else
                users_query_finish(q, q->error, q->message);
}

/* libvirt did not return in time: the calls hear Timeout now; the worker still owns q. */
static void users_query_expire(bool stopping, const char *message, void *userdata) {
        users_query_finish(userdata, VPC_ERROR_TIMEOUT, message);
}

static const AgentSessionOps users_query_ops = {
        .run = users_query_run,
        .done = users_query_done,
        .expire = users_query_expire,
};

int guestos_method_list_users(sd_bus_message *call, void *userdata, sd_bus_error *error) {
        Domain *d = userdata;
        Manager *m = d->manager;
        _cleanup_(users_query_freep) UsersQuery *q = NULL;
        Operation *o;
        AuthVerdict v;
        int r;

        /* Authorization comes before any libvirt work. */
        r = authorizer_verify_async(m->authorizer, call, "org.vpc.guestos.list-users",
                                    (const char *const[]) { "vm.name", d->name, "vm.uuid", d->uuid, NULL },
                                    UID_INVALID, &v);
        if (r == 0)
                return 1;       /* parked: this runs again once the verdict is in */
        if (v.error != VPC_OK) {
                list_users_refuse(call, &v.creds, d->name, d->uuid, v.error, v.reason);
                return 1;
        }

        r = operation_park(&d->users_check, call, &v.creds, &o);
        if (r < 0) {
                list_users_refuse(call, &v.creds, d->name, d->uuid, VPC_ERROR_EXCEPTION, strerror(-r));
                return 1;
        }
        if (r == 0)
                return 1;       /* joined the query in flight */

        q = calloc(1, sizeof(*q));
        if (q)
                q->vm_name = strdup(d->name);
        if (!q || !q->vm_name) {
                UsersQuery failed = { .vm_name = d->name, .error = VPC_ERROR_EXCEPTION, .message = strerror(ENOMEM) };

                strcpy(failed.vm_uuid, d->uuid);
                operation_finish(o, answer_query, &failed);
                return 1;
        }
        q->operation = o;
        strcpy(q->vm_uuid, d->uuid);
        /* guest-info, guest-get-users. */
        r = hypervisor_agent_run(m->hypervisor, d->uuid, (int) m->options.agent_timeout_sec, 2, &users_query_ops, q);
        if (r < 0) {
                users_query_finish(q, r == -EBUSY ? VPC_ERROR_LIMITS_EXCEEDED : VPC_ERROR_EXCEPTION,
                                   r == -EBUSY ? "too many guest-agent calls in flight" : strerror(-r));
                return 1;
        }
        TAKE_PTR(q);
        return 1;
}
