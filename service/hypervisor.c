/* The libvirt connection: open and reconnect with backoff, libvirt's event thread, the lifecycle
 * events and the domain list, and the worker queues (see hypervisor.h). Guest-agent calls are in
 * hypervisor-agent.c. */
#include <errno.h>
#include <inttypes.h>
#include <libvirt/libvirt.h>
#include <libvirt/virterror.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <string.h>

#include "domain-info.h"
#include "hypervisor.h"
#include "libvirt-errors.h"
#include "log.h"
#include "text.h"
#include "workqueue.h"

#define RECONNECT_MIN_USEC (250 * USEC_PER_MSEC)
#define RECONNECT_MAX_USEC (30 * USEC_PER_SEC)
/* Shutdown waits this long for the workers and the connection's teardown, then leaves them. */
#define STOP_TIMEOUT_USEC (10 * USEC_PER_SEC)
/* At most one spare connection per agent worker (--agent-threads is at most 64). */
#define SPARES_MAX 64

struct Hypervisor {
        sd_event *event;
        char *uri;
        HypervisorLimits limits;
        const HypervisorSubscriber *subscriber;
        void *userdata;

        WorkQueue *control;     /* one thread: keeps connect, list and refresh in order */
        WorkQueue *agent;       /* agent_threads threads: bounds agent calls in flight */

        pthread_t event_thread;
        bool event_thread_started;
        atomic_bool event_thread_stop;

        /* Shared with the workers; every user takes a reference under the lock. */
        pthread_mutex_t conn_lock;
        virConnectPtr conn;
        int lifecycle_callback;
        int event_ids[HYPERVISOR_EVENT_SOURCES_MAX][HYPERVISOR_EVENT_IDS_MAX];  /* subscriber->event_sources */
        /* Opened for the agent workers right after the shared one: libvirtd asks polkit about every
         * new connection of a client that is not root (auth_unix_rw = "polkit"), so a worker that
         * opened its own only at its first call would wait for polkitd there, and a frozen polkitd
         * would hold even root's Logoff, which needs no polkit check of the daemon's. */
        virConnectPtr spares[SPARES_MAX];
        size_t n_spares;

        /* Event loop only. */
        bool connected;
        bool connecting;
        bool warned;
        uint64_t backoff;
        sd_event_source *reconnect_timer;
        bool stopped;
};

/* A shutdown that had to leave workers in libvirt calls keeps what they use here: reachable, so
 * neither LeakSanitizer nor valgrind reads the deliberate leak as lost. */
static Hypervisor *abandoned;

static void virDomainFreep(virDomainPtr *d) {
        if (*d)
                virDomainFree(*d);
}
#define _cleanup_domain_ _cleanup_(virDomainFreep)

#define _cleanup_conn_ _cleanup_(virConnectClosep)

virConnectPtr hypervisor_acquire_connection(Hypervisor *h) {
        virConnectPtr c;

        pthread_mutex_lock(&h->conn_lock);
        c = h->conn;
        if (c)
                virConnectRef(c);
        pthread_mutex_unlock(&h->conn_lock);
        return c;
}

/* --- libvirt's event loop thread --- */

static void *event_thread_main(void *userdata) {
        Hypervisor *h = userdata;

        while (!atomic_load(&h->event_thread_stop))
                if (virEventRunDefaultImpl() < 0)
                        break;
        return NULL;
}

static void wake_timeout(int timer, void *opaque) {
        virEventRemoveTimeout(timer);
}

/* --- lifecycle events --- */

typedef struct RefreshJob {
        Job job;                /* first: the queue's callbacks cast back */
        Hypervisor *h;
        char uuid[UUID_STRING_MAX];
        bool gone;
        bool failed;
        bool expired;
        DomainInfo info;
        domain_refreshed_t done;        /* NULL for a lifecycle event's refresh */
        void *userdata;
} RefreshJob;

