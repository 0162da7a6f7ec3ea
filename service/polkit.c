/* See polkit.h. A check is a small chain: the caller's credentials (cached per caller), then,
 * unless root or the good uid, polkit's CheckAuthorization for the sender's bus name. The parked
 * call is found again by its message when it is dispatched the second time.
 *
 * Fairness: polkitd answers CheckAuthorization one after another, so every check in its queue delays
 * all that come after it. A sender has at most max_in_flight_per_sender checks at polkitd, and the
 * authorizer at most max_in_flight; the rest wait here, in each sender's queue, and the senders take
 * turns (round-robin). A caller's flood so costs another caller the wait of a few checks, not of
 * the flooder's whole quota. Verdicts are handed back in each sender's order of arrival. */
#include <errno.h>
#include <stddef.h>
#include <inttypes.h>
#include <search.h>
#include <stdio.h>

#include "list.h"
#include "log.h"
#include "polkit.h"

#define POLKIT_CHECK_ALLOW_USER_INTERACTION 0x1U

typedef struct AuthSender AuthSender;

typedef struct AuthQuery {
        Authorizer *authorizer;
        AuthSender *sender;
        LIST_FIELDS(struct AuthQuery, sender);          /* in the sender's queue, in arrival order */
        uint64_t deadline;              /* CLOCK_MONOTONIC: polkit's answer later than this denies */
        bool in_flight;                 /* the CheckAuthorization is at polkitd */
        sd_bus_message *call;
        char *action;
        char **details;
        uid_t good_uid;
        bool interactive;
        char cancellation_id[32];

        CallerLink link;                /* while pending: counted against the caller */
        sd_bus_slot *slot;              /* the CheckAuthorization in flight */
        CallerCreds creds;

        bool decided;
        VpcError verdict;
        const char *reason;             /* static text */
        sd_event_source *orphan;        /* frees a verdict whose call was not dispatched to us again */
} AuthQuery;

/* One caller's checks from their arrival until their verdicts are handed back, oldest first. */
struct AuthSender {
        Authorizer *authorizer;
        Caller *caller;
        LIST_HEAD(AuthQuery) queue;
        unsigned in_flight;
        LIST_FIELDS(AuthSender, round);
};

struct Authorizer {
        sd_event *event;
        sd_bus *bus;
        CallerRegistry *callers;
        AuthorizerLimits limits;
        void *queries;                  /* search tree of AuthQuery, by call */
        unsigned n_pending;
        uint64_t counter;

        void *senders;                  /* search tree of AuthSender, by caller */
        LIST_HEAD(AuthSender) round;    /* whose turn it is next, first */
        unsigned n_senders;
        unsigned n_in_flight;
        sd_event_source *pump;          /* sends what waits, from the loop (never from a callback) */
};

static int compare_call(const void *a, const void *b) {
        const sd_bus_message *x = ((const AuthQuery *) a)->call, *y = ((const AuthQuery *) b)->call;

        return x < y ? -1 : x > y;
}

static AuthQuery *query_find(Authorizer *a, sd_bus_message *call) {
        AuthQuery key = { .call = call };
        void *node = tfind(&key, &a->queries, compare_call);

        return node ? *(AuthQuery **) node : NULL;
}

static int compare_caller(const void *a, const void *b) {
        const Caller *x = ((const AuthSender *) a)->caller, *y = ((const AuthSender *) b)->caller;

        return x < y ? -1 : x > y;
}

static AuthSender *sender_get(Authorizer *a, Caller *caller) {
        AuthSender key = { .caller = caller }, *s;
        void *node = tfind(&key, &a->senders, compare_caller);

        if (node)
                return *(AuthSender **) node;
        s = calloc(1, sizeof(*s));
        if (!s)
                return NULL;
        *s = (AuthSender) { .authorizer = a, .caller = caller };
        if (!tsearch(s, &a->senders, compare_caller)) {
                free(s);
                return NULL;
        }
        LIST_APPEND(round, a->round, s);
        a->n_senders++;
        return s;
}

