/* GuestOS.ListUsers(): who is logged on in the guest now, as a(sst) (user, domain or "", login time
 * in µs since the epoch). Authorized first (polkit org.vpc.guestos.list-users, re-dispatched as
 * Logoff is), then asked of the agent on an agent worker: guest-info (the agent must offer
 * guest-get-users), guest-get-users. Errors as Logoff's guest check; every call is audited. */
#pragma once

#include <systemd/sd-bus.h>

int guestos_method_list_users(sd_bus_message *call, void *userdata, sd_bus_error *error);
