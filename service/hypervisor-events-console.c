/* See hypervisor-events-console.h. */
#include <errno.h>
#include <libvirt/virterror.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "console-metadata.h"
#include "hypervisor-events-console.h"
#include "log.h"
#include "text.h"

typedef struct ConsoleEventJob {
        Job job;                /* first: the queue's callbacks cast back */
        Hypervisor *h;
        char uuid[UUID_STRING_MAX];
        int phase;
        char *address;
} ConsoleEventJob;

static void console_event_done(Job *job, JobEnd end) {
        ConsoleEventJob *j = (ConsoleEventJob *) job;

        if (end == JOB_FINISHED)
                hypervisor_deliver_console_event(j->h, j->uuid, j->phase, j->address);
}

static void console_event_release(Job *job, bool stopping) {
        ConsoleEventJob *j = (ConsoleEventJob *) job;

        free(j->address);
        free(j);
}

static const JobOps console_event_ops = {
        .done = console_event_done,
        .release = console_event_release,
};

/* The client's address as people write it; QEMU leaves a UNIX socket's peer path empty. */
static char *graphics_address(const virDomainEventGraphicsAddress *a) {
        _cleanup_free_ char *raw = NULL;
        int r;

        if (!a)
                return strdup("unknown");
        switch (a->family) {
        case VIR_DOMAIN_EVENT_GRAPHICS_ADDRESS_IPV4:
                r = asprintf(&raw, "%s:%s", strempty(a->node), strempty(a->service));
                break;
        case VIR_DOMAIN_EVENT_GRAPHICS_ADDRESS_IPV6:
                r = asprintf(&raw, "[%s]:%s", strempty(a->node), strempty(a->service));
                break;
        case VIR_DOMAIN_EVENT_GRAPHICS_ADDRESS_UNIX:
                r = a->node && *a->node ? asprintf(&raw, "unix:%s", a->node) : asprintf(&raw, "unix");
                break;
        default:
                r = asprintf(&raw, "family %d:%s:%s", a->family, strempty(a->node), strempty(a->service));
                break;
        }
        if (r < 0)
                return NULL;
        /* It reaches the audit and the logs: through the text boundary here, once. */
        return text_sanitize(raw, TEXT_EXCERPT_MAX, TEXT_ESCAPE_CONTROL);
}

/* Runs on libvirt's event thread: copy what the loop needs and hop there. */
static void on_graphics_event(virConnectPtr conn, virDomainPtr dom, int phase, const virDomainEventGraphicsAddress *local,
                              const virDomainEventGraphicsAddress *remote, const char *auth_scheme,
                              const virDomainEventGraphicsSubject *subject, void *opaque) {
        ConsoleEventJob *j = calloc(1, sizeof(*j));

        if (!j)
                return;
        j->job.ops = &console_event_ops;
        j->h = opaque;
        j->phase = phase;
        j->address = graphics_address(remote);
        if (!j->address || virDomainGetUUIDString(dom, j->uuid) < 0 ||
            hypervisor_submit_control_job(j->h, &j->job) < 0) {
                free(j->address);
                free(j);
        }
}

/* Runs on libvirt's event thread: our element changed (virsh metadata, or our own set), so the
 * domain is read again, policy included. Other applications' metadata is theirs. */
static void on_metadata_change(virConnectPtr conn, virDomainPtr dom, int type, const char *nsuri, void *opaque) {
        char uuid[UUID_STRING_MAX];

        if (type != VIR_DOMAIN_METADATA_ELEMENT || !streq_ptr(nsuri, CONSOLE_METADATA_URI))
                return;
        if (virDomainGetUUIDString(dom, uuid) >= 0)
                (void) hypervisor_refresh_domain(opaque, uuid, NULL, NULL);
}

