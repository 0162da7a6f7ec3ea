/* libvirt's events for the console-disconnect policy: graphics (a console client connected, passed
 * its handshake or left) and metadata-change (our <policy/> element changed). Registered with each
 * connection by hypervisor.c's connect job; both hop to the loop through the control worker, so
 * they stay in order with the lifecycle refreshes. */
#pragma once

#include <libvirt/libvirt.h>

#include "hypervisor.h"

#define HYPERVISOR_CONSOLE_EVENTS 2

/* Control worker: registers both on c; ids[] get libvirt's callback ids, -1 where the driver has
 * none (said once per connection: the daemon serves everything else all the same). */
void hypervisor_console_events_register(Hypervisor *h, virConnectPtr c, int ids[HYPERVISOR_CONSOLE_EVENTS]);
void hypervisor_console_events_deregister(virConnectPtr c, int ids[HYPERVISOR_CONSOLE_EVENTS]);
