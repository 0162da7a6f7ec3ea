/* See bus-request.h. */
#include <stdio.h>

#include "bus-request.h"

int bus_request_authorize(Authorizer *a, BusRequest *req, uid_t good_uid) {
        const char *const details[] = {
                "vm.name", req->vm_name,
                "vm.uuid", req->vm_uuid,
                req->task_path ? "task" : NULL, req->task_path,
                NULL,
        };
        AuthVerdict v;
        int r;

        r = authorizer_verify_async(a, req->call, req->kind->action, details, good_uid, &v);
        if (r == 0)
                return 0;
        req->creds = v.creds;
        if (r > 0)
                return 1;
        bus_request_refuse(req, v.error, v.reason);
        return 0;
}

void bus_request_audit(const BusRequest *req, VpcError result, const char *message) {
        audit_log(&(AuditRecord) {
                .event = req->kind->event,
                .uid = req->creds.uid,
                .pid = req->creds.pid,
                .sender = sd_bus_message_get_sender(req->call),
                .vm_name = req->vm_name,
                .vm_uuid = req->vm_uuid,
                .task_path = req->task_path,
                .result = result,
                .message = message,
                .policy = req->policy,
                .options = req->options,
        });
}

void bus_request_refuse(const BusRequest *req, VpcError e, const char *reason) {
        _cleanup_free_ char *words = NULL;

        if (asprintf(&words, "%s '%s': %s", req->kind->refusal, req->vm_name, reason ?: "failed") < 0)
                words = NULL;
        bus_request_audit(req, e, words ?: reason);
        (void) vpc_error_reply(req->call, e, "%s", words ?: req->kind->refusal);
}