static void refresh_run(Job *job) {
        RefreshJob *j = (RefreshJob *) job;
        _cleanup_conn_ virConnectPtr c = hypervisor_acquire_connection(j->h);
        _cleanup_domain_ virDomainPtr d = NULL;

        if (!c) {
                j->failed = true;
                return;
        }
        /* The domain may also vanish between lookup and state query. */
        d = virDomainLookupByUUIDString(c, j->uuid);
        if (!d || domain_info_fill(d, &j->info) < 0) {
                if (domain_vanished())
                        j->gone = true;
                else
                        j->failed = true;
                return;
        }
        if (j->h->subscriber->metadata_uri)
                domain_info_read_metadata(d, j->h->subscriber->metadata_uri, &j->info);
        /* A domain that just started has its agent's state read with it; without it (the call
         * failed) the agent events alone keep it. */
        (void) domain_info_read_agent(d, &j->info);
}

static void refresh_apply(RefreshJob *j) {
        Hypervisor *h = j->h;

        if (!j->failed && h->connected)
                h->subscriber->domain_changed(j->uuid, j->gone ? NULL : &j->info, h->userdata);
}

static void refresh_done(Job *job, JobEnd end) {
        RefreshJob *j = (RefreshJob *) job;

        j->expired = end == JOB_EXPIRED;
        if (end == JOB_FINISHED)
                refresh_apply(j);
        if (j->done)
                j->done(end == JOB_STOPPING, end == JOB_FINISHED && !j->failed && j->h->connected, j->userdata);
}

static void refresh_release(Job *job, bool stopping) {
        RefreshJob *j = (RefreshJob *) job;

        /* An expired refresh that came back at last still brings the domain's state. */
        if (j->expired && !stopping)
                refresh_apply(j);
        free(j->info.name);
        free(j->info.metadata);
        free(j);
}

static const JobOps refresh_ops = {
        .run = refresh_run,
        .done = refresh_done,
        .release = refresh_release,
};

int hypervisor_refresh_domain(Hypervisor *h, const char *uuid, domain_refreshed_t done, void *userdata) {
        RefreshJob *j;
        int r;

        if (!uuid || strlen(uuid) >= UUID_STRING_MAX)
                return -EINVAL;
        j = calloc(1, sizeof(*j));
        if (!j)
                return -ENOMEM;
        j->job.ops = &refresh_ops;
        /* Lifecycle events (done NULL) come from libvirt's thread and answer nobody: no bound. */
        if (done)
                j->job.bound_usec = (uint64_t) (HYPERVISOR_KEEPALIVE_BOUND_SEC + 10) * USEC_PER_SEC;
        j->h = h;
        strcpy(j->uuid, uuid);
        j->done = done;
        j->userdata = userdata;
        r = workqueue_submit(h->control, &j->job);
        if (r < 0)
                free(j);
        return r;
}

/* Runs on libvirt's event thread: only queue a refresh, the control worker asks libvirt. */
static int on_lifecycle_event(virConnectPtr conn, virDomainPtr dom, int event, int detail, void *opaque) {
        char uuid[UUID_STRING_MAX];

        if (virDomainGetUUIDString(dom, uuid) >= 0)
                (void) hypervisor_refresh_domain(opaque, uuid, NULL, NULL);
        return 0;
}

/* --- for the event files (hypervisor-events-*.c) --- */

int hypervisor_submit_control_job(Hypervisor *h, Job *j) {
        return workqueue_submit(h->control, j);
}

void hypervisor_deliver_metadata(Hypervisor *h, const char *uuid, const char *xml) {
        if (h->connected && h->subscriber->metadata)
                h->subscriber->metadata(uuid, xml, h->userdata);
}

void hypervisor_deliver_graphics(Hypervisor *h, const char *uuid, int phase, const char *address) {
        /* An event of a connection that broke since: the subscriber already reset what it counted. */
        if (h->connected && h->subscriber->graphics)
                h->subscriber->graphics(uuid, phase, address, h->userdata);
}

void hypervisor_deliver_agent_channel(Hypervisor *h, const char *uuid, bool connected) {
        if (h->connected && h->subscriber->agent_channel)
                h->subscriber->agent_channel(uuid, connected, h->userdata);
}

const char *hypervisor_metadata_uri(Hypervisor *h) {
        return h->subscriber->metadata_uri;
}

/* --- connect, disconnect, reconnect --- */

static void schedule_reconnect(Hypervisor *h);

/* A job that carries nothing but the Hypervisor (on_connection_closed() may fire more than once). */
typedef struct HypervisorJob {
        Job job;                /* first: the queue's callbacks cast back */
        Hypervisor *h;
} HypervisorJob;

