/* org.vpc.GuestOS objects at /org/vpc/GuestOS/<escaped name>: one per libvirt domain, served from
 * the registry by a fallback vtable and a node enumerator, with Logoff() as their method. */
#pragma once

#include "manager.h"

int guestos_register(Manager *m);
void guestos_emit_state_changed(Manager *m, Domain *d);

extern const sd_bus_vtable guestos_vtable[];