static void console_events_register(Hypervisor *h, virConnectPtr c, int ids[HYPERVISOR_EVENT_IDS_MAX]) {
        ids[0] = virConnectDomainEventRegisterAny(c, NULL, VIR_DOMAIN_EVENT_ID_GRAPHICS,
                                                  VIR_DOMAIN_EVENT_CALLBACK(on_graphics_event), h, NULL);
        if (ids[0] < 0)
                log_warning("%s: no graphics events, console-disconnect policies cannot trigger", hypervisor_uri(h));
        ids[1] = virConnectDomainEventRegisterAny(c, NULL, VIR_DOMAIN_EVENT_ID_METADATA_CHANGE,
                                                  VIR_DOMAIN_EVENT_CALLBACK(on_metadata_change), h, NULL);
        if (ids[1] < 0)
                log_warning("%s: no metadata-change events, console policies are read at (re)connect only",
                            hypervisor_uri(h));
}

/* Domains read per job: a lifecycle refresh queued meanwhile waits for one chunk at most. */
#define SCAN_CHUNK 128U

typedef struct PolicyScan {
        Job job;                /* first: the queue's callbacks cast back */
        Hypervisor *h;
        char (*uuids)[UUID_STRING_MAX];
        size_t n;
        size_t next;                    /* the chunk's first domain */
        size_t chunk;                   /* its length */
        ConsolePolicy policies[SCAN_CHUNK];
        bool known[SCAN_CHUNK];
} PolicyScan;

static void policy_scan_free(PolicyScan *s) {
        free(s->uuids);
        free(s);
}

/* Control worker. */
static void policy_scan_run(Job *job) {
        PolicyScan *s = (PolicyScan *) job;
        _cleanup_(virConnectClosep) virConnectPtr c = hypervisor_acquire_connection(s->h);

        for (size_t i = 0; i < s->chunk; i++) {
                DomainInfo info = {};
                virDomainPtr d;

                s->known[i] = false;
                if (!c)
                        continue;
                /* Gone since the listing: its lifecycle event follows. */
                d = virDomainLookupByUUIDString(c, s->uuids[s->next + i]);
                if (!d) {
                        virResetLastError();
                        continue;
                }
                info.name = (char *) virDomainGetName(d);
                domain_info_read_console_policy(d, &info);
                s->policies[i] = info.console_policy;
                s->known[i] = info.console_policy_known;
                virDomainFree(d);
        }
}

static void policy_scan_done(Job *job, JobEnd end) {
        PolicyScan *s = (PolicyScan *) job;

        if (end != JOB_FINISHED)
                return;
        for (size_t i = 0; i < s->chunk; i++)
                if (s->known[i])
                        hypervisor_deliver_console_policy(s->h, s->uuids[s->next + i], &s->policies[i]);
}

/* The next chunk goes behind what came meanwhile. */
static void policy_scan_release(Job *job, bool stopping) {
        PolicyScan *s = (PolicyScan *) job;

        if (!stopping) {
                s->next += s->chunk;
                s->chunk = s->n - s->next < SCAN_CHUNK ? s->n - s->next : SCAN_CHUNK;
                if (s->chunk > 0 && hypervisor_submit_control_job(s->h, &s->job) >= 0)
                        return;
        }
        policy_scan_free(s);
}

static const JobOps policy_scan_ops = {
        .run = policy_scan_run,
        .done = policy_scan_done,
        .release = policy_scan_release,
};

static void console_scan(Hypervisor *h, const DomainInfo *domains, size_t n) {
        PolicyScan *s;

        if (n == 0)
                return;
        s = calloc(1, sizeof(*s));
        if (!s || !(s->uuids = calloc(n, sizeof(*s->uuids)))) {
                free(s);
                log_error("cannot read the console policies: %s", strerror(ENOMEM));
                return;
        }
        s->job.ops = &policy_scan_ops;
        s->h = h;
        s->n = n;
        for (size_t i = 0; i < n; i++)
                memcpy(s->uuids[i], domains[i].uuid, UUID_STRING_MAX);
        s->chunk = n < SCAN_CHUNK ? n : SCAN_CHUNK;
        if (hypervisor_submit_control_job(h, &s->job) < 0)
                policy_scan_free(s);
}

const HypervisorEventSource hypervisor_console_events = {
        .register_events = console_events_register,
        .scan = console_scan,
};
