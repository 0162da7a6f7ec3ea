/* A bus request on a VM (Logoff, ListUsers, SetConsoleDisconnectPolicy, Cancel, and whatever method
 * comes next): its polkit check, its audit record and its refusal, the same for every method, as
 * machined's handlers use bus_verify_polkit_async(). A handler reads
 *
 *         r = bus_request_authorize(m->authorizer, &req, UID_INVALID);
 *         if (r < 0)
 *                 return r;
 *         if (r == 0)
 *                 return 1;
 *
 * and goes on with its work: a parked call runs the handler again once polkit answered, and a
 * denied one has been audited and answered with the verdict's HRESULT. */
#pragma once

#include <systemd/sd-bus.h>

#include "audit.h"
#include "caller.h"
#include "errors.h"
#include "polkit.h"

/* What one method's requests share; each method defines one. */
typedef struct BusRequestKind {
        AuditEvent event;
        const char *action;             /* the polkit action */
        const char *refusal;            /* a refusal's words before the VM's name, e.g. "cannot log off" */
} BusRequestKind;

typedef struct BusRequest {
        const BusRequestKind *kind;
        sd_bus_message *call;
        CallerCreds creds;              /* filled by bus_request_authorize() */
        const char *vm_name;
        const char *vm_uuid;
        const char *task_path;          /* the task it is about (Cancel) or got (Logoff); NULL for none */
        const char *policy;             /* the console policy asked for; NULL for none */
        const char *options;            /* LogoffWithOptions' options as audited; NULL for none */
} BusRequest;

/* Asks polkit whether req's caller may do req->kind->action on the VM (root, and good_uid unless
 * UID_INVALID, pass without asking). Returns 1: allowed, req->creds filled; 0: parked (the handler
 * returns 1 and runs again with the verdict) or denied (audited and answered); < 0: the call could
 * not be answered. */
int bus_request_authorize(Authorizer *a, BusRequest *req, uid_t good_uid);

/* The request's audit record, with its outcome. */
void bus_request_audit(const BusRequest *req, VpcError result, const char *message);

/* Answers req with an error of the table, worded "<refusal> 'NAME': REASON", audited. */
void bus_request_refuse(const BusRequest *req, VpcError e, const char *reason);
