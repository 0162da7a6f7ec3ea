/* GuestOS.ListUsers() (see guestos-users.h). One agent query per domain at a time (operation.c):
 * calls that come while one is in flight join it and get its answer, so a flood of ListUsers holds
 * one agent worker per domain, not one per call. */
#include <errno.h>
#include <stdio.h>

#include "agent-json.h"
#include "bus-request.h"
#include "guestos-users.h"
#include "hypervisor-agent.h"
#include "log.h"
#include "operation.h"
#include "vpc-guestosd.h"

static const BusRequestKind list_users_kind = {
        .event = AUDIT_LIST_USERS_REQUEST,
        .action = "org.vpc.guestos.list-users",
        .refusal = "cannot list the users of",
};

/* One query, from the worker back to the calls parked on its operation (which names the VM). */
typedef struct UsersQuery {
        Operation *operation;   /* NULL once its calls were answered (the job's deadline passed) */
        VpcError error;
        char *message;
        AgentUser *users;
        size_t n_users;
} UsersQuery;

static UsersQuery *users_query_free(UsersQuery *q) {
        if (!q)
                return NULL;
        free(q->message);
        agent_users_free(q->users, q->n_users);
        free(q);
        return NULL;
}
DEFINE_TRIVIAL_CLEANUP_FUNC(UsersQuery *, users_query_free);

/* What every call parked on a query hears. */
typedef struct UsersAnswer {
        VpcError error;
        const char *message;
        const AgentUser *users;
        size_t n_users;
} UsersAnswer;

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

static void answer_call(const BusRequest *req, void *userdata) {
        const UsersAnswer *a = userdata;

        if (a->error != VPC_OK) {
                bus_request_refuse(req, a->error, a->message);
                return;
        }
        bus_request_audit(req, VPC_OK, NULL);
        (void) list_users_reply(req->call, a->users, a->n_users);
}

static void users_query_finish(UsersQuery *q, const UsersAnswer *a) {
        if (!q->operation)
                return;
        operation_finish(q->operation, answer_call, (void *) a);
        q->operation = NULL;
}

static void users_query_fail(UsersQuery *q, VpcError e, const char *message) {
        users_query_finish(q, &(UsersAnswer) { .error = e, .message = message });
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
                users_query_fail(q, VPC_ERROR_EXCEPTION, "the service is stopping");
        else
                users_query_finish(q, &(UsersAnswer) { .error = q->error, .message = q->message,
                                                        .users = q->users, .n_users = q->n_users });
}

/* libvirt did not return in time: the calls hear Timeout now; the worker still owns q's results. */
static void users_query_expire(bool stopping, const char *message, void *userdata) {
        users_query_fail(userdata, VPC_ERROR_TIMEOUT, message);
}

static const AgentSessionOps users_query_ops = {
        .run = users_query_run,
        .done = users_query_done,
        .expire = users_query_expire,
};

int guestos_method_list_users(sd_bus_message *call, void *userdata, sd_bus_error *error) {
        Domain *d = userdata;
        Manager *m = d->manager;
        BusRequest req = { .kind = &list_users_kind, .call = call, .vm_name = d->name, .vm_uuid = d->uuid };
        _cleanup_(users_query_freep) UsersQuery *q = NULL;
        Operation *o;
        int r;

        /* Authorization comes before any libvirt work. */
        r = bus_request_authorize(m->authorizer, &req, UID_INVALID);
        if (r < 0)
                return r;
        if (r == 0)
                return 1;

        r = operation_park(&d->users_check, &req, &o);
        if (r < 0) {
                bus_request_refuse(&req, VPC_ERROR_EXCEPTION, strerror(-r));
                return 1;
        }
        if (r == 0)
                return 1;       /* joined the query in flight */

        q = calloc(1, sizeof(*q));
        if (!q) {
                operation_finish(o, answer_call, &(UsersAnswer) { .error = VPC_ERROR_EXCEPTION, .message = strerror(ENOMEM) });
                return 1;
        }
        q->operation = o;
        /* guest-info, guest-get-users. */
        r = hypervisor_agent_run(m->hypervisor, d->uuid, (int) m->options.agent_timeout_sec, 2, &users_query_ops, q);
        if (r < 0) {
                users_query_fail(q, r == -EBUSY ? VPC_ERROR_LIMITS_EXCEEDED : VPC_ERROR_EXCEPTION,
                                 r == -EBUSY ? "too many guest-agent calls in flight" : strerror(-r));
                return 1;
        }
        TAKE_PTR(q);
        return 1;
}
