/* See console-policy.h. The Logoff it starts is the ordinary one: the same guest check as a Logoff
 * call (logoff-check.c), then the domain's running Logoff task if a call started one meanwhile, or a
 * new task owned by uid 0 (logoff-task.c), which later Logoff calls join as usual. */
#include <errno.h>
#include <stdio.h>

#include "audit.h"
#include "console-policy.h"
#include "log.h"
#include "logoff-check.h"
#include "logoff-task.h"

#define GUESTOS_INTERFACE "org.vpc.GuestOS"

static void emit(Manager *m, Domain *d, char **properties) {
        (void) sd_bus_emit_properties_changed_strv(m->bus, d->path, GUESTOS_INTERFACE, properties);
}

static void format_policy(const ConsolePolicy *p, char buf[static 32]) {
        snprintf(buf, 32, "%s %u", console_disconnect_action_to_string(p->action), p->delay_sec);
}

/* Calls off the pending Logoff, whether its delay still runs or its guest check is in flight. */
static void console_cancel(Domain *d, const char *why) {
        d->console.generation++;
        d->console.resume_pending = false;
        if (!d->console.timer)
                return;
        d->console.timer = sd_event_source_disable_unref(d->console.timer);
        log_info("console-disconnect Logoff of '%s' called off: %s", d->name, why);
}

/* What the guest check's answer needs: the domain may be gone by then. */
typedef struct ConsoleLogoff {
        Manager *manager;
        char vm_uuid[UUID_STRING_MAX];
        char *vm_name;
        unsigned generation;
        ConsolePolicy policy;
        uint64_t left_usec;
        char client[CONSOLE_ADDRESS_MAX];
} ConsoleLogoff;

static void console_logoff_free(ConsoleLogoff *c) {
        free(c->vm_name);
        free(c);
}

static void console_audit(const ConsoleLogoff *c, const char *task_path, VpcError result, const char *message) {
        char policy[32];

        format_policy(&c->policy, policy);
        audit_log(&(AuditRecord) {
                .event = AUDIT_CONSOLE_LOGOFF,
                .uid = 0,
                .vm_name = c->vm_name,
                .vm_uuid = c->vm_uuid,
                .task_path = task_path,
                .result = result,
                .message = message,
                .policy = policy,
                .client = c->client,
        });
}

static void on_guest_checked(const GuestCheckResult *result, void *userdata) {
        ConsoleLogoff *c = userdata;
        _cleanup_(task_unrefp) Task *t = NULL;
        Domain *d;
        int r;

        if (result->stopping) {
                console_logoff_free(c);
                return;
        }
        d = domain_registry_find_by_uuid(&c->manager->domains, c->vm_uuid);
        if (!d) {
                console_audit(c, NULL, VPC_ERROR_VM_UNKNOWN, "the domain is gone");
                console_logoff_free(c);
                return;
        }
        /* A client came back, the VM stopped or the policy changed while the agent answered. */
        if (d->console.generation != c->generation) {
                log_info("console-disconnect Logoff of '%s' called off during its guest check", d->name);
                console_logoff_free(c);
                return;
        }
        if (result->error != VPC_OK) {
                console_audit(c, NULL, result->error, result->message);
                console_logoff_free(c);
                return;
        }
        logoff_state_remember_guest_os(d, result->os, c->manager->generation);
        /* A Logoff call that passed its own check first: this one joins its task. */
        if (logoff_task_running(d))
                t = task_ref(logoff_task_running(d));
        else {
                r = logoff_task_start_described(c->manager, d, 0, CONSOLE_LOGOFF_DESCRIPTION, result->os, &t);
                if (r < 0) {
                        console_audit(c, NULL, VPC_ERROR_EXCEPTION, strerror(-r));
                        console_logoff_free(c);
                        return;
                }
        }
        log_info("console of '%s' left by %s %.3f s ago: Logoff task %s", d->name, c->client,
                 (double) (now_usec(CLOCK_MONOTONIC) - c->left_usec) / USEC_PER_SEC, t->path);
        console_audit(c, t->path, VPC_OK, NULL);
        console_logoff_free(c);
}

