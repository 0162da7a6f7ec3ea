/* See console-policy-dbus.h. SetConsoleDisconnectPolicy(WithOptions): read the options, authorize (polkit, re-dispatched), check
 * the arguments, write the metadata on the control worker (in order with the lifecycle refreshes),
 * apply it and reply. The metadata-change event that follows reads the same policy back. */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>

#include "bus-request.h"
#include "console-policy-dbus.h"
#include "console-policy.h"
#include "hypervisor-change.h"
#include "log.h"

int console_policy_property_get(sd_bus *bus, const char *path, const char *interface, const char *property,
                                sd_bus_message *reply, void *userdata, sd_bus_error *error) {
        Domain *d = userdata;
        const ConsolePolicy *p = console_policy_of(d);

        if (streq_ptr(property, "ConsoleDisconnectPolicy"))
                return sd_bus_message_append(reply, "s", console_disconnect_action_to_string(p->action));
        if (streq_ptr(property, "ConsoleDisconnectDelaySec"))
                return sd_bus_message_append(reply, "u", (uint32_t) p->delay_sec);
        if (streq_ptr(property, "ConsoleDisconnectMessage"))
                return sd_bus_message_append(reply, "s", p->message);
        if (streq_ptr(property, "ConsoleClients"))
                return sd_bus_message_append(reply, "u", (uint32_t) console_policy_clients(d));
        return -EINVAL;
}

static const BusRequestKind set_policy_kind = {
        .event = AUDIT_SET_POLICY_REQUEST,
        .action = "org.vpc.guestos.set-policy",
        .refusal = "cannot set the console policy of",
};

/* The policy as the audit names it: what was asked for, e.g. "logoff 30". */
#define POLICY_TEXT_MAX 32
/* And its options: "message=12 bytes", the message's length, never its text. */
#define OPTIONS_TEXT_MAX 48

/* A call whose metadata write is on its way: the domain may be gone when it is answered. */
typedef struct SetPolicyCall {
        Manager *manager;
        BusRequest request;     /* its call referenced, its strings the ones below */
        char vm_uuid[UUID_STRING_MAX];
        char *vm_name;
        char policy_text[POLICY_TEXT_MAX];
        char options_text[OPTIONS_TEXT_MAX];
        ConsolePolicy policy;
} SetPolicyCall;

static SetPolicyCall *set_policy_call_free(SetPolicyCall *s) {
        if (!s)
                return NULL;
        sd_bus_message_unref(s->request.call);
        free(s->vm_name);
        free(s);
        return NULL;
}
DEFINE_TRIVIAL_CLEANUP_FUNC(SetPolicyCall *, set_policy_call_free);

static int set_policy_call_new(Manager *m, const BusRequest *req, const ConsolePolicy *policy, SetPolicyCall **ret) {
        _cleanup_(set_policy_call_freep) SetPolicyCall *s = calloc(1, sizeof(*s));

        if (!s)
                return -ENOMEM;
        *s = (SetPolicyCall) { .manager = m, .vm_name = strdup(req->vm_name), .policy = *policy };
        if (!s->vm_name)
                return -ENOMEM;
        snprintf(s->vm_uuid, sizeof(s->vm_uuid), "%s", req->vm_uuid);
        snprintf(s->policy_text, sizeof(s->policy_text), "%s", req->policy);
        snprintf(s->options_text, sizeof(s->options_text), "%s", req->options ?: "");
        s->request = (BusRequest) {
                .kind = req->kind,
                .call = sd_bus_message_ref(req->call),
                .creds = req->creds,
                .vm_name = s->vm_name,
                .vm_uuid = s->vm_uuid,
                .policy = s->policy_text,
                .options = req->options ? s->options_text : NULL,
        };
        *ret = TAKE_PTR(s);
        return 0;
}

static void on_policy_written(bool stopping, VpcError error, const char *message, void *userdata) {
        _cleanup_(set_policy_call_freep) SetPolicyCall *s = userdata;
        Domain *d;

        if (error != VPC_OK) {
                bus_request_refuse(&s->request, error, message);
                return;
        }
        /* Now, so a read after the reply sees it; the metadata event brings the same. */
        d = domain_registry_find_by_uuid(&s->manager->domains, s->vm_uuid);
        if (d)
                console_policy_apply(s->manager, d, &s->policy);
        bus_request_audit(&s->request, VPC_OK, NULL);
        (void) vpc_reply_return(s->request.call, "");
}

