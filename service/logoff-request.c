/* See logoff-request.h: the Logoff's part of domain-request.c's shared path, and the options of a
 * LogoffWithOptions call read when its task starts. */
#include <errno.h>
#include <stdio.h>

#include "domain-request.h"
#include "logoff-options.h"
#include "logoff-request.h"
#include "logoff-state.h"
#include "logoff-task.h"

const BusRequestKind logoff_request_kind = {
        .event = AUDIT_LOGOFF_REQUEST,
        .action = "org.vpc.guestos.logoff",
        .refusal = "cannot log off",
};

const BusRequestKind logoff_with_options_request_kind = {
        .event = AUDIT_LOGOFF_REQUEST,
        .action = "org.vpc.guestos.logoff",
        .refusal = "cannot log off",
};

/* The guest passed its check: the domain's running task, or a new one. */
static void logoff_request_start(Manager *m, Domain *d, const BusRequest *req, GuestOsKind os) {
        _cleanup_(logoff_options_done) LogoffOptions options = {};
        _cleanup_(task_unrefp) Task *t = NULL;
        _cleanup_free_ char *error = NULL;
        int r;

        if (logoff_task_running(d)) {
                domain_request_answer_task(req, logoff_task_running(d));
                return;
        }
        if (req->kind == &logoff_with_options_request_kind) {
                r = sd_bus_message_rewind(req->call, true);
                r = r < 0 ? r : logoff_options_read(req->call, &options, &error);
                if (r < 0) {
                        bus_request_refuse(req, r == -EINVAL ? VPC_ERROR_INVALID_ARGS : VPC_ERROR_EXCEPTION,
                                           error ?: strerror(-r));
                        return;
                }
        }
        r = logoff_task_start_with_options(m, d, req->creds.uid, "Logoff", &options, os, &t);
        if (r < 0) {
                bus_request_refuse(req, VPC_ERROR_EXCEPTION, strerror(-r));
                return;
        }
        domain_request_answer_task(req, t);
}

static int logoff_checks(Domain *d, Operation ***ret_guest_check, Operation ***ret_state_check) {
        LogoffState *s = logoff_state_get(d);

        if (!s)
                return -ENOMEM;
        *ret_guest_check = &s->guest_check;
        *ret_state_check = &s->state_check;
        return 0;
}

static const DomainRequestFeature logoff_feature = {
        .running = logoff_task_running,
        .checks = logoff_checks,
        .start = logoff_request_start,
};

void logoff_request(Manager *m, Domain *d, const BusRequest *req) {
        domain_request(m, d, req, &logoff_feature);
}