static int on_delay_passed(sd_event_source *s, uint64_t usec, void *userdata) {
        Domain *d = userdata;
        Manager *m = d->manager;
        ConsoleLogoff *c;
        int r;

        d->console.timer = sd_event_source_disable_unref(d->console.timer);
        c = calloc(1, sizeof(*c));
        if (!c) {
                log_error("cannot start the console-disconnect Logoff of '%s': %s", d->name, strerror(ENOMEM));
                return 0;
        }
        *c = (ConsoleLogoff) {
                .manager = m,
                .vm_name = strdup(d->name),
                .generation = d->console.generation,
                .policy = d->console_policy,
                .left_usec = d->console.left_usec,
        };
        strcpy(c->vm_uuid, d->uuid);
        memcpy(c->client, d->console.left_address, sizeof(c->client));
        if (!c->vm_name) {
                console_logoff_free(c);
                return 0;
        }
        r = logoff_check_guest(m->hypervisor, c->vm_uuid, (int) m->options.agent_timeout_sec,
                               logoff_state_known_guest_os(d, m->generation), on_guest_checked, c);
        if (r < 0) {
                console_audit(c, NULL, r == -EBUSY ? VPC_ERROR_LIMITS_EXCEEDED : VPC_ERROR_EXCEPTION,
                              r == -EBUSY ? "too many guest-agent calls in flight" : strerror(-r));
                console_logoff_free(c);
        }
        return 0;
}

static void console_arm(Manager *m, Domain *d) {
        int r;

        d->console.timer = sd_event_source_disable_unref(d->console.timer);
        /* 1 ms accuracy: sd-event's default (250 ms) would be a visible part of a short delay. */
        r = sd_event_add_time_relative(m->event, &d->console.timer, CLOCK_MONOTONIC,
                                       (uint64_t) d->console_policy.delay_sec * USEC_PER_SEC, USEC_PER_MSEC,
                                       on_delay_passed, d);
        if (r < 0) {
                log_error("cannot arm the console-disconnect Logoff of '%s': %s", d->name, strerror(-r));
                return;
        }
        log_info("the last console client of '%s' (%s) left: Logoff in %u s unless one comes back", d->name,
                 d->console.left_address, d->console_policy.delay_sec);
}

void console_policy_event(Manager *m, const char *uuid, int phase, const char *address) {
        Domain *d = domain_registry_find_by_uuid(&m->domains, uuid);

        if (!d || !console_state_apply(&d->console, (ConsolePhase) phase, address))
                return;
        emit(m, d, (char *[]) { "ConsoleClients", NULL });
        if (d->console.n_clients > 0) {
                console_cancel(d, "a console client connected");
                return;
        }
        snprintf(d->console.left_address, sizeof(d->console.left_address), "%s", address ?: "");
        d->console.left_usec = now_usec(CLOCK_MONOTONIC);
        if (d->console_policy.action == CONSOLE_DISCONNECT_LOGOFF && d->state == DOMAIN_STATE_RUNNING)
                console_arm(m, d);
}

void console_policy_apply(Manager *m, Domain *d, const ConsolePolicy *p) {
        char *changed[3] = {};
        size_t n = 0;

        if (d->console_policy.action != p->action)
                changed[n++] = (char *) "ConsoleDisconnectPolicy";
        if (d->console_policy.delay_sec != p->delay_sec)
                changed[n++] = (char *) "ConsoleDisconnectDelaySec";
        if (n == 0)
                return;
        d->console_policy = *p;
        emit(m, d, changed);
        console_cancel(d, "its console policy changed");
}

void console_policy_domain_state(Manager *m, Domain *d) {
        bool armed = d->console.timer;

        if (d->state == DOMAIN_STATE_RUNNING) {
                /* Resumed with nobody back at the console: the delay runs again, in full. */
                if (d->console.resume_pending && d->console.n_clients == 0 &&
                    d->console_policy.action == CONSOLE_DISCONNECT_LOGOFF)
                        console_arm(m, d);
                d->console.resume_pending = false;
                return;
        }
        console_cancel(d, "the VM is not running");
        /* Paused or suspended, QEMU (and its console connections) stay; stopped, they are gone. */
        if (d->state != DOMAIN_STATE_SHUTOFF && d->state != DOMAIN_STATE_CRASHED && d->state != DOMAIN_STATE_NOSTATE) {
                d->console.resume_pending = armed;
                return;
        }
        if (console_state_reset(&d->console))
                emit(m, d, (char *[]) { "ConsoleClients", NULL });
}

static void reset_one(Domain *d, void *userdata) {
        console_cancel(d, "the connection to libvirt broke");
        if (console_state_reset(&d->console))
                emit(userdata, d, (char *[]) { "ConsoleClients", NULL });
}

void console_policy_reset_all(Manager *m) {
        domain_registry_foreach(&m->domains, reset_one, m);
}
