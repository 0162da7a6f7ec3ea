/* See console-policy-dbus.h. SetConsoleDisconnectPolicy: authorize (polkit, re-dispatched), check
 * the arguments, write the metadata on the control worker (in order with the lifecycle refreshes),
 * apply it and reply. The metadata-change event that follows reads the same policy back. */
#include <errno.h>
#include <inttypes.h>
#include <libvirt/virterror.h>
#include <stdio.h>

#include "audit.h"
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

static void set_policy_audit(sd_bus_message *call, const CallerCreds *creds, const char *vm_name, const char *vm_uuid,
                             const char *action, uint32_t delay_sec, VpcError result, const char *message) {
        char policy[64];

        snprintf(policy, sizeof(policy), "%.16s %" PRIu32, action, delay_sec);
        audit_log(&(AuditRecord) {
                .event = AUDIT_SET_POLICY_REQUEST,
                .uid = creds->uid,
                .pid = creds->pid,
                .sender = sd_bus_message_get_sender(call),
                .vm_name = vm_name,
                .vm_uuid = vm_uuid,
                .result = result,
                .message = message,
                .policy = policy,
        });
}

typedef struct SetPolicyJob {
        JobWatch watch;         /* first: the deadline's callback casts back */
        Manager *manager;
        sd_bus_message *call;
        CallerCreds creds;
        char vm_uuid[UUID_STRING_MAX];
        char *vm_name;
        ConsolePolicy policy;
        VpcError error;
        char *message;
} SetPolicyJob;

static void set_policy_job_free(SetPolicyJob *j) {
        sd_bus_message_unref(j->call);
        free(j->vm_name);
        free(j->message);
        free(j);
}

static void set_policy_answer(SetPolicyJob *j, VpcError e, const char *message) {
        _cleanup_free_ char *full = NULL;

        set_policy_audit(j->call, &j->creds, j->vm_name, j->vm_uuid, console_disconnect_action_to_string(j->policy.action),
                         j->policy.delay_sec, e, message);
        if (e == VPC_OK) {
                (void) vpc_reply_return(j->call, "");
                return;
        }
        if (asprintf(&full, "cannot set the console policy of '%s': %s", j->vm_name, message ?: "failed") < 0)
                full = NULL;
        (void) vpc_error_reply(j->call, e, "%s", full ?: "cannot set the console policy");
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

int console_policy_method_set(sd_bus_message *call, void *userdata, sd_bus_error *error) {
        Domain *d = userdata;
        Manager *m = d->manager;
        ConsolePolicy policy = {};
        const char *action;
        uint32_t delay_sec;
        SetPolicyJob *j;
        AuthVerdict v;
        int r;

        r = sd_bus_message_read(call, "su", &action, &delay_sec);
        if (r < 0)
                return r;

        /* Authorization comes before anything else, the arguments' check included. */
        r = authorizer_verify_async(m->authorizer, call, "org.vpc.guestos.set-policy",
                                    (const char *const[]) { "vm.name", d->name, "vm.uuid", d->uuid, NULL },
                                    UID_INVALID, &v);
        if (r == 0)
                return 1;       /* parked: this runs again once the verdict is in */
        if (v.error != VPC_OK) {
                set_policy_audit(call, &v.creds, d->name, d->uuid, action, delay_sec, v.error, v.reason);
                return vpc_error_set(error, v.error, "cannot set the console policy of '%s': %s", d->name, v.reason);
        }

        if (console_disconnect_action_from_string(action, &policy.action) < 0 || delay_sec > CONSOLE_DELAY_MAX_SEC) {
                set_policy_audit(call, &v.creds, d->name, d->uuid, action, delay_sec, VPC_ERROR_INVALID_ARGS,
                                 "bad policy or delay");
                return vpc_error_set(error, VPC_ERROR_INVALID_ARGS,
                                     "the policy is 'none' or 'logoff' and the delay 0..%u seconds", CONSOLE_DELAY_MAX_SEC);
        }
        policy.delay_sec = delay_sec;

        j = calloc(1, sizeof(*j));
        if (!j)
                return -ENOMEM;
        *j = (SetPolicyJob) {
                .manager = m,
                .call = sd_bus_message_ref(call),
                .creds = v.creds,
                .vm_name = strdup(d->name),
                .policy = policy,
        };
        strcpy(j->vm_uuid, d->uuid);
        if (!j->vm_name) {
                set_policy_job_free(j);
                return -ENOMEM;
        }
        r = hypervisor_submit_control_work(m->hypervisor, set_policy_run, set_policy_done, j);
        if (r < 0) {
                set_policy_answer(j, VPC_ERROR_EXCEPTION, strerror(-r));
                set_policy_job_free(j);
                return 1;
        }
        job_watch_start(hypervisor_watches(m->hypervisor), &j->watch, SET_POLICY_BOUND_USEC, set_policy_expire);
        return 1;
}
