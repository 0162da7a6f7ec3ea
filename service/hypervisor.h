/* The libvirt side of the daemon. libvirt's event loop runs on a thread of its own; every libvirt
 * call runs on a worker thread (one ordered "control" worker for the domain list and lifecycle, a
 * small pool for guest-agent calls); results come back on the sd-event loop. The connection is
 * re-opened with backoff when libvirtd goes away. */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <systemd/sd-event.h>

#include "agent.h"
#include "domain.h"
#include "errors.h"

typedef struct Hypervisor Hypervisor;

typedef struct DomainInfo {
        char *name;
        char uuid[UUID_STRING_MAX];
        DomainState state;
} DomainInfo;

typedef struct HypervisorCallbacks {
        /* A (re)connection listed these domains: the caller resyncs to exactly this set. */
        void (*connected)(const DomainInfo *domains, size_t n, void *userdata);
        /* The connection broke, or an attempt to open it failed; a retry is scheduled. */
        void (*disconnected)(void *userdata);
        /* A lifecycle event was confirmed; info is NULL when the domain is gone. */
        void (*domain_changed)(const char *uuid, const DomainInfo *info, void *userdata);
} HypervisorCallbacks;

typedef struct HypervisorLimits {
        unsigned agent_threads;         /* agent calls in flight at once, all VMs together */
        unsigned agent_queue_max;       /* agent calls waiting for a thread */
} HypervisorLimits;

int hypervisor_new(sd_event *event, const char *uri, const HypervisorLimits *limits,
                   const HypervisorCallbacks *callbacks, void *userdata, Hypervisor **ret);
/* Stops the workers and closes the connection within a bound (10 s), for a shutdown that a frozen
 * libvirtd cannot hold: every waiting owner is answered (stopping). Afterwards every submit fails
 * with -ESHUTDOWN. -ETIMEDOUT when libvirt calls had to be left running: then h is never freed. */
int hypervisor_stop(Hypervisor *h);
Hypervisor *hypervisor_free(Hypervisor *h);
DEFINE_TRIVIAL_CLEANUP_FUNC(Hypervisor *, hypervisor_free);

int hypervisor_start(Hypervisor *h);
bool hypervisor_is_connected(Hypervisor *h);
const char *hypervisor_uri(Hypervisor *h);

/* Asks libvirt for one domain's state now, in order with the lifecycle events on the control worker,
 * and passes it to domain_changed() as an event would; then calls done. `applied` is false when
 * libvirt could not be asked (not connected, or the call failed). Thread-safe (libvirt's event
 * thread calls it for each lifecycle event, with done = NULL). */
typedef void (*domain_refreshed_t)(bool stopping, bool applied, void *userdata);
int hypervisor_refresh_domain(Hypervisor *h, const char *uuid, domain_refreshed_t done, void *userdata);

/* What a guest-agent call or a guest check produced; `stopping` means the daemon is shutting down and
 * the callback must only free its own state. */
typedef struct AgentCallResult {
        bool stopping;
        VpcError error;
        char *message;          /* when error != VPC_OK */
        char *reply;            /* the agent's JSON reply when error == VPC_OK */
} AgentCallResult;

typedef struct GuestCheckResult {
        bool stopping;
        VpcError error;
        char *message;
        GuestOsKind os;
} GuestCheckResult;

typedef void (*agent_call_done_t)(const AgentCallResult *result, void *userdata);
typedef void (*guest_check_done_t)(const GuestCheckResult *result, void *userdata);

/* Sends one agent command to the domain with that UUID, with a timeout in seconds. -EBUSY when the
 * agent queue is full. */
int hypervisor_agent_command(Hypervisor *h, const char *uuid, const char *command, int timeout_sec,
                             agent_call_done_t done, void *userdata);

/* The Logoff pre-check: the domain exists, runs, and its agent answers guest-info with guest-exec and
 * guest-get-users enabled; also learns the guest OS kind. */
int hypervisor_check_guest(Hypervisor *h, const char *uuid, int timeout_sec, guest_check_done_t done,
                           void *userdata);
