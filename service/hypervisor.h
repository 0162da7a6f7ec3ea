/* The libvirt side of the daemon: the connection, libvirt's event loop on a thread of its own, and
 * the domain list kept current from lifecycle events. Every libvirt call runs on a worker thread (one
 * ordered "control" worker for the domain list and lifecycle, a small pool for guest-agent calls,
 * whose calls are in hypervisor-agent.h); results come back on the sd-event loop. The connection is
 * re-opened with backoff when libvirtd goes away. */
#pragma once

#include <libvirt/libvirt.h>
#include <stdbool.h>
#include <stddef.h>
#include <systemd/sd-event.h>

#include "domain-info.h"
#include "domain.h"
#include "errors.h"
#include "workqueue.h"

/* Every connection the daemon opens has libvirt's keepalive, so a frozen libvirtd fails its calls
 * within HYPERVISOR_KEEPALIVE_BOUND_SEC instead of holding them (and the workers) forever. */
#define HYPERVISOR_KEEPALIVE_INTERVAL_SEC 5
#define HYPERVISOR_KEEPALIVE_COUNT 3
#define HYPERVISOR_KEEPALIVE_BOUND_SEC (HYPERVISOR_KEEPALIVE_INTERVAL_SEC * (HYPERVISOR_KEEPALIVE_COUNT + 1))

typedef struct Hypervisor Hypervisor;

/* The namespace prefix libvirt stores the daemon's metadata element with. */
#define HYPERVISOR_METADATA_PREFIX "vpc"

/* A further kind of libvirt domain event a feature listens to (hypervisor-events-*.c). The owner
 * hands the list to hypervisor_new(), so this file knows the interface and not the features. */
#define HYPERVISOR_EVENT_IDS_MAX 4
#define HYPERVISOR_EVENT_SOURCES_MAX 4
typedef struct HypervisorEventSource {
        /* Control worker, on each new connection, right after the lifecycle events: ids[] get
         * libvirt's callback ids, -1 where the driver has none (the daemon serves everything else). */
        void (*register_events)(Hypervisor *h, virConnectPtr c, int ids[HYPERVISOR_EVENT_IDS_MAX]);
        /* Event loop, once a (re)connection listed these domains: libvirt replays no event, so what
         * the events would have said is read once. */
        void (*scan)(Hypervisor *h, const DomainInfo *domains, size_t n);
} HypervisorEventSource;

/* What a subscriber (manager.c) hears of the hypervisor, in generic events: it names no feature. */
typedef struct HypervisorSubscriber {
        /* Lifecycle. A (re)connection listed these domains: the subscriber resyncs to exactly this set. */
        void (*connected)(const DomainInfo *domains, size_t n, void *userdata);
        /* The connection broke, or an attempt to open it failed; a retry is scheduled. */
        void (*disconnected)(void *userdata);
        /* A lifecycle event was confirmed; info is NULL when the domain is gone. */
        void (*domain_changed)(const char *uuid, const DomainInfo *info, void *userdata);
        /* Agent channel: a domain's guest agent connected or disconnected (libvirt's agent-lifecycle
         * event), or was read so when the connection was (re)established (hypervisor-events-agent.h). */
        void (*agent_channel)(const char *uuid, bool connected, void *userdata);
        /* Graphics (VNC, SPICE): a remote console connection of the domain connected, passed its
         * handshake or ended (phase: virDomainEventGraphicsPhase); address is the client's,
         * printable. In order with the lifecycle events (hypervisor-events-graphics.h). */
        void (*graphics)(const char *uuid, int phase, const char *address, void *userdata);
        /* Metadata: the raw XML of the element under metadata_uri (NULL: the domain has none), read
         * after a (re)connection listed the domain (the listing leaves metadata out: one call per
         * domain) and when it changed (hypervisor-events-metadata.h); a refresh brings it in
         * domain_changed()'s info. The XML is whoever edited the domain's: parse it strictly. */
        void (*metadata)(const char *uuid, const char *xml, void *userdata);
        /* The namespace of the daemon's own element in a domain's <metadata> (stored with the prefix
         * HYPERVISOR_METADATA_PREFIX); NULL: none is read or written. */
        const char *metadata_uri;
        /* The further event sources, NULL-terminated (at most HYPERVISOR_EVENT_SOURCES_MAX). */
        const HypervisorEventSource *const *event_sources;
} HypervisorSubscriber;

typedef struct HypervisorLimits {
        unsigned agent_threads;         /* agent calls in flight at once, all VMs together */
        unsigned agent_queue_max;       /* agent calls waiting for a thread */
} HypervisorLimits;

int hypervisor_new(sd_event *event, const char *uri, const HypervisorLimits *limits,
                   const HypervisorSubscriber *subscriber, void *userdata, Hypervisor **ret);
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

/* For hypervisor-agent.c, on any thread: a reference to the current connection (NULL while there
 * is none; release it with virConnectClose()), and the bounded submit to the agent workers (-EBUSY
 * when they and their queue are full; a job with a bound is answered by hypervisor_stop() when it
 * has to leave its worker behind). */
virConnectPtr hypervisor_acquire_connection(Hypervisor *h);
/* For hypervisor-agent.c, on an agent worker: a connection of its own opened ahead (NULL when none
 * is left; the worker then opens one), to keep and close as if it had opened it. */
virConnectPtr hypervisor_take_spare_connection(Hypervisor *h);
/* Thread-safe: a job for the ordered control worker, in order with the lifecycle refreshes (for
 * libvirt calls that change a domain, e.g. its metadata, and for events that must keep their order
 * with the lifecycle events). */
int hypervisor_submit_control_job(Hypervisor *h, Job *j);
/* For the event files (hypervisor-events-*.c), on the loop: an event handed to the subscriber while
 * the connection is up. */
void hypervisor_deliver_graphics(Hypervisor *h, const char *uuid, int phase, const char *address);
void hypervisor_deliver_metadata(Hypervisor *h, const char *uuid, const char *xml);
void hypervisor_deliver_agent_channel(Hypervisor *h, const char *uuid, bool connected);
const char *hypervisor_metadata_uri(Hypervisor *h);
int hypervisor_submit_agent_job(Hypervisor *h, Job *j);
/* On the loop: whether one more agent job would still leave a worker free for callers (with a
 * single worker: whether it is idle). Background reads ask this first. */
bool hypervisor_agent_spare(Hypervisor *h);

static inline void virConnectClosep(virConnectPtr *c) {
        if (*c)
                virConnectClose(*c);
}