static void hypervisor_job_release(Job *j, bool stopping) {
        free(j);
}

static int hypervisor_job_submit(Hypervisor *h, const JobOps *ops) {
        HypervisorJob *j = calloc(1, sizeof(*j));
        int r;

        if (!j)
                return -ENOMEM;
        *j = (HypervisorJob) { .job.ops = ops, .h = h };
        r = workqueue_submit(h->control, &j->job);
        if (r < 0)
                free(j);
        return r;
}

static void disconnected_done(Job *job, JobEnd end) {
        Hypervisor *h = ((HypervisorJob *) job)->h;

        if (end != JOB_FINISHED || !h->connected)
                return;
        log_warning("lost the connection to %s, reconnecting", h->uri);
        h->connected = false;
        h->subscriber->disconnected(h->userdata);
        schedule_reconnect(h);
}

/* Runs on libvirt's event thread when the connection breaks (libvirtd gone, keepalive lost). */
static void on_connection_closed(virConnectPtr conn, int reason, void *opaque) {
        Hypervisor *h = opaque;

        static const JobOps ops = { .done = disconnected_done, .release = hypervisor_job_release };

        (void) hypervisor_job_submit(h, &ops);
}

/* Control worker: forget the current connection, and the spares opened beside it. */
static void drop_connection(Hypervisor *h) {
        virConnectPtr c, spares[SPARES_MAX];
        size_t n_spares;

        pthread_mutex_lock(&h->conn_lock);
        c = h->conn;
        h->conn = NULL;
        n_spares = h->n_spares;
        memcpy(spares, h->spares, n_spares * sizeof(virConnectPtr));
        h->n_spares = 0;
        pthread_mutex_unlock(&h->conn_lock);
        for (size_t i = 0; i < n_spares; i++)
                virConnectClose(spares[i]);
        if (!c)
                return;

        if (h->lifecycle_callback >= 0)
                (void) virConnectDomainEventDeregisterAny(c, h->lifecycle_callback);
        h->lifecycle_callback = -1;
        for (size_t i = 0; i < HYPERVISOR_EVENT_SOURCES_MAX; i++)
                for (size_t k = 0; k < HYPERVISOR_EVENT_IDS_MAX; k++) {
                        if (h->event_ids[i][k] >= 0)
                                (void) virConnectDomainEventDeregisterAny(c, h->event_ids[i][k]);
                        h->event_ids[i][k] = -1;
                }
        (void) virConnectUnregisterCloseCallback(c, on_connection_closed);
        virConnectClose(c);
}

typedef struct ConnectJob {
        Job job;                /* first: the queue's callbacks cast back */
        Hypervisor *h;
        int error;
        char *message;
        DomainInfo *domains;
        size_t n_domains;
} ConnectJob;

static void connect_run(Job *job) {
        ConnectJob *j = (ConnectJob *) job;
        Hypervisor *h = j->h;
        virDomainPtr *list = NULL;
        KnownState *known;
        size_t n_known = 0;
        virConnectPtr c;
        int n;

        drop_connection(h);

        c = virConnectOpen(h->uri);
        if (!c) {
                j->error = -ECONNREFUSED;
                (void) vpc_error_from_last_libvirt_error(false, &j->message);
                return;
        }

        (void) virConnectSetKeepAlive(c, HYPERVISOR_KEEPALIVE_INTERVAL_SEC, HYPERVISOR_KEEPALIVE_COUNT);
        /* Not every driver has a close callback (the in-process ones cannot lose their daemon). */
        (void) virConnectRegisterCloseCallback(c, on_connection_closed, h, NULL);

        /* Listen before listing, so no change between the two is missed; the refreshes the events
         * queue run after this job on the same ordered worker. */
        pthread_mutex_lock(&h->conn_lock);
        h->conn = c;
        pthread_mutex_unlock(&h->conn_lock);
        h->lifecycle_callback = virConnectDomainEventRegisterAny(
                        c, NULL, VIR_DOMAIN_EVENT_ID_LIFECYCLE, VIR_DOMAIN_EVENT_CALLBACK(on_lifecycle_event), h, NULL);
        if (h->lifecycle_callback < 0) {
                j->error = -EIO;
                (void) vpc_error_from_last_libvirt_error(false, &j->message);
                drop_connection(h);
                return;
        }
        for (size_t i = 0; h->subscriber->event_sources && h->subscriber->event_sources[i]; i++)
                h->subscriber->event_sources[i]->register_events(h, c, h->event_ids[i]);

        n = virConnectListAllDomains(c, &list, 0);
        if (n < 0) {
                j->error = -EIO;
                (void) vpc_error_from_last_libvirt_error(false, &j->message);
                drop_connection(h);
                return;
        }

        known = bulk_states(c, &n_known);
        j->domains = calloc(n + 1, sizeof(DomainInfo));
        for (int i = 0; i < n; i++) {
                if (j->domains && j->error >= 0) {
                        if (domain_info_fill_known(list[i], known, n_known, &j->domains[j->n_domains]) >= 0)
                                j->n_domains++;
                        else if (!domain_vanished()) {
                                /* Skipping a domain we failed to read would leave it out until its next
                                 * event; fail the whole listing instead, so the retry sees every one. */
                                j->error = -EIO;
                                (void) vpc_error_from_last_libvirt_error(false, &j->message);
                        }
                }
                /* A domain that vanishes while we list it is skipped; its event follows. */
                virDomainFree(list[i]);
        }
        free(known);
        free(list);
        if (!j->domains)
                j->error = -ENOMEM;
        if (j->error < 0)
                drop_connection(h);
}

