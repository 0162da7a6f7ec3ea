/* See hypervisor-events-metadata.h. */
#include <errno.h>
#include <libvirt/virterror.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "domain-info.h"
#include "hypervisor-events-metadata.h"
#include "log.h"

/* Runs on libvirt's event thread: our element changed (virsh metadata, or our own write), so the
 * domain is read again, metadata included. Other applications' metadata is theirs. */
static void on_metadata_change(virConnectPtr conn, virDomainPtr dom, int type, const char *nsuri, void *opaque) {
        char uuid[UUID_STRING_MAX];

        if (type != VIR_DOMAIN_METADATA_ELEMENT || !streq_ptr(nsuri, hypervisor_metadata_uri(opaque)))
                return;
        if (virDomainGetUUIDString(dom, uuid) >= 0)
                (void) hypervisor_refresh_domain(opaque, uuid, NULL, NULL);
}

static void metadata_events_register(Hypervisor *h, virConnectPtr c, int ids[HYPERVISOR_EVENT_IDS_MAX]) {
        ids[0] = virConnectDomainEventRegisterAny(c, NULL, VIR_DOMAIN_EVENT_ID_METADATA_CHANGE,
                                                  VIR_DOMAIN_EVENT_CALLBACK(on_metadata_change), h, NULL);
        if (ids[0] < 0)
                log_warning("%s: no metadata-change events, console policies are read at (re)connect only",
                            hypervisor_uri(h));
}

/* Domains read per job: a lifecycle refresh queued meanwhile waits for one chunk at most. */
#define SCAN_CHUNK 128U

typedef struct MetadataScan {
        Job job;                /* first: the queue's callbacks cast back */
        Hypervisor *h;
        char (*uuids)[UUID_STRING_MAX];
        size_t n;
        size_t next;                    /* the chunk's first domain */
        size_t chunk;                   /* its length */
        char *xml[SCAN_CHUNK];          /* NULL: no element */
        bool known[SCAN_CHUNK];
} MetadataScan;

static void metadata_scan_clear(MetadataScan *s) {
        for (size_t i = 0; i < SCAN_CHUNK; i++) {
                free(s->xml[i]);
                s->xml[i] = NULL;
        }
}

static void metadata_scan_free(MetadataScan *s) {
        metadata_scan_clear(s);
        free(s->uuids);
        free(s);
}

/* Control worker. */
static void metadata_scan_run(Job *job) {
        MetadataScan *s = (MetadataScan *) job;
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
                domain_info_read_metadata(d, hypervisor_metadata_uri(s->h), &info);
                s->xml[i] = info.metadata;
                s->known[i] = info.metadata_known;
                virDomainFree(d);
        }
}

static void metadata_scan_done(Job *job, JobEnd end) {
        MetadataScan *s = (MetadataScan *) job;

        if (end != JOB_FINISHED)
                return;
        for (size_t i = 0; i < s->chunk; i++)
                if (s->known[i])
                        hypervisor_deliver_metadata(s->h, s->uuids[s->next + i], s->xml[i]);
}

/* The next chunk goes behind what came meanwhile. */
static void metadata_scan_release(Job *job, bool stopping) {
        MetadataScan *s = (MetadataScan *) job;

        metadata_scan_clear(s);
        if (!stopping) {
                s->next += s->chunk;
                s->chunk = s->n - s->next < SCAN_CHUNK ? s->n - s->next : SCAN_CHUNK;
                if (s->chunk > 0 && hypervisor_submit_control_job(s->h, &s->job) >= 0)
                        return;
        }
        metadata_scan_free(s);
}

static const JobOps metadata_scan_ops = {
        .run = metadata_scan_run,
        .done = metadata_scan_done,
        .release = metadata_scan_release,
};

static void metadata_scan(Hypervisor *h, const DomainInfo *domains, size_t n) {
        MetadataScan *s;

        if (n == 0)
                return;
        s = calloc(1, sizeof(*s));
        if (!s || !(s->uuids = calloc(n, sizeof(*s->uuids)))) {
                free(s);
                log_error("cannot read the domains' metadata: %s", strerror(ENOMEM));
                return;
        }
        s->job.ops = &metadata_scan_ops;
        s->h = h;
        s->n = n;
        for (size_t i = 0; i < n; i++)
                memcpy(s->uuids[i], domains[i].uuid, UUID_STRING_MAX);
        s->chunk = n < SCAN_CHUNK ? n : SCAN_CHUNK;
        if (hypervisor_submit_control_job(h, &s->job) < 0)
                metadata_scan_free(s);
}

const HypervisorEventSource hypervisor_metadata_events = {
        .register_events = metadata_events_register,
        .scan = metadata_scan,
};
