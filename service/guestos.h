/* org.vpc.GuestOS objects at /org/vpc/GuestOS/<escaped name>: one per libvirt domain, served from
 * the registry by a fallback vtable and a node enumerator, with Logoff() as their method. */
#pragma once

#include "bus-object.h"
#include "vpc-guestosd.h"

void guestos_emit_state_changed(Manager *m, Domain *d);

/* The GuestOS objects, for the manager to register (userdata: the Manager). */
extern const BusObjectImplementation guestos_object;
extern const sd_bus_vtable guestos_vtable[];
