/* A Lock call once polkit allowed it (docs/dbus-api.md, "Lock()"): it takes domain-request.h's
 * path, as a Logoff call does, and joins the domain's running Lock task or gets a new one, or an
 * error. Each call is answered once and audited. */
#pragma once

#include "bus-request.h"
#include "vpc-guestosd.h"

/* GuestOS.Lock's requests: their polkit action, audit event and refusal's words. */
extern const BusRequestKind lock_request_kind;

/* req: authorized, on d. */
void lock_request(Manager *m, Domain *d, const BusRequest *req);
