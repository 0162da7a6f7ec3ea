/* See console-policy-dbus.h. SetConsoleDisconnectPolicy: authorize (polkit, re-dispatched), check
 * the arguments, write the metadata on the control worker (in order with the lifecycle refreshes),
 * apply it and reply. The metadata-change event that follows reads the same policy back. */
#include <errno.h>
#include <inttypes.h>
#include <libvirt/virterror.h>
#include <stdio.h>

#include "bus-request.h"
#include "console-policy-dbus.h"
#include "console-policy.h"
#include "domain-info.h"
#include "libvirt-errors.h"
#include "log.h"

/* A job whose libvirt call does not return (libvirtd frozen) is answered after this. */
#define SET_POLICY_BOUND_USEC ((uint64_t) (HYPERVISOR_KEEPALIVE_BOUND_SEC + 10) * USEC_PER_SEC)

int console_policy_property_get(sd_bus *bus, const char *path, const char *interface, const char *property,
                                sd_bus_message *reply, void *userdata, sd_bus_error *error) {
        Domain *d = userdata;

        if (streq_ptr(property, "ConsoleDisconnectPolicy"))
                return sd_bus_message_append(reply, "s", console_disconnect_action_to_string(d->console_policy.action));
        if (streq_ptr(property, "ConsoleDisconnectDelaySec"))
                return sd_bus_message_append(reply, "u", (uint32_t) d->console_policy.delay_sec);
        if (streq_ptr(property, "ConsoleClients"))
                return sd_bus_message_append(reply, "u", (uint32_t) d->console.n_clients);
        return -EINVAL;
}

static const BusRequestKind set_policy_kind = {
        .event = AUDIT_SET_POLICY_REQUEST,
        .action = "org.vpc.guestos.set-policy",
        .refusal = "cannot set the console policy of",
};

/* The policy as the audit names it: what was asked for, e.g. "logoff 30". */
#define POLICY_TEXT_MAX 32

typedef struct SetPolicyJob {
        JobWatch watch;         /* first: the deadline's callback casts back */
        Manager *manager;
        BusRequest request;     /* its call referenced, its strings the job's below */
        char vm_uuid[UUID_STRING_MAX];
        char *vm_name;
        char policy_text[POLICY_TEXT_MAX];
        ConsolePolicy policy;
        VpcError error;
        char *message;
} SetPolicyJob;

static void set_policy_job_free(SetPolicyJob *j) {
        sd_bus_message_unref(j->request.call);
        free(j->vm_name);
        free(j->message);
        free(j);
}

static void set_policy_answer(SetPolicyJob *j, VpcError e, const char *message) {
        if (e != VPC_OK) {
                bus_request_refuse(&j->request, e, message);
                return;
        }
        bus_request_audit(&j->request, VPC_OK, NULL);
        (void) vpc_reply_return(j->request.call, "");
}

/* Control worker. */
static void set_policy_run(void *data) {
        SetPolicyJob *j = data;
        _cleanup_(virConnectClosep) virConnectPtr c = hypervisor_acquire_connection(j->manager->hypervisor);
        virDomainPtr d;
        int r;

        if (!c) {
                j->error = VPC_ERROR_EXCEPTION;
                j->message = strdup("not connected to the hypervisor");
                return;
        }
        d = virDomainLookupByUUIDString(c, j->vm_uuid);
        if (!d) {
                j->error = domain_vanished() ? VPC_ERROR_VM_UNKNOWN : vpc_error_from_last_libvirt_error(false, &j->message);
                if (j->error == VPC_ERROR_VM_UNKNOWN && !j->message)
                        j->message = strdup("the domain is gone");
                return;
        }
        r = console_metadata_write(d, &j->policy);
        if (r == -ENOMEM) {
                j->error = VPC_ERROR_EXCEPTION;
                j->message = strdup(strerror(ENOMEM));
        } else if (r < 0)
                j->error = domain_vanished() ? VPC_ERROR_VM_UNKNOWN : vpc_error_from_last_libvirt_error(false, &j->message);
        virDomainFree(d);
}

