/* GuestOS.ListUsers() (see guestos-users.h). */
#include <errno.h>
#include <stdio.h>

#include "agent.h"
#include "audit.h"
#include "guestos-users.h"
#include "hypervisor-agent.h"
#include "log.h"
#include "vpc-guestosd.h"

/* One call, from the worker back to its answer: the domain may be gone by then, so it keeps its
 * own copy of what the answer and the audit record name. */
typedef struct ListUsers {
        sd_bus_message *call;
        CallerCreds creds;
        char *vm_name;
        char vm_uuid[UUID_STRING_MAX];
        VpcError error;
        char *message;
        AgentUser *users;
        size_t n_users;
} ListUsers;

static ListUsers *list_users_free(ListUsers *l) {
        if (!l)
                return NULL;
        sd_bus_message_unref(l->call);
        free(l->vm_name);
        free(l->message);
        agent_users_free(l->users, l->n_users);
        free(l);
        return NULL;
}
DEFINE_TRIVIAL_CLEANUP_FUNC(ListUsers *, list_users_free);

static void list_users_audit(sd_bus_message *call, const CallerCreds *creds, const char *vm_name,
                             const char *vm_uuid, VpcError result, const char *message) {
        audit_log(&(AuditRecord) {
                .event = AUDIT_LIST_USERS_REQUEST,
                .uid = creds->uid,
                .pid = creds->pid,
                .sender = sd_bus_message_get_sender(call),
                .vm_name = vm_name,
                .vm_uuid = vm_uuid,
                .result = result,
                .message = message,
        });
}

static void list_users_refuse(sd_bus_message *call, const CallerCreds *creds, const char *vm_name,
                              const char *vm_uuid, VpcError e, const char *reason) {
        _cleanup_free_ char *full = NULL;

        if (asprintf(&full, "cannot list the users of '%s': %s", vm_name, reason ?: "failed") < 0)
                full = NULL;
        list_users_audit(call, creds, vm_name, vm_uuid, e, full);
        (void) vpc_error_reply(call, e, "%s", full ?: "cannot list the users");
}

static int list_users_reply(ListUsers *l) {
        _cleanup_(sd_bus_message_unrefp) sd_bus_message *reply = NULL;
        int r;

        list_users_audit(l->call, &l->creds, l->vm_name, l->vm_uuid, VPC_OK, NULL);
        if (sd_bus_message_get_expect_reply(l->call) == 0)
                return 0;
        r = sd_bus_message_new_method_return(l->call, &reply);
        if (r >= 0)
                r = sd_bus_message_open_container(reply, 'a', "(sst)");
        for (size_t i = 0; r >= 0 && i < l->n_users; i++)
                r = sd_bus_message_append(reply, "(sst)", l->users[i].user, l->users[i].domain,
                                          l->users[i].login_usec);
        if (r >= 0)
                r = sd_bus_message_close_container(reply);
        if (r >= 0)
                r = sd_bus_send(NULL, reply, NULL);
        return r < 0 ? vpc_reply_fallback(l->call, r) : r;
}

/* On an agent worker. The domain must run now (libvirt's word, not the registry's, which an event
 * may not have reached yet), and its agent must offer guest-get-users. */
static void list_users_run(AgentSession *s, void *userdata) {
        ListUsers *l = userdata;
        _cleanup_free_ char *reply = NULL;
        AgentInfo info;

        l->error = agent_session_require_running(s, &l->message);
        if (l->error != VPC_OK)
                return;
        l->error = agent_session_command(s, AGENT_COMMAND_INFO, &reply, &l->message);
        if (l->error != VPC_OK)
                return;
        if (agent_parse_info(reply, &info, &l->message) < 0) {
                l->error = VPC_ERROR_EXCEPTION;
                return;
        }
        if (!info.has_get_users) {
                l->error = VPC_ERROR_ADDITIONS_FEATURE_NOT_AVAILABLE;
                l->message = strdup("the guest agent lacks guest-get-users");
                return;
        }
        free(reply);
        reply = NULL;
        l->error = agent_session_command(s, AGENT_COMMAND_GET_USERS, &reply, &l->message);
        if (l->error != VPC_OK)
                return;
        if (agent_parse_user_list(reply, &l->users, &l->n_users, &l->message) < 0)
                l->error = VPC_ERROR_EXCEPTION;
}

static void list_users_done(bool stopping, bool answered, void *userdata) {
        _cleanup_(list_users_freep) ListUsers *l = userdata;

        if (answered)
                return;
        if (stopping)
                list_users_refuse(l->call, &l->creds, l->vm_name, l->vm_uuid, VPC_ERROR_EXCEPTION, "the service is stopping");
        else if (l->error != VPC_OK)
                list_users_refuse(l->call, &l->creds, l->vm_name, l->vm_uuid, l->error, l->message);
        else
                (void) list_users_reply(l);
}

/* libvirt did not return in time: the caller hears Timeout now; the worker still owns l. */
static void list_users_expire(bool stopping, const char *message, void *userdata) {
        ListUsers *l = userdata;

        list_users_refuse(l->call, &l->creds, l->vm_name, l->vm_uuid, VPC_ERROR_TIMEOUT, message);
}

static const AgentSessionOps list_users_ops = {
        .run = list_users_run,
        .done = list_users_done,
        .expire = list_users_expire,
};

int guestos_method_list_users(sd_bus_message *call, void *userdata, sd_bus_error *error) {
        Domain *d = userdata;
        Manager *m = d->manager;
        _cleanup_(list_users_freep) ListUsers *l = NULL;
        AuthVerdict v;
        int r;

        /* Authorization comes before any libvirt work. */
        r = authorizer_verify_async(m->authorizer, call, "org.vpc.guestos.list-users",
                                    (const char *const[]) { "vm.name", d->name, "vm.uuid", d->uuid, NULL },
                                    UID_INVALID, &v);
        if (r == 0)
                return 1;       /* parked: this runs again once the verdict is in */
        if (v.error != VPC_OK) {
                list_users_refuse(call, &v.creds, d->name, d->uuid, v.error, v.reason);
                return 1;
        }

        l = calloc(1, sizeof(*l));
        if (!l || !(l->vm_name = strdup(d->name)))
                return -ENOMEM;
        l->call = sd_bus_message_ref(call);
        l->creds = v.creds;
        strcpy(l->vm_uuid, d->uuid);
        /* guest-info, guest-get-users. */
        r = hypervisor_agent_run(m->hypervisor, d->uuid, (int) m->options.agent_timeout_sec, 2, &list_users_ops, l);
        if (r < 0) {
                list_users_refuse(call, &v.creds, d->name, d->uuid,
                                  r == -EBUSY ? VPC_ERROR_LIMITS_EXCEEDED : VPC_ERROR_EXCEPTION,
                                  r == -EBUSY ? "too many guest-agent calls in flight" : strerror(-r));
                return 1;
        }
        TAKE_PTR(l);
        return 1;
}
