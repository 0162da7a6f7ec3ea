/* Authorization of bus calls: the caller's credentials come from the bus daemon and polkit's
 * CheckAuthorization is asked, both asynchronously, so the event loop never waits. Fails closed:
 * any error, timeout or malformed answer denies. */
#pragma once

#include <stdbool.h>
#include <sys/types.h>
#include <systemd/sd-bus.h>

#include "errors.h"
#include "util.h"

typedef struct Authorizer Authorizer;

typedef struct CallerCreds {
        uid_t uid;
        pid_t pid;
} CallerCreds;

#define UID_INVALID ((uid_t) -1)

/* verdict is VPC_OK, VPC_ERROR_ACCESS_DENIED or VPC_ERROR_INTERACTIVE_AUTHORIZATION_REQUIRED;
 * creds->uid is UID_INVALID when the bus could not tell who called. */
typedef void (*authorize_done_t)(VpcError verdict, const char *reason, const CallerCreds *creds,
                                 void *userdata);

typedef struct AuthorizerLimits {
        uint64_t timeout_usec;          /* a polkit answer later than this denies */
        unsigned max_pending;           /* checks in flight, all callers */
        unsigned max_pending_per_sender;
} AuthorizerLimits;

int authorizer_new(sd_bus *bus, const AuthorizerLimits *limits, Authorizer **ret);
/* Pending checks end with AccessDenied ("stopping"), so every parked call is answered. */
Authorizer *authorizer_free(Authorizer *a);
DEFINE_TRIVIAL_CLEANUP_FUNC(Authorizer *, authorizer_free);

/* Decides whether the sender of call may do action. uid 0, and allowed_uid (e.g. a task's owner;
 * UID_INVALID for none), pass without asking polkit. details: NULL-terminated key, value pairs.
 * Returns -ENOBUFS when the sender or everyone has too many checks in flight. */
int authorize_call(Authorizer *a, sd_bus_message *call, const char *action, const char *const *details,
                   uid_t allowed_uid, authorize_done_t done, void *userdata);

/* The sender left the bus: its pending checks end now with AccessDenied (nobody is left to read
 * it), so their owners free their state at once instead of when polkit answers. */
void authorizer_forget_sender(Authorizer *a, const char *sender);

unsigned authorizer_pending(Authorizer *a);
