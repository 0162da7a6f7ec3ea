/* See users-query.h. */
#include <errno.h>

#include "hypervisor-agent.h"
#include "log.h"
#include "operation.h"
#include "users-query.h"

/* One query, from the worker back to the requests parked on its operation (which names the VM). */
typedef struct UsersQuery {
        Operation *operation;   /* NULL once its requests were answered (the job's deadline passed) */
        users_answer_t answer;
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

/* The answer, as operation_finish() hands it to each parked request. */
typedef struct Outcome {
        users_answer_t answer;
        const UsersAnswer *what;
} Outcome;

static void answer_one(const BusRequest *req, void *userdata) {
        const Outcome *o = userdata;

        o->answer(req, o->what);
}

static void finish(Operation *o, users_answer_t answer, const UsersAnswer *what) {
        operation_finish(o, answer_one, &(Outcome) { .answer = answer, .what = what });
}

static void users_query_finish(UsersQuery *q, const UsersAnswer *what) {
        if (!q->operation)
                return;
        finish(q->operation, q->answer, what);
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

/* What ListUsers keeps per domain: the query in flight, with its parked calls. */
typedef struct UsersState {
        DomainFeature feature;          /* first: the domain frees the state through it */
        Operation *check;
} UsersState;

static void users_state_free(DomainFeature *f) {
        UsersState *s = (UsersState *) f;

        operation_detach(s->check);
        free(s);
}

static UsersState *users_state_get(Domain *d) {
        UsersState *s;

        if (d->users)
                return (UsersState *) d->users;
        s = calloc(1, sizeof(*s));
        if (!s)
                return NULL;
        s->feature.free = users_state_free;
        d->users = &s->feature;
        return s;
}

void users_query(Manager *m, Domain *d, const BusRequest *req, users_answer_t answer) {
        _cleanup_(users_query_freep) UsersQuery *q = NULL;
        UsersState *s = users_state_get(d);
        Operation *o;
        int r;

        r = s ? operation_park(&s->check, req, &o) : -ENOMEM;
        if (r < 0) {
                answer(req, &(UsersAnswer) { .error = VPC_ERROR_EXCEPTION, .message = strerror(-r) });
                return;
        }
        if (r == 0)
                return;         /* joined the query in flight */

        q = calloc(1, sizeof(*q));
        if (!q) {
                finish(o, answer, &(UsersAnswer) { .error = VPC_ERROR_EXCEPTION, .message = strerror(ENOMEM) });
                return;
        }
        q->operation = o;
        q->answer = answer;
        /* guest-info, guest-get-users. */
        r = hypervisor_agent_run(m->hypervisor, d->uuid, (int) m->options.agent_timeout_sec, 2, &users_query_ops, q);
        if (r < 0) {
                users_query_fail(q, r == -EBUSY ? VPC_ERROR_LIMITS_EXCEEDED : VPC_ERROR_EXCEPTION,
                                 r == -EBUSY ? "too many guest-agent calls in flight" : strerror(-r));
                return;
        }
        TAKE_PTR(q);
}
