/* The daemon's own element in the domains' <metadata> (its namespace: the subscriber's metadata_uri):
 * metadata-change events, registered with each connection by hypervisor.c's connect job (manager.c
 * lists this source), make the control worker read the domain again, metadata included; and the scan
 * that reads every listed domain's element after a (re)connection, in chunks on the same worker, so
 * a listing of 10,000 domains is not held up by 10,000 metadata calls nor holds the lifecycle
 * refreshes up. The raw XML reaches the subscriber's metadata(). */
#pragma once

#include <libvirt/libvirt.h>

#include "hypervisor.h"

/* A driver without metadata-change events is said once per connection: the element is then read at
 * (re)connect only. */
extern const HypervisorEventSource hypervisor_metadata_events;
