/* What a GUI shows of a domain's guest agent: GuestOS.AgentConnected, kept from libvirt's
 * agent-lifecycle events and the reads of hypervisor-events-agent.c (never polled), and
 * GuestOS.OSName, asked of the agent (guest-get-osinfo, on an agent worker) each time it connects.
 * Both emit PropertiesChanged. */
#pragma once

#include <stdbool.h>

#include "vpc-guestosd.h"

/* What GuestOS shows: false and "" until the agent was seen. */
bool guestos_osname_agent_connected(const Domain *d);
const char *guestos_osname_name(const Domain *d);

/* The agent connected or disconnected. A connection (again) reads the OS name. */
void guestos_osname_set_agent_connected(Manager *m, Domain *d, bool connected);
/* The domain stopped: no agent, and the next boot may run another OS. */
void guestos_osname_domain_stopped(Manager *m, Domain *d);
