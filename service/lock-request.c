/* See lock-request.h: the Lock's part of domain-request.c's shared path. */
#include <errno.h>

#include "domain-request.h"
#include "lock-request.h"
#include "lock-task.h"

const BusRequestKind lock_request_kind = {
        .event = AUDIT_LOCK_REQUEST,
        .action = "org.vpc.guestos.lock",
        .refusal = "cannot lock",
};

static int lock_checks(Domain *d, Operation ***ret_guest_check, Operation ***ret_state_check) {
        LockState *s = lock_state_get(d);

        if (!s)
                return -ENOMEM;
        *ret_guest_check = &s->guest_check;
        *ret_state_check = &s->state_check;
        return 0;
}

/* lock_task_start() joins a Lock task that runs now itself. */
static void lock_start(Manager *m, Domain *d, const BusRequest *req, GuestOsKind os) {
        _cleanup_(task_unrefp) Task *t = NULL;
        int r;

        r = lock_task_start(m, d, req->creds.uid, os, &t);
        if (r < 0) {
                bus_request_refuse(req, VPC_ERROR_EXCEPTION, strerror(-r));
                return;
        }
        domain_request_answer_task(req, t);
}

static const DomainRequestFeature lock_feature = {
        .running = lock_task_running,
        .checks = lock_checks,
        .start = lock_start,
};

void lock_request(Manager *m, Domain *d, const BusRequest *req) {
        domain_request(m, d, req, &lock_feature);
}
