/* Authorization of bus calls, as systemd's bus_verify_polkit_async() does it: a method handler asks
 * authorizer_verify_async(); the first time the call is parked while the caller's credentials (once
 * per caller, see caller.h) and polkit's CheckAuthorization are asked, both asynchronously, and
 * when the verdict is in the same call is dispatched again, so the handler runs once more and now
 * reads the verdict. Handlers stay straight-line code and the event loop never waits. Fails closed:
 * any error, timeout or malformed answer denies. */
#pragma once

#include <stdbool.h>
#include <sys/types.h>
#include <systemd/sd-bus.h>
#include <systemd/sd-event.h>

#include "caller.h"
#include "errors.h"
#include "util.h"

typedef struct Authorizer Authorizer;

typedef struct AuthorizerLimits {
        uint64_t timeout_usec;          /* a polkit answer later than this denies */
        unsigned max_pending;           /* checks in flight, all callers */
        unsigned max_pending_per_sender;
        unsigned max_in_flight;         /* checks sent to polkitd and not answered yet, all callers */
        unsigned max_in_flight_per_sender;      /* the rest wait here for their turn */
} AuthorizerLimits;

int authorizer_new(sd_event *event, sd_bus *bus, CallerRegistry *callers, const AuthorizerLimits *limits,
                   Authorizer **ret);
/* Parked calls get their verdict (AccessDenied, "stopping") and are dispatched again. */
Authorizer *authorizer_free(Authorizer *a);
DEFINE_TRIVIAL_CLEANUP_FUNC(Authorizer *, authorizer_free);

typedef struct AuthVerdict {
        VpcError error;         /* VPC_OK, AccessDenied, InteractiveAuthorizationRequired, LimitsExceeded */
        const char *reason;     /* static text, NULL when allowed */
        CallerCreds creds;      /* uid UID_INVALID when the bus could not tell who called */
} AuthVerdict;

/* May the sender of call do action? uid 0, and good_uid (e.g. a task's owner; UID_INVALID for none),
 * pass without asking polkit. details: NULL-terminated key, value pairs.
 * Returns 1: allowed; 0: parked, the handler must return 1 and will run again with the verdict;
 * -EACCES: not allowed (InteractiveAuthorizationRequired when polkit would ask but the call did not
 * allow interaction; LimitsExceeded when too many checks are in flight). *ret is filled whenever it
 * returns 1 or -EACCES; the handler words and sends the error. */
int authorizer_verify_async(Authorizer *a, sd_bus_message *call, const char *action, const char *const *details,
                            uid_t good_uid, AuthVerdict *ret);

unsigned authorizer_pending(Authorizer *a);
