/* org.vpc.Manager at /org/vpc: GetGuestOS, ListGuestOS, Version, HypervisorURI, answered from the
 * domain registry (no libvirt call). */
#pragma once

#include "bus-object.h"
#include "vpc-guestosd.h"


/* userdata: the Manager. */
extern const BusObjectImplementation manager_object;
extern const sd_bus_vtable manager_vtable[];
