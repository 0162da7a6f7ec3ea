/* Which OS a guest runs, as far as the daemon needs to know: it picks the logoff program. Read from
 * guest-get-osinfo (agent-json.h); kept by the domain between Logoff checks (domain.h). */
#pragma once

typedef enum GuestOsKind {
        GUEST_OS_UNKNOWN,
        GUEST_OS_LINUX,
        GUEST_OS_WINDOWS,
} GuestOsKind;