static void sender_unqueue(AuthQuery *q) {
        AuthSender *s = q->sender;

        if (!s)
                return;
        LIST_REMOVE(sender, s->queue, q);
        q->sender = NULL;
        if (!LIST_IS_EMPTY(s->queue))
                return;
        LIST_REMOVE(round, s->authorizer->round, s);
        tdelete(s, &s->authorizer->senders, compare_caller);
        s->authorizer->n_senders--;
        free(s);
}

/* The check left polkitd (answered, timed out, or dropped). */
static void query_landed(AuthQuery *q) {
        if (!q->in_flight)
                return;
        q->in_flight = false;
        q->sender->in_flight--;
        q->authorizer->n_in_flight--;
        q->slot = sd_bus_slot_unref(q->slot);
}

static void query_free(AuthQuery *q) {
        Authorizer *a = q->authorizer;

        if (!q->decided)
                a->n_pending--;
        query_landed(q);
        sender_unqueue(q);
        caller_unlink(&q->link);
        tdelete(q, &a->queries, compare_call);
        sd_event_source_disable_unref(q->orphan);
        sd_bus_slot_unref(q->slot);
        sd_bus_message_unref(q->call);
        free(q->action);
        strv_free(q->details);
        free(q);
}

static int on_orphan(sd_event_source *s, void *userdata) {
        /* The call went elsewhere when dispatched again (its object vanished, say): nobody will read
         * the verdict. */
        query_free(userdata);
        return 0;
}

/* The verdict is handed back: the call is dispatched again, so its handler reads it. */
static void query_dispatch(AuthQuery *q) {
        Authorizer *a = q->authorizer;
        int r;

        r = sd_bus_message_rewind(q->call, true);
        if (r >= 0)
                r = sd_bus_enqueue_for_read(a->bus, q->call);
        if (r < 0) {
                /* Nobody else can answer it now: say so here, as the handler would have. */
                log_error("cannot dispatch %s again after its authorization: %s",
                          strempty(sd_bus_message_get_member(q->call)), strerror(-r));
                (void) vpc_error_reply(q->call, VPC_ERROR_EXCEPTION, "cannot resume the call after its authorization");
                query_free(q);
                return;
        }
        /* Idle priority: runs only once the bus has dispatched what is queued, the call included. */
        r = sd_event_add_defer(a->event, &q->orphan, on_orphan, q);
        if (r >= 0)
                r = sd_event_source_set_priority(q->orphan, SD_EVENT_PRIORITY_IDLE);
        if (r < 0)
                log_warning("cannot arm the clean-up of an authorization: %s", strerror(-r));
}

/* The sender's verdicts that no older check of its waits for go back, in order. */
static void sender_release(AuthSender *s) {
        while (s->queue.first && s->queue.first->decided) {
                AuthQuery *q = s->queue.first;
                bool last = !q->sender_next;

                sender_unqueue(q);      /* frees s with its last query */
                query_dispatch(q);
                if (last)
                        break;
        }
}

static void pump_soon(Authorizer *a) {
        int r = sd_event_source_set_enabled(a->pump, SD_EVENT_ONESHOT);

        if (r < 0)
                log_error("cannot schedule the authorization checks: %s", strerror(-r));
}

static void query_decide(AuthQuery *q, VpcError verdict, const char *reason) {
        Authorizer *a = q->authorizer;

        if (q->decided)
                return;
        q->decided = true;
        q->verdict = verdict;
        q->reason = reason;
        a->n_pending--;
        caller_unlink(&q->link);
        query_landed(q);
        sender_release(q->sender);
        pump_soon(a);
}

