/* See hypervisor-change.h. */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "domain-info.h"
#include "hypervisor-change.h"
#include "libvirt-errors.h"
#include <libvirt/virterror.h>

/* A job whose libvirt call does not return (libvirtd frozen) is answered after this. */
#define CHANGE_BOUND_USEC ((uint64_t) (HYPERVISOR_KEEPALIVE_BOUND_SEC + 10) * USEC_PER_SEC)

typedef struct ChangeJob {
        Job job;                /* first: the queue's callbacks cast back */
        Hypervisor *hypervisor;
        char uuid[UUID_STRING_MAX];
        domain_change_t change;
        void *arg;
        domain_changed_t done;
        void *userdata;
        VpcError error;         /* the worker's result */
        char *message;
} ChangeJob;

static void change_job_free(ChangeJob *j) {
        free(j->arg);
        free(j->message);
        free(j);
}

/* The domain is gone, or libvirt's last error of this thread says what failed. */
static VpcError libvirt_failure(char **ret_message) {
        if (!domain_vanished())
                return vpc_error_from_last_libvirt_error(false, ret_message);
        *ret_message = strdup("the domain is gone");
        return VPC_ERROR_VM_UNKNOWN;
}

/* Control worker. */
static void change_run(Job *job) {
        ChangeJob *j = (ChangeJob *) job;
        _cleanup_(virConnectClosep) virConnectPtr c = hypervisor_acquire_connection(j->hypervisor);
        virDomainPtr d;
        int r;

        if (!c) {
                j->error = VPC_ERROR_EXCEPTION;
                j->message = strdup("not connected to the hypervisor");
                return;
        }
        d = virDomainLookupByUUIDString(c, j->uuid);
        if (!d) {
                j->error = libvirt_failure(&j->message);
                return;
        }
        r = j->change(j->hypervisor, d, j->arg);
        if (r == -ENOMEM) {
                j->error = VPC_ERROR_EXCEPTION;
                j->message = strdup(strerror(ENOMEM));
        } else if (r < 0)
                j->error = libvirt_failure(&j->message);
        virDomainFree(d);
}

static void change_done(Job *job, JobEnd end) {
        ChangeJob *j = (ChangeJob *) job;

        switch (end) {
        case JOB_FINISHED:
                j->done(false, j->error, j->message, j->userdata);
                break;
        case JOB_EXPIRED:
                j->done(false, VPC_ERROR_TIMEOUT, "libvirt did not answer in time", j->userdata);
                break;
        case JOB_STOPPING:
                j->done(true, VPC_ERROR_EXCEPTION, "the service is stopping", j->userdata);
                break;
        }
}

static void change_release(Job *job, bool stopping) {
        change_job_free((ChangeJob *) job);
}

static const JobOps change_ops = {
        .run = change_run,
        .done = change_done,
        .release = change_release,
};

int hypervisor_change_domain(Hypervisor *h, const char *uuid, domain_change_t change, const void *arg,
                             size_t arg_size, domain_changed_t done, void *userdata) {
        ChangeJob *j;
        int r;

        j = calloc(1, sizeof(*j));
        if (!j)
                return -ENOMEM;
        *j = (ChangeJob) {
                .job = { .ops = &change_ops, .bound_usec = CHANGE_BOUND_USEC },
                .hypervisor = h,
                .change = change,
                .done = done,
                .userdata = userdata,
        };
        snprintf(j->uuid, sizeof(j->uuid), "%s", uuid);
        j->arg = malloc(arg_size ?: 1);
        if (!j->arg) {
                change_job_free(j);
                return -ENOMEM;
        }
        memcpy(j->arg, arg, arg_size);
        r = hypervisor_submit_control_job(h, &j->job);
        if (r < 0)
                change_job_free(j);
        return r;
}

/* Control worker. libvirt takes CONFIG|LIVE on a running persistent domain, CONFIG alone on a
 * shut-off one and LIVE alone on a transient one. */
static int write_metadata(Hypervisor *h, virDomainPtr d, const void *arg) {
        const char *xml = arg, *uri = hypervisor_metadata_uri(h);
        unsigned flags = 0;
        int persistent, active;
        virErrorPtr e;

        persistent = virDomainIsPersistent(d);
        active = virDomainIsActive(d);
        if (persistent < 0 || active < 0)
                return -EIO;
        if (persistent)
                flags |= VIR_DOMAIN_AFFECT_CONFIG;
        if (active)
                flags |= VIR_DOMAIN_AFFECT_LIVE;
        if (virDomainSetMetadata(d, VIR_DOMAIN_METADATA_ELEMENT, xml, HYPERVISOR_METADATA_PREFIX, uri, flags) == 0)
                return 0;
        /* It stopped between the question and the change: its config is all there is now. */
        e = virGetLastError();
        if (persistent && active && e && e->code == VIR_ERR_OPERATION_INVALID &&
            virDomainSetMetadata(d, VIR_DOMAIN_METADATA_ELEMENT, xml, HYPERVISOR_METADATA_PREFIX, uri,
                                 VIR_DOMAIN_AFFECT_CONFIG) == 0)
                return 0;
        return -EIO;
}

int hypervisor_write_metadata(Hypervisor *h, const char *uuid, const char *xml, domain_changed_t done, void *userdata) {
        if (!hypervisor_metadata_uri(h))
                return -EOPNOTSUPP;
        return hypervisor_change_domain(h, uuid, write_metadata, xml, strlen(xml) + 1, done, userdata);
}
