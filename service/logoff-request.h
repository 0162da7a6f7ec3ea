/* A Logoff call once polkit allowed it (DESIGN.md, Logoff steps 2 and 3): it joins the domain's
 * running Logoff task, or waits on the domain's check of its guest (or, while the registry says the
 * domain is not running, on a fresh look at its state, since the registry may lag behind an event
 * still on its way) and then gets a new task, an existing one, or an error. Each call is answered
 * once and audited. */
#pragma once

#include "caller.h"
#include "errors.h"
#include "vpc-guestosd.h"

void logoff_request(Manager *m, Domain *d, sd_bus_message *call, const CallerCreds *creds);

/* Answers call with an error of the table, worded "cannot log off 'NAME': REASON", audited. */
void logoff_request_refuse(sd_bus_message *call, const CallerCreds *creds, const char *vm_name, const char *vm_uuid,
                           VpcError e, const char *reason);