static void on_caller_left(CallerLink *link) {
        AuthQuery *q = (AuthQuery *) ((char *) link - offsetof(AuthQuery, link));

        /* Only an interactive check can outlive its caller for long: tell polkit to drop the dialog. */
        if (q->interactive && q->slot)
                (void) sd_bus_call_method_async(q->authorizer->bus, NULL, "org.freedesktop.PolicyKit1",
                                                "/org/freedesktop/PolicyKit1/Authority",
                                                "org.freedesktop.PolicyKit1.Authority", "CancelCheckAuthorization",
                                                NULL, NULL, "s", q->cancellation_id);
        query_decide(q, VPC_ERROR_ACCESS_DENIED, "the caller left the bus");
}

static int on_check_reply(sd_bus_message *reply, void *userdata, sd_bus_error *ret_error) {
        AuthQuery *q = userdata;
        const sd_bus_error *e;
        int authorized, challenge, r;

        e = sd_bus_message_get_error(reply);
        if (e) {
                log_warning("polkit check of %s for %s failed: %s", q->action,
                            strempty(sd_bus_message_get_sender(q->call)), e->message ?: e->name);
                query_decide(q, VPC_ERROR_ACCESS_DENIED, "polkit could not be asked");
                return 0;
        }

        r = sd_bus_message_enter_container(reply, 'r', "bba{ss}");
        if (r > 0)
                r = sd_bus_message_read(reply, "bb", &authorized, &challenge);
        if (r <= 0) {
                log_warning("polkit answered %s for %s with a malformed reply", q->action,
                            strempty(sd_bus_message_get_sender(q->call)));
                query_decide(q, VPC_ERROR_ACCESS_DENIED, "polkit's answer was malformed");
                return 0;
        }

        if (authorized)
                query_decide(q, VPC_OK, NULL);
        else if (challenge && !q->interactive)
                query_decide(q, VPC_ERROR_INTERACTIVE_AUTHORIZATION_REQUIRED, "interactive authentication required");
        else
                query_decide(q, VPC_ERROR_ACCESS_DENIED, "not authorized by polkit");
        return 0;
}

static int send_check(AuthQuery *q, uint64_t timeout_usec) {
        _cleanup_(sd_bus_message_unrefp) sd_bus_message *m = NULL;
        Authorizer *a = q->authorizer;
        int r;

        r = sd_bus_message_new_method_call(a->bus, &m, "org.freedesktop.PolicyKit1",
                                           "/org/freedesktop/PolicyKit1/Authority",
                                           "org.freedesktop.PolicyKit1.Authority", "CheckAuthorization");
        if (r < 0)
                return r;
        r = sd_bus_message_append(m, "(sa{sv})s", "system-bus-name", 1, "name", "s",
                                  sd_bus_message_get_sender(q->call), q->action);
        if (r < 0)
                return r;
        r = sd_bus_message_open_container(m, 'a', "{ss}");
        if (r < 0)
                return r;
        for (char **d = q->details; d && d[0] && d[1]; d += 2) {
                r = sd_bus_message_append(m, "{ss}", d[0], d[1]);
                if (r < 0)
                        return r;
        }
        r = sd_bus_message_close_container(m);
        if (r < 0)
                return r;
        r = sd_bus_message_append(m, "us", q->interactive ? POLKIT_CHECK_ALLOW_USER_INTERACTION : 0,
                                  q->cancellation_id);
        if (r < 0)
                return r;

        r = sd_bus_call_async(a->bus, &q->slot, m, on_check_reply, q, timeout_usec);
        if (r < 0)
                return r;
        q->in_flight = true;
        q->sender->in_flight++;
        a->n_in_flight++;
        return 0;
}

/* Its turn came: to polkitd, with what is left of its time (the wait here counts). */
static void query_send(AuthQuery *q) {
        uint64_t now = now_usec(CLOCK_MONOTONIC);
        int r;

        if (now >= q->deadline) {
                log_warning("polkit check of %s for %s: no answer in time", q->action,
                            strempty(sd_bus_message_get_sender(q->call)));
                query_decide(q, VPC_ERROR_ACCESS_DENIED, "polkit could not be asked");
                return;
        }
        r = send_check(q, q->deadline - now);
        if (r < 0) {
                log_warning("cannot ask polkit: %s", strerror(-r));
                query_decide(q, VPC_ERROR_ACCESS_DENIED, "polkit could not be asked");
        }
}

