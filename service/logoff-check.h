/* Logoff's check of the guest before a task starts (docs/dbus-api.md, "Logoff()"): the domain exists,
 * and its agent answers guest-info with guest-exec, guest-exec-status and guest-get-users enabled;
 * also which OS the guest runs (guest-get-osinfo), which picks the logoff program. Runs on an agent
 * worker; the result comes back on the event loop. */
#pragma once

#include <stdbool.h>

#include "agent-json.h"
#include "errors.h"
#include "hypervisor.h"

typedef struct GuestCheckResult {
        bool stopping;          /* the daemon is shutting down: free your state, touch nothing */
        VpcError error;
        char *message;
        GuestOsKind os;
} GuestCheckResult;

typedef void (*guest_check_done_t)(const GuestCheckResult *result, void *userdata);

/* known_os: the OS an earlier check of this running domain read, or GUEST_OS_UNKNOWN; when known,
 * guest-get-osinfo is not asked again (result->os is known_os). -EBUSY when the agent workers and
 * their queue are full. */
int logoff_check_guest(Hypervisor *h, const char *uuid, int timeout_sec, GuestOsKind known_os,
                       guest_check_done_t done, void *userdata);