/* Control worker, after a connection: one spare for each agent worker. A worker whose own connection
 * survived leaves its spare unused, an idle connection until the next reconnection. */
static void spares_run(Job *job) {
        Hypervisor *h = ((HypervisorJob *) job)->h;

        for (unsigned i = 0; i < h->limits.agent_threads && i < SPARES_MAX; i++) {
                virConnectPtr c;
                bool wanted;

                pthread_mutex_lock(&h->conn_lock);
                wanted = h->conn && h->n_spares < h->limits.agent_threads;
                pthread_mutex_unlock(&h->conn_lock);
                if (!wanted)
                        return;
                c = virConnectOpen(h->uri);
                if (!c)
                        return;         /* the workers open their own when they need one */
                (void) virConnectSetKeepAlive(c, HYPERVISOR_KEEPALIVE_INTERVAL_SEC, HYPERVISOR_KEEPALIVE_COUNT);
                pthread_mutex_lock(&h->conn_lock);
                if (h->conn && h->n_spares < SPARES_MAX) {
                        h->spares[h->n_spares++] = c;
                        c = NULL;
                }
                pthread_mutex_unlock(&h->conn_lock);
                if (c) {
                        virConnectClose(c);
                        return;
                }
        }
}

virConnectPtr hypervisor_take_spare_connection(Hypervisor *h) {
        for (;;) {
                virConnectPtr c = NULL;

                pthread_mutex_lock(&h->conn_lock);
                if (h->n_spares > 0)
                        c = h->spares[--h->n_spares];
                pthread_mutex_unlock(&h->conn_lock);
                if (!c || virConnectIsAlive(c) == 1)
                        return c;
                virConnectClose(c);
        }
}

static void connect_done(Job *job, JobEnd end) {
        ConnectJob *j = (ConnectJob *) job;
        Hypervisor *h = j->h;

        if (end == JOB_FINISHED) {
                h->connecting = false;
                if (j->error < 0) {
                        /* Say it once per outage, not at every retry. */
                        log_full(h->warned ? LOG_DEBUG : LOG_WARNING, "cannot connect to %s: %s", h->uri,
                                 j->message ?: strerror(-j->error));
                        h->warned = true;
                        h->subscriber->disconnected(h->userdata);
                        schedule_reconnect(h);
                } else {
                        log_info("connected to %s, %zu domain(s)", h->uri, j->n_domains);
                        static const JobOps spares_ops = { .run = spares_run, .release = hypervisor_job_release };

                        (void) hypervisor_job_submit(h, &spares_ops);
                        h->connected = true;
                        h->warned = false;
                        h->backoff = 0;
                        h->subscriber->connected(j->domains, j->n_domains, h->userdata);
                        for (size_t i = 0; h->subscriber->event_sources && h->subscriber->event_sources[i]; i++)
                                h->subscriber->event_sources[i]->scan(h, j->domains, j->n_domains);
                }
        }
}