static void set_policy_done(void *data, bool stopping) {
        SetPolicyJob *j = data;
        bool answer = job_watch_finish(&j->watch);
        Domain *d;

        if (!answer) {
                set_policy_job_free(j);
                return;
        }
        if (stopping) {
                set_policy_answer(j, VPC_ERROR_EXCEPTION, "the service is stopping");
                set_policy_job_free(j);
                return;
        }
        if (j->error == VPC_OK) {
                /* Now, so a read after the reply sees it; the metadata event brings the same. */
                d = domain_registry_find_by_uuid(&j->manager->domains, j->vm_uuid);
                if (d)
                        console_policy_apply(j->manager, d, &j->policy);
        }
        set_policy_answer(j, j->error, j->message);
        set_policy_job_free(j);
}

static void set_policy_expire(JobWatch *w, bool stopping) {
        SetPolicyJob *j = (SetPolicyJob *) w;

        set_policy_answer(j, stopping ? VPC_ERROR_EXCEPTION : VPC_ERROR_TIMEOUT,
                          stopping ? "the service is stopping" : "libvirt did not answer in time");
}

static int set_policy_job_new(Manager *m, const BusRequest *req, const ConsolePolicy *policy, SetPolicyJob **ret) {
        SetPolicyJob *j = calloc(1, sizeof(*j));

        if (!j)
                return -ENOMEM;
        *j = (SetPolicyJob) { .manager = m, .vm_name = strdup(req->vm_name), .policy = *policy };
        strcpy(j->vm_uuid, req->vm_uuid);
        snprintf(j->policy_text, sizeof(j->policy_text), "%s", req->policy);
        j->request = (BusRequest) {
                .kind = req->kind,
                .call = sd_bus_message_ref(req->call),
                .creds = req->creds,
                .vm_name = j->vm_name,
                .vm_uuid = j->vm_uuid,
                .policy = j->policy_text,
        };
        if (!j->vm_name) {
                set_policy_job_free(j);
                return -ENOMEM;
        }
        *ret = j;
        return 0;
}

int console_policy_method_set(sd_bus_message *call, void *userdata, sd_bus_error *error) {
        Domain *d = userdata;
        Manager *m = d->manager;
        char asked[POLICY_TEXT_MAX], bounds[80];
        ConsolePolicy policy = {};
        const char *action;
        uint32_t delay_sec;
        SetPolicyJob *j;
        int r;

        r = sd_bus_message_read(call, "su", &action, &delay_sec);
        if (r < 0)
                return r;
        snprintf(asked, sizeof(asked), "%.16s %" PRIu32, action, delay_sec);

        BusRequest req = { .kind = &set_policy_kind, .call = call, .vm_name = d->name, .vm_uuid = d->uuid,
                           .policy = asked };

        /* Authorization comes before anything else, the arguments' check included. */
        r = bus_request_authorize(m->authorizer, &req, UID_INVALID);
        if (r < 0)
                return r;
        if (r == 0)
                return 1;

        if (console_disconnect_action_from_string(action, &policy.action) < 0 || delay_sec > CONSOLE_DELAY_MAX_SEC) {
                snprintf(bounds, sizeof(bounds), "the policy is 'none' or 'logoff' and the delay 0..%u seconds",
                         CONSOLE_DELAY_MAX_SEC);
                bus_request_refuse(&req, VPC_ERROR_INVALID_ARGS, bounds);
                return 1;
        }
        policy.delay_sec = delay_sec;

        r = set_policy_job_new(m, &req, &policy, &j);
        if (r < 0)
                return r;
        r = hypervisor_submit_control_work(m->hypervisor, set_policy_run, set_policy_done, j);
        if (r < 0) {
                set_policy_answer(j, VPC_ERROR_EXCEPTION, strerror(-r));
                set_policy_job_free(j);
                return 1;
        }
        job_watch_start(hypervisor_watches(m->hypervisor), &j->watch, SET_POLICY_BOUND_USEC, set_policy_expire);
        return 1;
}
