/* The libvirt side of the console-disconnect policy: graphics events (a console client connected,
 * passed its handshake or left) and metadata-change events (our <policy/> element changed),
 * registered with each connection by hypervisor.c's connect job (manager.c lists this source), both hopping to the loop through
 * the control worker so they stay in order with the lifecycle refreshes; and the scan that reads
 * every listed domain's policy after a (re)connection, in chunks on the same worker, so a listing of
 * 10,000 domains is not held up by 10,000 metadata calls nor holds the lifecycle refreshes up. */
#pragma once

#include <libvirt/libvirt.h>

#include "hypervisor.h"

/* Both events are registered (a driver without one is said once per connection: the daemon serves
 * everything else all the same); its scan reads the listed domains' policies and reports each
 * through hypervisor_deliver_console_policy(). */
extern const HypervisorEventSource hypervisor_console_events;