static void connect_release(Job *job, bool stopping) {
        ConnectJob *j = (ConnectJob *) job;

        domain_infos_free(j->domains, j->n_domains);
        free(j->message);
        free(j);
}

static int submit_connect(Hypervisor *h) {
        ConnectJob *j;
        int r;

        if (h->connecting)
                return 0;
        j = calloc(1, sizeof(*j));
        if (!j)
                return -ENOMEM;
        static const JobOps connect_ops = { .run = connect_run, .done = connect_done, .release = connect_release };

        j->job.ops = &connect_ops;
        j->h = h;
        r = workqueue_submit(h->control, &j->job);
        if (r < 0) {
                free(j);
                return r;
        }
        h->connecting = true;
        return 0;
}

static int on_reconnect_timer(sd_event_source *s, uint64_t usec, void *userdata) {
        Hypervisor *h = userdata;
        int r;

        h->reconnect_timer = sd_event_source_unref(h->reconnect_timer);
        r = submit_connect(h);
        if (r < 0)
                log_error("cannot queue a reconnect: %s", strerror(-r));
        return 0;
}

static void schedule_reconnect(Hypervisor *h) {
        int r;

        if (h->reconnect_timer || h->connecting)
                return;
        h->backoff = h->backoff ? h->backoff * 2 : RECONNECT_MIN_USEC;
        if (h->backoff > RECONNECT_MAX_USEC)
                h->backoff = RECONNECT_MAX_USEC;
        r = sd_event_add_time_relative(h->event, &h->reconnect_timer, CLOCK_MONOTONIC, h->backoff, 0,
                                       on_reconnect_timer, h);
        if (r < 0)
                log_error("cannot arm the reconnect timer: %s", strerror(-r));
}

int hypervisor_submit_agent_job(Hypervisor *h, Job *j) {
        if (workqueue_busy(h->agent) >= h->limits.agent_threads + h->limits.agent_queue_max)
                return -EBUSY;
        return workqueue_submit(h->agent, j);
}

bool hypervisor_agent_spare(Hypervisor *h) {
        unsigned keep = h->limits.agent_threads > 1 ? h->limits.agent_threads - 1 : 1;

        return workqueue_busy(h->agent) < keep;
}

/* --- life of the Hypervisor object --- */

static void silence_libvirt(void *userdata, virErrorPtr error) {
        /* Errors are read with virGetLastError() where they happen, and logged by the caller. */
}

int hypervisor_new(sd_event *event, const char *uri, const HypervisorLimits *limits,
                   const HypervisorSubscriber *subscriber, void *userdata, Hypervisor **ret) {
        _cleanup_(hypervisor_freep) Hypervisor *h = NULL;
        int r;

        h = calloc(1, sizeof(*h));
        if (!h)
                return -ENOMEM;
        h->event = sd_event_ref(event);
        h->limits = *limits;
        for (size_t i = 0; subscriber->event_sources && subscriber->event_sources[i]; i++)
                if (i >= HYPERVISOR_EVENT_SOURCES_MAX)
                        return -E2BIG;
        h->subscriber = subscriber;
        h->userdata = userdata;
        h->lifecycle_callback = -1;
        for (size_t i = 0; i < HYPERVISOR_EVENT_SOURCES_MAX; i++)
                for (size_t k = 0; k < HYPERVISOR_EVENT_IDS_MAX; k++)
                        h->event_ids[i][k] = -1;
        pthread_mutex_init(&h->conn_lock, NULL);
        h->uri = strdup(uri);
        if (!h->uri)
                return -ENOMEM;

        if (virInitialize() < 0)
                return -EIO;
        virSetErrorFunc(NULL, silence_libvirt);
        if (virEventRegisterDefaultImpl() < 0)
                return -EIO;

        r = workqueue_new(event, "libvirt-control", 1, &h->control);
        if (r < 0)
                return r;
        r = workqueue_new(event, "libvirt-agent", limits->agent_threads, &h->agent);
        if (r < 0)
                return r;

        *ret = TAKE_PTR(h);
        return 0;
}

