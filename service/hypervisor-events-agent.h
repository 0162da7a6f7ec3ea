/* libvirt's agent-lifecycle events (VIR_DOMAIN_EVENT_ID_AGENT_LIFECYCLE): the guest agent of a
 * domain connected or disconnected. Registered with the lifecycle events on every connection; each
 * event hops onto the sd-event loop in order with the control worker's jobs. libvirt neither
 * replays them nor sends one for an agent connected before we listened, so every (re)connection
 * also reads the agent channel's state of each running domain once, on the control worker, a
 * chunk at a time so the events queued meanwhile wait for one chunk only. */
#pragma once

#include <libvirt/libvirt.h>
#include <stddef.h>

#include "domain-info.h"
#include "hypervisor.h"

/* Its scan reads the listed running domains' agent states and reports each through
 * hypervisor_deliver_agent_channel(). */
extern const HypervisorEventSource hypervisor_agent_events;
