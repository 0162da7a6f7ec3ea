/* A Lock call once polkit allowed it (docs/dbus-api.md, "Lock()"), as a Logoff call is
 * (logoff-request.h): it joins the domain's running Lock task, or waits on the domain's Lock check
 * of its guest (logoff-check.c's, or first a fresh look at the domain's state while the registry
 * says it is not running) and then gets a new task, an existing one, or an error. Each call is
 * answered once and audited. */
#pragma once

#include "bus-request.h"
#include "vpc-guestosd.h"

/* GuestOS.Lock's requests: their polkit action, audit event and refusal's words. */
extern const BusRequestKind lock_request_kind;

/* req: authorized, on d. */
void lock_request(Manager *m, Domain *d, const BusRequest *req);
