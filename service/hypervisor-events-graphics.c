/* See hypervisor-events-graphics.h. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "hypervisor-events-graphics.h"
#include "log.h"
#include "text.h"

typedef struct GraphicsEvent {
        Job job;                /* first: the queue's callbacks cast back */
        Hypervisor *h;
        char uuid[UUID_STRING_MAX];
        int phase;
        char *address;
} GraphicsEvent;

static void graphics_event_done(Job *job, JobEnd end) {
        GraphicsEvent *j = (GraphicsEvent *) job;

        if (end == JOB_FINISHED)
                hypervisor_deliver_graphics(j->h, j->uuid, j->phase, j->address);
}

static void graphics_event_release(Job *job, bool stopping) {
        GraphicsEvent *j = (GraphicsEvent *) job;

        free(j->address);
        free(j);
}

static const JobOps graphics_event_ops = {
        .done = graphics_event_done,
        .release = graphics_event_release,
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
        GraphicsEvent *j = calloc(1, sizeof(*j));

        if (!j)
                return;
        j->job.ops = &graphics_event_ops;
        j->h = opaque;
        j->phase = phase;
        j->address = graphics_address(remote);
        if (!j->address || virDomainGetUUIDString(dom, j->uuid) < 0 ||
            hypervisor_submit_control_job(j->h, &j->job) < 0) {
                free(j->address);
                free(j);
        }
}

static void graphics_events_register(Hypervisor *h, virConnectPtr c, int ids[HYPERVISOR_EVENT_IDS_MAX]) {
        ids[0] = virConnectDomainEventRegisterAny(c, NULL, VIR_DOMAIN_EVENT_ID_GRAPHICS,
                                                  VIR_DOMAIN_EVENT_CALLBACK(on_graphics_event), h, NULL);
        if (ids[0] < 0)
                log_warning("%s: no graphics events, console-disconnect policies cannot trigger", hypervisor_uri(h));
}

/* libvirt can neither list the clients connected now nor replay their events: nothing to scan. */
static void graphics_scan(Hypervisor *h, const DomainInfo *domains, size_t n) {
}

const HypervisorEventSource hypervisor_graphics_events = {
        .register_events = graphics_events_register,
        .scan = graphics_scan,
};