int hypervisor_start(Hypervisor *h) {
        sigset_t all, saved;
        int r;

        sigfillset(&all);
        pthread_sigmask(SIG_BLOCK, &all, &saved);
        r = -pthread_create(&h->event_thread, NULL, event_thread_main, h);
        pthread_sigmask(SIG_SETMASK, &saved, NULL);
        if (r < 0)
                return r;
        (void) pthread_setname_np(h->event_thread, "libvirt-events");
        h->event_thread_started = true;

        return submit_connect(h);
}

static void stop_event_thread(Hypervisor *h) {
        if (!h->event_thread_started)
                return;
        atomic_store(&h->event_thread_stop, true);
        /* Adding a timer wakes libvirt's poll() so the thread sees the flag. */
        (void) virEventAddTimeout(0, wake_timeout, NULL, NULL);
        pthread_join(h->event_thread, NULL);
        h->event_thread_started = false;
}

static void *teardown_main(void *userdata) {
        drop_connection(userdata);
        return NULL;
}

/* drop_connection() within the deadline: deregistering and closing are calls to libvirtd, which a
 * frozen libvirtd answers only when the keepalive gave up. On a thread of its own, so the wait is
 * bounded; a thread that does not return in time is left to the exiting process. */
static int drop_connection_until(Hypervisor *h, uint64_t deadline) {
        sigset_t all, saved;
        pthread_t t;
        uint64_t now = now_usec(CLOCK_MONOTONIC);
        uint64_t at = now_usec(CLOCK_REALTIME) + (deadline > now ? deadline - now : 0);
        struct timespec ts = { .tv_sec = (time_t) (at / USEC_PER_SEC),
                               .tv_nsec = (long) (at % USEC_PER_SEC * NSEC_PER_USEC) };
        int r;

        sigfillset(&all);
        pthread_sigmask(SIG_BLOCK, &all, &saved);
        r = -pthread_create(&t, NULL, teardown_main, h);
        pthread_sigmask(SIG_SETMASK, &saved, NULL);
        if (r < 0) {
                drop_connection(h);
                return 0;
        }
        if (pthread_timedjoin_np(t, NULL, &ts) != 0) {
                (void) pthread_detach(t);
                return -ETIMEDOUT;
        }
        return 0;
}

int hypervisor_stop(Hypervisor *h) {
        uint64_t deadline = now_usec(CLOCK_MONOTONIC) + STOP_TIMEOUT_USEC;
        int r = 0;

        if (h->stopped)
                return 0;
        h->stopped = true;
        h->reconnect_timer = sd_event_source_disable_unref(h->reconnect_timer);
        /* Workers first: they finish their current call, so none opens or uses a connection after
         * this. libvirt's callbacks may still submit work (the close callback even fires inside
         * drop_connection() when the connection is dead): the stopped queues refuse it until the
         * connection is dropped and the event thread joined; only then are they freed. */
        if (workqueue_stop_until(h->agent, deadline) < 0)
                r = -ETIMEDOUT;
        if (workqueue_stop_until(h->control, deadline) < 0)
                r = -ETIMEDOUT;
        if (r == 0 && drop_connection_until(h, deadline) < 0)
                r = -ETIMEDOUT;
        if (r < 0) {
                /* Some libvirt call does not return (libvirtd frozen): answer every owner now, hand
                 * back what never ran, and leave the rest as it is for the exiting process. */
                log_warning("libvirt does not answer: leaving its calls behind to stop within %" PRIu64 " s",
                            STOP_TIMEOUT_USEC / USEC_PER_SEC);
                workqueue_abandon(h->agent);
                workqueue_abandon(h->control);
                atomic_store(&h->event_thread_stop, true);
                abandoned = h;
                return r;
        }
        stop_event_thread(h);
        return 0;
}

Hypervisor *hypervisor_free(Hypervisor *h) {
        if (!h)
                return NULL;

        if (hypervisor_stop(h) < 0 || abandoned == h)
                return NULL;
        workqueue_free(h->agent);
        workqueue_free(h->control);

        pthread_mutex_destroy(&h->conn_lock);
        sd_event_unref(h->event);
        free(h->uri);
        free(h);
        return NULL;
}

bool hypervisor_is_connected(Hypervisor *h) {
        return h->connected;
}

const char *hypervisor_uri(Hypervisor *h) {
        return h->uri;
}