/* The sender's oldest check that waits for its turn, unless it has its share at polkitd already. */
static AuthQuery *sender_to_send(AuthSender *s) {
        if (s->in_flight >= s->authorizer->limits.max_in_flight_per_sender)
                return NULL;
        LIST_FOREACH(sender, q, s->queue)
                if (!q->decided && !q->in_flight && q->creds.uid != UID_INVALID)
                        return q;
        return NULL;
}

/* Sends checks to polkitd while there is room, one per sender in turn. */
static int on_pump(sd_event_source *source, void *userdata) {
        Authorizer *a = userdata;

        for (unsigned idle = 0; a->round.first && idle < a->n_senders && a->n_in_flight < a->limits.max_in_flight;) {
                AuthSender *s = a->round.first;
                AuthQuery *q = sender_to_send(s);

                LIST_REMOVE(round, a->round, s);
                LIST_APPEND(round, a->round, s);
                if (!q) {
                        idle++;
                        continue;
                }
                idle = 0;
                query_send(q);  /* may decide q, and so free s */
        }
        return 0;
}

/* root and the good uid pass; others are polkit's to decide. */
static bool creds_pass(const CallerCreds *creds, uid_t good_uid) {
        return creds->uid == 0 || (good_uid != UID_INVALID && creds->uid == good_uid);
}

/* Its credentials are known: it now waits for its turn at polkitd (see on_pump()). */
static void query_ask_polkit(AuthQuery *q) {
        if (creds_pass(&q->creds, q->good_uid)) {
                query_decide(q, VPC_OK, NULL);
                return;
        }
        pump_soon(q->authorizer);
}

static void on_creds_ready(CallerLink *link) {
        AuthQuery *q = (AuthQuery *) ((char *) link - offsetof(AuthQuery, link));

        if (q->decided || q->creds.uid != UID_INVALID)
                return;
        if (caller_creds(link->caller, &q->creds) <= 0) {
                q->creds = (CallerCreds) { .uid = UID_INVALID };
                query_decide(q, VPC_ERROR_ACCESS_DENIED, "the caller's credentials are unknown");
                return;
        }
        query_ask_polkit(q);
}

static int verdict(AuthVerdict *ret, VpcError error, const char *reason, const CallerCreds *creds) {
        *ret = (AuthVerdict) { .error = error, .reason = reason, .creds = *creds };
        return error == VPC_OK ? 1 : -EACCES;
}

/* A verdict of an earlier dispatch of this call: taken, and handed to the handler. */
static int query_consume(AuthQuery *q, AuthVerdict *ret) {
        int r = verdict(ret, q->verdict, q->reason, &q->creds);

        query_free(q);
        return r;
}

