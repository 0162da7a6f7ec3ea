/* See polkit.h. Each check is a small chain: GetConnectionCredentials on the bus daemon, then (unless
 * root or the allowed uid) polkit's CheckAuthorization for the sender's bus name. */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>

#include "log.h"
#include "polkit.h"

#define POLKIT_CHECK_ALLOW_USER_INTERACTION 0x1U

typedef struct AuthRequest AuthRequest;
struct AuthRequest {
        Authorizer *authorizer;
        AuthRequest *prev, *next;

        sd_bus_message *call;
        char *sender;
        char *action;
        char **details;
        uid_t allowed_uid;
        bool interactive;
        char cancellation_id[32];

        sd_bus_slot *slot;
        CallerCreds creds;
        authorize_done_t done;
        void *userdata;
};

struct Authorizer {
        sd_bus *bus;
        AuthorizerLimits limits;
        AuthRequest *pending;
        unsigned n_pending;
        uint64_t counter;
};

static void request_unlink(AuthRequest *q) {
        Authorizer *a = q->authorizer;

        if (q->prev)
                q->prev->next = q->next;
        else
                a->pending = q->next;
        if (q->next)
                q->next->prev = q->prev;
        a->n_pending--;
}

static void request_free(AuthRequest *q) {
        sd_bus_slot_unref(q->slot);
        sd_bus_message_unref(q->call);
        free(q->sender);
        free(q->action);
        strv_free(q->details);
        free(q);
}

/* Ends a request: unlinks it first, so the callback may start a new check. */
static void request_finish(AuthRequest *q, VpcError verdict, const char *reason) {
        request_unlink(q);
        q->done(verdict, reason, &q->creds, q->userdata);
        request_free(q);
}

static int on_check_reply(sd_bus_message *reply, void *userdata, sd_bus_error *ret_error) {
        AuthRequest *q = userdata;
        const sd_bus_error *e;
        int authorized, challenge, r;

        e = sd_bus_message_get_error(reply);
        if (e) {
                log_warning("polkit check of %s for %s failed: %s", q->action, q->sender, e->message ?: e->name);
                request_finish(q, VPC_ERROR_ACCESS_DENIED, "polkit could not be asked");
                return 0;
        }

        r = sd_bus_message_enter_container(reply, 'r', "bba{ss}");
        if (r > 0)
                r = sd_bus_message_read(reply, "bb", &authorized, &challenge);
        if (r <= 0) {
                log_warning("polkit answered %s for %s with a malformed reply", q->action, q->sender);
                request_finish(q, VPC_ERROR_ACCESS_DENIED, "polkit's answer was malformed");
                return 0;
        }

        if (authorized)
                request_finish(q, VPC_OK, NULL);
        else if (challenge && !q->interactive)
                request_finish(q, VPC_ERROR_INTERACTIVE_AUTHORIZATION_REQUIRED,
                               "interactive authentication required");
        else
                request_finish(q, VPC_ERROR_ACCESS_DENIED, "not authorized by polkit");
        return 0;
}

static int send_check(AuthRequest *q) {
        _cleanup_(sd_bus_message_unrefp) sd_bus_message *m = NULL;
        Authorizer *a = q->authorizer;
        int r;

        r = sd_bus_message_new_method_call(a->bus, &m, "org.freedesktop.PolicyKit1",
                                           "/org/freedesktop/PolicyKit1/Authority",
                                           "org.freedesktop.PolicyKit1.Authority", "CheckAuthorization");
        if (r < 0)
                return r;
        r = sd_bus_message_append(m, "(sa{sv})s", "system-bus-name", 1, "name", "s", q->sender, q->action);
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

        /* The interaction allowed to a caller (a password prompt) may take long; a plain check may not. */
        return sd_bus_call_async(a->bus, &q->slot, m, on_check_reply, q,
                                 q->interactive ? 10 * a->limits.timeout_usec : a->limits.timeout_usec);
}

