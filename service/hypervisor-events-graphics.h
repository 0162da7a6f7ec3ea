/* Graphics events (VNC, SPICE; the QEMU driver): a remote console connection of a domain
 * connected, passed its handshake or ended. Registered with each connection by hypervisor.c's
 * connect job (manager.c lists this source); each event hops to the loop through the control worker,
 * so it stays in order with the lifecycle refreshes, and reaches the subscriber's graphics(). */
#pragma once

#include <libvirt/libvirt.h>

#include "hypervisor.h"

/* A driver without graphics events is said once per connection: the daemon serves everything else
 * all the same. There is nothing to scan: libvirt cannot list the clients connected now. */
extern const HypervisorEventSource hypervisor_graphics_events;
