/* A Logoff call once polkit allowed it (docs/dbus-api.md, "Logoff()"): it takes domain-request.h's
 * path (the domain's check of its guest, or first a fresh look at its state) and joins the
 * domain's running Logoff task or gets a new one, or an error. Each call is answered once and
 * audited. */
#pragma once

#include "bus-request.h"
#include "vpc-guestosd.h"

/* GuestOS.Logoff's requests: their polkit action, audit event and refusal's words. */
extern const BusRequestKind logoff_request_kind;
/* GuestOS.LogoffWithOptions': the same action, audit event and words; its options are read again
 * from the call when its task starts (the call was checked when it came). */
extern const BusRequestKind logoff_with_options_request_kind;

/* req: authorized, on d. */
void logoff_request(Manager *m, Domain *d, const BusRequest *req);
