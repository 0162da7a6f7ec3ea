/* Logoff's guest check (see logoff-check.h). */
#include <errno.h>

#include "hypervisor-agent.h"
#include "logoff-check.h"

typedef struct GuestCheck {
        GuestOsKind known_os;
        GuestCheckResult result;
        guest_check_done_t done;
        void *userdata;
} GuestCheck;

/* The domain is not asked whether it runs: the caller saw it running in the registry (kept current
 * by events), and an agent command on a domain that stopped meanwhile fails with "domain is not
 * running", which maps to VmNotRunning too. */
static void guest_check_run(AgentSession *s, void *userdata) {
        GuestCheck *c = userdata;
        GuestCheckResult *res = &c->result;
        _cleanup_free_ char *reply = NULL;
        AgentInfo info;

        res->error = agent_session_command(s, AGENT_COMMAND_INFO, &reply, &res->message);
        if (res->error != VPC_OK)
                return;
        if (agent_parse_info(reply, &info, &res->message) < 0) {
                res->error = VPC_ERROR_EXCEPTION;
                return;
        }
        if (!info.has_exec || !info.has_exec_status || !info.has_get_users) {
                res->error = VPC_ERROR_ADDITIONS_FEATURE_NOT_AVAILABLE;
                res->message = strdup("the guest agent lacks guest-exec, guest-exec-status or guest-get-users");
                return;
        }

        /* guest-info is asked every time: it proves the agent answers now and still offers what a
         * Logoff needs. The OS cannot change while the domain runs. */
        if (c->known_os != GUEST_OS_UNKNOWN) {
                res->os = c->known_os;
                return;
        }
        /* Without guest-get-osinfo (old agents) assume Linux, the only kind whose agent may lack it. */
        res->os = GUEST_OS_LINUX;
        if (!info.has_get_osinfo)
                return;
        free(reply);
        reply = NULL;
        res->error = agent_session_command(s, AGENT_COMMAND_GET_OSINFO, &reply, &res->message);
        if (res->error != VPC_OK)
                return;
        if (agent_parse_osinfo(reply, &res->os, &res->message) < 0)
                res->error = VPC_ERROR_EXCEPTION;
}

static void guest_check_done(bool stopping, bool answered, void *userdata) {
        GuestCheck *c = userdata;

        c->result.stopping = stopping;
        if (!answered)
                c->done(&c->result, c->userdata);
        free(c->result.message);
        free(c);
}

static void guest_check_expire(bool stopping, const char *message, void *userdata) {
        GuestCheck *c = userdata;

        c->done(&(GuestCheckResult) { .stopping = stopping, .error = VPC_ERROR_TIMEOUT, .message = (char *) message },
                c->userdata);
}

static const AgentSessionOps guest_check_ops = {
        .run = guest_check_run,
        .done = guest_check_done,
        .expire = guest_check_expire,
};

int logoff_check_guest(Hypervisor *h, const char *uuid, int timeout_sec, GuestOsKind known_os,
                       guest_check_done_t done, void *userdata) {
        GuestCheck *c;
        int r;

        c = calloc(1, sizeof(*c));
        if (!c)
                return -ENOMEM;
        c->known_os = known_os;
        c->done = done;
        c->userdata = userdata;
        /* guest-info, then guest-get-osinfo unless the OS is known. */
        r = hypervisor_agent_run(h, uuid, timeout_sec, known_os == GUEST_OS_UNKNOWN ? 2 : 1, &guest_check_ops, c);
        if (r < 0)
                free(c);
        return r;
}
