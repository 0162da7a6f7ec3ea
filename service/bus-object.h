/* A bus object implementation as one descriptor (systemd's BusObjectImplementation): its path,
 * interface, vtable, and for objects that come and go the find callback and node enumerator. Each
 * object file exports one; the manager registers them all once with bus_add_implementation(). */
#pragma once

#include <systemd/sd-bus.h>

typedef struct BusObjectImplementation {
        const char *path;               /* the object, or the prefix of a fallback (find != NULL) */
        const char *interface;
        const sd_bus_vtable *vtable;
        sd_bus_object_find_t find;
        sd_bus_node_enumerator_t node_enumerator;
        sd_bus_message_handler_t fallback;      /* optional: runs first for every call below path */
} BusObjectImplementation;

/* Registers impl with the userdata its callbacks expect; the slots are floating, so they live as
 * long as the bus. */
int bus_add_implementation(sd_bus *bus, const BusObjectImplementation *impl, void *userdata);

/* sd-bus rejects a wrong signature itself, with a message that lacks the HRESULT; this filter
 * answers first, from the same vtables, so every error keeps the "0x...: " form. It looks at calls
 * on paths below prefix to the interfaces of impls (NULL-terminated). guard must outlive the bus. */
typedef struct BusSignatureGuard {
        const char *prefix;
        const BusObjectImplementation *const *impls;
} BusSignatureGuard;

int bus_add_signature_guard(sd_bus *bus, const BusSignatureGuard *guard);
