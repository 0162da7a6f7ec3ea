/* The libvirt side of the console-disconnect policy: graphics events (a console client connected,
 * passed its handshake or left) and metadata-change events (our <policy/> element changed),
 * registered with each connection by hypervisor.c's connect job, both hopping to the loop through
 * the control worker so they stay in order with the lifecycle refreshes; and the scan that reads
 * every listed domain's policy after a (re)connection, in chunks on the same worker, so a listing of
 * 10,000 domains is not held up by 10,000 metadata calls nor holds the lifecycle refreshes up. */
#pragma once

#include <libvirt/libvirt.h>

#include "hypervisor.h"

#define HYPERVISOR_CONSOLE_EVENTS 2

/* Control worker: registers both on c; ids[] get libvirt's callback ids, -1 where the driver has
 * none (said once per connection: the daemon serves everything else all the same). */
void hypervisor_console_events_register(Hypervisor *h, virConnectPtr c, int ids[HYPERVISOR_CONSOLE_EVENTS]);
void hypervisor_console_events_deregister(virConnectPtr c, int ids[HYPERVISOR_CONSOLE_EVENTS]);
/* Event loop, once a (re)connection listed these domains: reads their policies and reports each
 * through hypervisor_deliver_console_policy(). */
void hypervisor_console_scan(Hypervisor *h, const DomainInfo *domains, size_t n);
