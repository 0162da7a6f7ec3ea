/* A libvirt client set up as the daemon's connection is (libvirt's event loop on a thread of its own,
 * keepalive, a lifecycle callback), since a service that follows events pays for them on every call.
 * Shared by the bench's programs that measure libvirt floors. */
#pragma once

#include <libvirt/libvirt.h>
#include <libvirt/virterror.h>
#include <pthread.h>

static void bench_virt_silence(void *userdata, virErrorPtr e) {
}

/* libvirt prints every error on stderr by default; the programs report their own. */
static inline void bench_virt_silence_errors(void) {
        virSetErrorFunc(NULL, bench_virt_silence);
}

static void *bench_virt_event_thread(void *userdata) {
        for (;;)
                if (virEventRunDefaultImpl() < 0)
                        break;
        return NULL;
}

/* Before the connection is opened. */
static inline int bench_virt_start_event_loop(void) {
        pthread_t t;

        if (virEventRegisterDefaultImpl() < 0)
                return -1;
        return pthread_create(&t, NULL, bench_virt_event_thread, NULL) == 0 ? 0 : -1;
}

static int bench_virt_on_lifecycle(virConnectPtr c, virDomainPtr d, int event, int detail, void *opaque) {
        return 0;
}

static inline void bench_virt_follow_events(virConnectPtr conn) {
        (void) virConnectSetKeepAlive(conn, 5, 3);
        (void) virConnectDomainEventRegisterAny(conn, NULL, VIR_DOMAIN_EVENT_ID_LIFECYCLE,
                                                VIR_DOMAIN_EVENT_CALLBACK(bench_virt_on_lifecycle), NULL, NULL);
}