static int on_creds_reply(sd_bus_message *reply, void *userdata, sd_bus_error *ret_error) {
        AuthRequest *q = userdata;
        bool have_uid = false;
        int r;

        q->slot = sd_bus_slot_unref(q->slot);

        if (sd_bus_message_is_method_error(reply, NULL)) {
                request_finish(q, VPC_ERROR_ACCESS_DENIED, "the caller's credentials are unknown");
                return 0;
        }

        r = sd_bus_message_enter_container(reply, 'a', "{sv}");
        while (r > 0) {
                const char *key;
                uint32_t value;

                r = sd_bus_message_enter_container(reply, 'e', "sv");
                if (r <= 0)
                        break;
                r = sd_bus_message_read(reply, "s", &key);
                if (r < 0)
                        break;
                if (streq_ptr(key, "UnixUserID") || streq_ptr(key, "ProcessID")) {
                        r = sd_bus_message_read(reply, "v", "u", &value);
                        if (r < 0)
                                break;
                        if (streq_ptr(key, "UnixUserID")) {
                                q->creds.uid = value;
                                have_uid = true;
                        } else
                                q->creds.pid = (pid_t) value;
                } else {
                        r = sd_bus_message_skip(reply, "v");
                        if (r < 0)
                                break;
                }
                r = sd_bus_message_exit_container(reply);
        }
        if (r < 0 || !have_uid) {
                q->creds.uid = UID_INVALID;
                request_finish(q, VPC_ERROR_ACCESS_DENIED, "the caller's credentials are unknown");
                return 0;
        }

        if (q->creds.uid == 0 || (q->allowed_uid != UID_INVALID && q->creds.uid == q->allowed_uid)) {
                request_finish(q, VPC_OK, NULL);
                return 0;
        }

        r = send_check(q);
        if (r < 0) {
                log_warning("cannot ask polkit: %s", strerror(-r));
                request_finish(q, VPC_ERROR_ACCESS_DENIED, "polkit could not be asked");
        }
        return 0;
}

static unsigned pending_for_sender(Authorizer *a, const char *sender) {
        unsigned n = 0;

        for (AuthRequest *q = a->pending; q; q = q->next)
                if (streq_ptr(q->sender, sender))
                        n++;
        return n;
}

int authorize_call(Authorizer *a, sd_bus_message *call, const char *action, const char *const *details,
                   uid_t allowed_uid, authorize_done_t done, void *userdata) {
        const char *sender = sd_bus_message_get_sender(call);
        AuthRequest *q;
        size_t n = 0;
        int r;

        if (!sender)
                return -EPERM;
        if (a->n_pending >= a->limits.max_pending ||
            pending_for_sender(a, sender) >= a->limits.max_pending_per_sender)
                return -ENOBUFS;

        q = calloc(1, sizeof(*q));
        if (!q)
                return -ENOMEM;
        q->authorizer = a;
        q->call = sd_bus_message_ref(call);
        q->creds = (CallerCreds) { .uid = UID_INVALID };
        q->allowed_uid = allowed_uid;
        q->interactive = sd_bus_message_get_allow_interactive_authorization(call) > 0;
        q->done = done;
        q->userdata = userdata;
        snprintf(q->cancellation_id, sizeof(q->cancellation_id), "vpc-%" PRIu64, ++a->counter);
        q->sender = strdup(sender);
        q->action = strdup(action);
        while (details && details[n])
                n++;
        q->details = calloc(n + 1, sizeof(char *));
        if (!q->sender || !q->action || !q->details) {
                request_free(q);
                return -ENOMEM;
        }
        for (size_t i = 0; i < n; i++)
                if (!(q->details[i] = strdup(details[i]))) {
                        request_free(q);
                        return -ENOMEM;
                }

        r = sd_bus_call_method_async(a->bus, &q->slot, "org.freedesktop.DBus", "/org/freedesktop/DBus",
                                     "org.freedesktop.DBus", "GetConnectionCredentials", on_creds_reply, q,
                                     "s", sender);
        if (r < 0) {
                request_free(q);
                return r;
        }

        q->next = a->pending;
        if (q->next)
                q->next->prev = q;
        a->pending = q;
        a->n_pending++;
        return 0;
}

static void cancel_in_polkit(Authorizer *a, AuthRequest *q) {
        /* Only an interactive check can outlive its caller for long: tell polkit to drop the dialog. */
        if (!q->interactive || !q->slot)
                return;
        (void) sd_bus_call_method_async(a->bus, NULL, "org.freedesktop.PolicyKit1",
                                        "/org/freedesktop/PolicyKit1/Authority",
                                        "org.freedesktop.PolicyKit1.Authority", "CancelCheckAuthorization",
                                        NULL, NULL, "s", q->cancellation_id);
}

void authorizer_forget_sender(Authorizer *a, const char *sender) {
        for (AuthRequest *q = a->pending, *next; q; q = next) {
                next = q->next;
                if (!streq_ptr(q->sender, sender))
                        continue;
                cancel_in_polkit(a, q);
                request_finish(q, VPC_ERROR_ACCESS_DENIED, "the caller left the bus");
                next = a->pending;      /* the callback may have changed the list */
        }
}

Authorizer *authorizer_free(Authorizer *a) {
        if (!a)
                return NULL;
        while (a->pending)
                request_finish(a->pending, VPC_ERROR_ACCESS_DENIED, "the service is stopping");
        sd_bus_unref(a->bus);
        free(a);
        return NULL;
}

int authorizer_new(sd_bus *bus, const AuthorizerLimits *limits, Authorizer **ret) {
        Authorizer *a = calloc(1, sizeof(*a));

        if (!a)
                return -ENOMEM;
        a->bus = sd_bus_ref(bus);
        a->limits = *limits;
        *ret = a;
        return 0;
}

unsigned authorizer_pending(Authorizer *a) {
        return a->n_pending;
}
