/* Agent-lifecycle events and the agent scan of a (re)connection (see hypervisor-events-agent.h). */
#include <errno.h>
#include <libvirt/virterror.h>

#include "hypervisor-events-agent.h"
#include "log.h"

typedef struct AgentEvent {
        Job job;                /* first: the queue's callbacks cast back */
        Hypervisor *h;
        char uuid[UUID_STRING_MAX];
        bool connected;
} AgentEvent;

static void agent_event_done(Job *job, JobEnd end) {
        AgentEvent *e = (AgentEvent *) job;

        if (end == JOB_FINISHED)
                hypervisor_deliver_agent_channel(e->h, e->uuid, e->connected);
}

static void agent_job_free(Job *job, bool stopping) {
        free(job);
}

static const JobOps agent_event_ops = {
        .done = agent_event_done,
        .release = agent_job_free,
};

/* Runs on libvirt's event thread: only hop onto the loop. Through the control worker's queue, so
 * the event is applied after the refreshes queued before it (a domain's start, say) and before the
 * ones after it. */
static void on_agent_lifecycle_event(virConnectPtr conn, virDomainPtr dom, int state, int reason, void *opaque) {
        AgentEvent *e;

        if (state != VIR_CONNECT_DOMAIN_EVENT_AGENT_LIFECYCLE_STATE_CONNECTED &&
            state != VIR_CONNECT_DOMAIN_EVENT_AGENT_LIFECYCLE_STATE_DISCONNECTED)
                return;
        e = calloc(1, sizeof(*e));
        if (!e)
                return;
        e->job.ops = &agent_event_ops;
        e->h = opaque;
        e->connected = state == VIR_CONNECT_DOMAIN_EVENT_AGENT_LIFECYCLE_STATE_CONNECTED;
        if (virDomainGetUUIDString(dom, e->uuid) < 0 ||
            hypervisor_submit_control_job(e->h, &e->job) < 0)
                free(e);
}

/* A driver without agent events still works; AgentConnected is then read only by the scan. */
static void agent_events_register(Hypervisor *h, virConnectPtr c, int ids[HYPERVISOR_EVENT_IDS_MAX]) {
        ids[0] = virConnectDomainEventRegisterAny(c, NULL, VIR_DOMAIN_EVENT_ID_AGENT_LIFECYCLE,
                                                  VIR_DOMAIN_EVENT_CALLBACK(on_agent_lifecycle_event), h, NULL);
        if (ids[0] < 0) {
                virErrorPtr e = virGetLastError();
                log_debug("no agent-lifecycle events: %s", e && e->message ? e->message : "unknown error");
        }
}

/* The scan reads this many domains per job on the control worker, then queues the rest behind
 * what came meanwhile: a lifecycle event waits for one chunk, not for the whole host. Measured with
 * 5,000 running test-driver domains in one job: the first event after start-up waited 2.0 s. */
#define AGENT_SCAN_CHUNK 64U

typedef struct AgentScan {
        Job job;                /* first: the queue's callbacks cast back */
        Hypervisor *h;
        size_t n, next, end;    /* this job reads domains [next, end) */
        struct {
                char uuid[UUID_STRING_MAX];
                bool known;
                bool connected;
        } domains[];
} AgentScan;

static void agent_scan_run(Job *job) {
        AgentScan *s = (AgentScan *) job;
        _cleanup_(virConnectClosep) virConnectPtr c = hypervisor_acquire_connection(s->h);

        for (size_t i = s->next; c && i < s->end; i++) {
                virDomainPtr d = virDomainLookupByUUIDString(c, s->domains[i].uuid);
                DomainInfo info = { .state = DOMAIN_STATE_RUNNING };

                if (!d)
                        continue;       /* gone meanwhile: its lifecycle event follows */
                if (domain_info_read_agent(d, &info) >= 0) {
                        s->domains[i].known = true;
                        s->domains[i].connected = info.agent_connected;
                }
                virDomainFree(d);
        }
}

static int agent_scan_submit(AgentScan *s);

static void agent_scan_done(Job *job, JobEnd end) {
        AgentScan *s = (AgentScan *) job;

        if (end != JOB_FINISHED || !hypervisor_is_connected(s->h))
                return;
        for (size_t i = s->next; i < s->end; i++)
                if (s->domains[i].known)
                        hypervisor_deliver_agent_channel(s->h, s->domains[i].uuid, s->domains[i].connected);
}

/* The next chunk goes behind what came meanwhile. */
static void agent_scan_release(Job *job, bool stopping) {
        AgentScan *s = (AgentScan *) job;
        int r;

        if (stopping || !hypervisor_is_connected(s->h)) {
                free(s);        /* a reconnection scans again */
                return;
        }
        s->next = s->end;
        if (s->next >= s->n) {
                free(s);
                return;
        }
        r = agent_scan_submit(s);
        if (r < 0) {
                log_error("cannot read the guest agents' states: %s", strerror(-r));
                free(s);
        }
}

static int agent_scan_submit(AgentScan *s) {
        s->end = s->n - s->next > AGENT_SCAN_CHUNK ? s->next + AGENT_SCAN_CHUNK : s->n;
        static const JobOps ops = { .run = agent_scan_run, .done = agent_scan_done, .release = agent_scan_release };

        s->job.ops = &ops;
        return hypervisor_submit_control_job(s->h, &s->job);
}

static void agent_scan(Hypervisor *h, const DomainInfo *domains, size_t n) {
        AgentScan *s;
        size_t n_running = 0;
        int r;

        /* Only running domains can have an agent connected; the rest start with none. Jobs of their
         * own after the listing, so the objects are published without waiting for one XML read per
         * running domain. */
        for (size_t i = 0; i < n; i++)
                if (domains[i].state == DOMAIN_STATE_RUNNING || domains[i].state == DOMAIN_STATE_PAUSED)
                        n_running++;
        if (n_running == 0)
                return;
        s = calloc(1, sizeof(*s) + n_running * sizeof(s->domains[0]));
        if (!s) {
                log_error("cannot read the guest agents' states: %s", strerror(ENOMEM));
                return;
        }
        s->h = h;
        for (size_t i = 0; i < n; i++)
                if (domains[i].state == DOMAIN_STATE_RUNNING || domains[i].state == DOMAIN_STATE_PAUSED)
                        strcpy(s->domains[s->n++].uuid, domains[i].uuid);
        r = agent_scan_submit(s);
        if (r < 0) {
                log_error("cannot read the guest agents' states: %s", strerror(-r));
                free(s);
        }
}

const HypervisorEventSource hypervisor_agent_events = {
        .register_events = agent_events_register,
        .scan = agent_scan,
};