/* Both methods: options NULL for SetConsoleDisconnectPolicy (no message). The options are read
 * before the polkit check (it re-runs the handler) but refused only after it, as LogoffWithOptions'. */
static int set_policy(sd_bus_message *call, Domain *d, bool with_options) {
        Manager *m = d->manager;
        _cleanup_(logoff_options_done) LogoffOptions options = {};
        _cleanup_free_ char *invalid = NULL;
        char asked[POLICY_TEXT_MAX], described[OPTIONS_TEXT_MAX], bounds[160];
        _cleanup_free_ ConsolePolicy *policy = NULL;
        _cleanup_free_ char *xml = NULL;
        const char *action;
        uint32_t delay_sec;
        SetPolicyCall *s;
        int r;

        r = sd_bus_message_read(call, "su", &action, &delay_sec);
        if (r < 0)
                return r;
        snprintf(asked, sizeof(asked), "%.20s %" PRIu32, action, delay_sec);
        if (with_options) {
                r = logoff_options_read_keys(call, LOGOFF_OPTION_MESSAGE, &options, &invalid);
                if (r < 0 && r != -EINVAL)
                        return r;
                if (r < 0)
                        snprintf(described, sizeof(described), "invalid");
                else
                        snprintf(described, sizeof(described), "message=%zu bytes",
                                 options.message ? strlen(options.message) : (size_t) 0);
        }

        BusRequest req = { .kind = &set_policy_kind, .call = call, .vm_name = d->name, .vm_uuid = d->uuid,
                           .policy = asked, .options = with_options ? described : NULL };

        /* Authorization comes before anything else, the arguments' check included. */
        r = bus_request_authorize(m->authorizer, &req, UID_INVALID);
        if (r < 0)
                return r;
        if (r == 0)
                return 1;

        if (invalid) {
                bus_request_refuse(&req, VPC_ERROR_INVALID_ARGS, invalid);
                return 1;
        }
        policy = calloc(1, sizeof(*policy));
        if (!policy)
                return -ENOMEM;
        if (console_disconnect_action_from_string(action, &policy->action) < 0 || delay_sec > CONSOLE_DELAY_MAX_SEC) {
                snprintf(bounds, sizeof(bounds),
                         "the policy is none, lock, logoff, lock-then-logoff or warn-then-logoff and the delay "
                         "0..%u seconds", CONSOLE_DELAY_MAX_SEC);
                bus_request_refuse(&req, VPC_ERROR_INVALID_ARGS, bounds);
                return 1;
        }
        /* Its delay is the Logoff's grace, which has its own bound. */
        if (policy->action == CONSOLE_DISCONNECT_WARN_THEN_LOGOFF && delay_sec > LOGOFF_GRACE_MAX_SEC) {
                snprintf(bounds, sizeof(bounds), "the delay of warn-then-logoff is 0..%u seconds", LOGOFF_GRACE_MAX_SEC);
                bus_request_refuse(&req, VPC_ERROR_INVALID_ARGS, bounds);
                return 1;
        }
        policy->delay_sec = delay_sec;
        if (options.message)
                snprintf(policy->message, sizeof(policy->message), "%s", options.message);

        r = set_policy_call_new(m, &req, policy, &s);
        if (r < 0)
                return r;
        /* Kept for none too, so the delay set with it reads back as set. */
        xml = console_policy_format(&s->policy);
        r = xml ? hypervisor_write_metadata(m->hypervisor, d->uuid, xml, on_policy_written, s) : -ENOMEM;
        if (r < 0) {
                bus_request_refuse(&s->request, VPC_ERROR_EXCEPTION, strerror(-r));
                set_policy_call_free(s);
                return 1;
        }
        return 1;
}

int console_policy_method_set(sd_bus_message *call, void *userdata, sd_bus_error *error) {
        return set_policy(call, userdata, false);
}

int console_policy_method_set_with_options(sd_bus_message *call, void *userdata, sd_bus_error *error) {
        return set_policy(call, userdata, true);
}