static int query_new(Authorizer *a, sd_bus_message *call, Caller *caller, const char *action,
                     const char *const *details, uid_t good_uid, AuthQuery **ret) {
        AuthQuery *q;
        size_t n = 0;

        q = calloc(1, sizeof(*q));
        if (!q)
                return -ENOMEM;
        q->authorizer = a;
        q->call = sd_bus_message_ref(call);
        q->creds = (CallerCreds) { .uid = UID_INVALID };
        q->good_uid = good_uid;
        q->interactive = sd_bus_message_get_allow_interactive_authorization(call) > 0;
        /* The interaction allowed to a caller (a password prompt) may take long; a plain check may not. */
        q->deadline = now_usec(CLOCK_MONOTONIC) + (q->interactive ? 10 : 1) * a->limits.timeout_usec;
        snprintf(q->cancellation_id, sizeof(q->cancellation_id), "vpc-%" PRIu64, ++a->counter);
        q->action = strdup(action);
        while (details && details[n])
                n++;
        q->details = calloc(n + 1, sizeof(char *));
        for (size_t i = 0; q->details && i < n; i++)
                if (!(q->details[i] = strdup(details[i]))) {
                        strv_free(q->details);
                        q->details = NULL;
                }
        if (q->action && q->details && tsearch(q, &a->queries, compare_call)) {
                q->sender = sender_get(a, caller);
                if (!q->sender)
                        tdelete(q, &a->queries, compare_call);
        }
        if (!q->sender) {
                strv_free(q->details);
                free(q->action);
                sd_bus_message_unref(q->call);
                free(q);
                return -ENOMEM;
        }
        a->n_pending++;
        LIST_APPEND(sender, q->sender->queue, q);
        caller_link(caller, &q->link, CALLER_LINK_AUTHORIZATION, on_caller_left, on_creds_ready);
        *ret = q;
        return 0;
}

int authorizer_verify_async(Authorizer *a, sd_bus_message *call, const char *action, const char *const *details,
                            uid_t good_uid, AuthVerdict *ret) {
        CallerCreds creds = { .uid = UID_INVALID };
        AuthQuery *q;
        Caller *caller;
        int r;

        q = query_find(a, call);
        if (q)
                return q->decided ? query_consume(q, ret) : 0;

        r = caller_get(a->callers, sd_bus_message_get_sender(call), &caller);
        if (r < 0)
                return verdict(ret, VPC_ERROR_ACCESS_DENIED, "the caller is unknown", &creds);

        /* Known credentials of root or the good uid: no round trip at all. */
        if (caller_creds(caller, &creds) > 0 && creds_pass(&creds, good_uid))
                return verdict(ret, VPC_OK, NULL, &creds);

        if (a->n_pending >= a->limits.max_pending ||
            caller_count(caller, CALLER_LINK_AUTHORIZATION) >= a->limits.max_pending_per_sender)
                return verdict(ret, VPC_ERROR_LIMITS_EXCEEDED, "too many authorization checks pending", &creds);

        r = query_new(a, call, caller, action, details, good_uid, &q);
        if (r < 0)
                return verdict(ret, VPC_ERROR_ACCESS_DENIED, "cannot authorize the caller: out of memory", &creds);

        /* Known credentials: polkit next; else on_creds_ready() goes on once the bus daemon answered. */
        if (creds.uid != UID_INVALID) {
                q->creds = creds;
                query_ask_polkit(q);
        }
        return 0;
}

int authorizer_new(sd_event *event, sd_bus *bus, CallerRegistry *callers, const AuthorizerLimits *limits,
                   Authorizer **ret) {
        Authorizer *a = calloc(1, sizeof(*a));
        int r;

        if (!a)
                return -ENOMEM;
        a->event = sd_event_ref(event);
        a->bus = sd_bus_ref(bus);
        a->callers = callers;
        a->limits = *limits;
        r = sd_event_add_defer(event, &a->pump, on_pump, a);
        if (r >= 0)
                r = sd_event_source_set_enabled(a->pump, SD_EVENT_OFF);
        if (r < 0) {
                authorizer_free(a);
                return r;
        }
        *ret = a;
        return 0;
}

Authorizer *authorizer_free(Authorizer *a) {
        if (!a)
                return NULL;
        /* No verdict can be read any more, and a call dispatched again would find no handler: answer
         * every parked call here. */
        while (a->queries) {
                AuthQuery *q = *(AuthQuery **) a->queries;

                (void) vpc_error_reply(q->call, VPC_ERROR_ACCESS_DENIED, "the service is stopping");
                query_free(q);
        }
        sd_event_source_disable_unref(a->pump);
        sd_bus_unref(a->bus);
        sd_event_unref(a->event);
        free(a);
        return NULL;
}

unsigned authorizer_pending(Authorizer *a) {
        return a->n_pending;
}
