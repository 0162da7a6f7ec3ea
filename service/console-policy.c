/* See console-policy.h. The tasks it starts are the ordinary ones: the same guest check as a Logoff
 * or Lock call (logoff-check.c), then the domain's running task of that kind if a call started one
 * meanwhile, or a new one owned by uid 0 (logoff-task.c, lock-task.c), which later calls join as
 * usual. */
#include <errno.h>
#include <stdio.h>

#include "audit.h"
#include "console-policy.h"
#include "lock-task.h"
#include "log.h"
#include "logoff-check.h"
#include "logoff-state.h"
#include "logoff-task.h"

#define GUESTOS_INTERFACE "org.vpc.GuestOS"
#define POLICY_TEXT_MAX 48

/* What the policy keeps per domain: the domain owns it and frees it with its feature's free(). */
typedef struct ConsolePolicyState {
        DomainFeature feature;          /* first: the domain frees the state through it */
        ConsolePolicy policy;           /* from the domain's metadata (console-metadata.h) */
        ConsoleState console;           /* its console clients and the pending step's timer */
        /* The warn-then-logoff task this policy started, cancelled when a client comes back. */
        Task *warn_task;
} ConsolePolicyState;

static const ConsolePolicy default_policy = { .action = CONSOLE_DISCONNECT_NONE,
                                              .delay_sec = CONSOLE_DELAY_DEFAULT_SEC };

static void state_free(DomainFeature *f) {
        ConsolePolicyState *s = (ConsolePolicyState *) f;

        console_state_clear(&s->console);
        task_unref(s->warn_task);
        free(s);
}

static ConsolePolicyState *state_of(const Domain *d) {
        return (ConsolePolicyState *) d->console;
}

/* d's state, made on first use; NULL when out of memory. */
static ConsolePolicyState *state_get(Domain *d) {
        ConsolePolicyState *s;

        if (d->console)
                return state_of(d);
        s = calloc(1, sizeof(*s));
        if (!s)
                return NULL;
        s->feature.free = state_free;
        s->policy = default_policy;
        d->console = &s->feature;
        return s;
}

const ConsolePolicy *console_policy_of(const Domain *d) {
        return d->console ? &state_of(d)->policy : &default_policy;
}

unsigned console_policy_clients(const Domain *d) {
        return d->console ? state_of(d)->console.n_clients : 0;
}

static void emit(Manager *m, Domain *d, char **properties) {
        (void) sd_bus_emit_properties_changed_strv(m->bus, d->path, GUESTOS_INTERFACE, properties);
}

/* The steps an action takes: what runs when the disconnect is confirmed, and what after the delay. */
typedef enum ConsoleStep {
        CONSOLE_STEP_NOTHING,
        CONSOLE_STEP_LOCK,
        CONSOLE_STEP_LOGOFF,
        CONSOLE_STEP_WARN,              /* a Logoff task with the message and the delay as its grace */
} ConsoleStep;

static const char *const step_names[] = {
        [CONSOLE_STEP_NOTHING] = "nothing",
        [CONSOLE_STEP_LOCK] = "lock",
        [CONSOLE_STEP_LOGOFF] = "logoff",
        [CONSOLE_STEP_WARN] = "warn",
};

static ConsoleStep step_at_disconnect(ConsoleDisconnectAction a) {
        return a == CONSOLE_DISCONNECT_LOCK_THEN_LOGOFF ? CONSOLE_STEP_LOCK :
               a == CONSOLE_DISCONNECT_WARN_THEN_LOGOFF ? CONSOLE_STEP_WARN : CONSOLE_STEP_NOTHING;
}

static ConsoleStep step_after_delay(ConsoleDisconnectAction a) {
        switch (a) {
        case CONSOLE_DISCONNECT_LOCK:
                return CONSOLE_STEP_LOCK;
        case CONSOLE_DISCONNECT_LOGOFF:
        case CONSOLE_DISCONNECT_LOCK_THEN_LOGOFF:
                return CONSOLE_STEP_LOGOFF;
        default:
                return CONSOLE_STEP_NOTHING;
        }
}

static void format_policy(const ConsolePolicy *p, ConsoleStep step, char buf[static POLICY_TEXT_MAX]) {
        snprintf(buf, POLICY_TEXT_MAX, "%s %u: %s%s", console_disconnect_action_to_string(p->action), p->delay_sec,
                 step_names[step], p->message[0] ? " (with a message)" : "");
}

/* Calls off what is pending: the debounce or the delay, a guest check in flight, and the
 * warn-then-logoff task the policy started. */
static void console_cancel(Domain *d, const char *why) {
        ConsolePolicyState *s = state_of(d);
        bool armed;

        if (!s)
                return;
        armed = s->console.timer;
        s->console.generation++;
        s->console.resume_pending = false;
        s->console.debounced = false;
        s->console.timer = sd_event_source_disable_unref(s->console.timer);
        if (s->warn_task) {
                if (!s->warn_task->complete) {
                        log_info("console-disconnect warning of '%s' called off: %s", d->name, why);
                        task_complete(s->warn_task, VPC_ERROR_CANCELLED, why);
                }
                s->warn_task = task_unref(s->warn_task);
        }
        if (armed)
                log_info("console-disconnect action of '%s' called off: %s", d->name, why);
}

/* What the guest check's answer needs: the domain may be gone by then. */
typedef struct ConsoleAction {
        Manager *manager;
        char vm_uuid[UUID_STRING_MAX];
        char *vm_name;
        unsigned generation;
        ConsolePolicy policy;
        ConsoleStep step;
        uint64_t left_usec;
        char client[CONSOLE_ADDRESS_MAX];
} ConsoleAction;

static void console_action_free(ConsoleAction *c) {
        free(c->vm_name);
        free(c);
}

static void console_audit(const ConsoleAction *c, const char *task_path, VpcError result, const char *message) {
        char policy[POLICY_TEXT_MAX];

        format_policy(&c->policy, c->step, policy);
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

/* The step's task, or the domain's running one of its kind. */
static int start_step(ConsoleAction *c, Domain *d, GuestOsKind os, Task **ret) {
        ConsolePolicyState *s = state_of(d);
        LogoffOptions o = { .message = c->policy.message[0] ? c->policy.message : NULL };
        int r;

        if (c->step == CONSOLE_STEP_LOCK)
                return lock_task_start_described(c->manager, d, 0, CONSOLE_LOCK_DESCRIPTION, os, ret);
        /* A Logoff call that passed its own check first: this one joins its task. */
        if (logoff_task_running(d)) {
                *ret = task_ref(logoff_task_running(d));
                return 0;
        }
        if (c->step == CONSOLE_STEP_WARN)
                o.grace_sec = c->policy.delay_sec < LOGOFF_GRACE_MAX_SEC ? c->policy.delay_sec : LOGOFF_GRACE_MAX_SEC;
        r = logoff_task_start_with_options(c->manager, d, 0, CONSOLE_LOGOFF_DESCRIPTION, &o, os, ret);
        if (r < 0)
                return r;
        if (c->step == CONSOLE_STEP_WARN && s) {
                task_unref(s->warn_task);
                s->warn_task = task_ref(*ret);
        }
        return 0;
}

static void on_guest_checked(const GuestCheckResult *result, void *userdata) {
        ConsoleAction *c = userdata;
        _cleanup_(task_unrefp) Task *t = NULL;
        ConsolePolicyState *s;
        Domain *d;
        int r;

        if (result->stopping) {
                console_action_free(c);
                return;
        }
        d = domain_registry_find_by_uuid(&c->manager->domains, c->vm_uuid);
        if (!d) {
                console_audit(c, NULL, VPC_ERROR_VM_UNKNOWN, "the domain is gone");
                console_action_free(c);
                return;
        }
        /* A client came back, the VM stopped or the policy changed while the agent answered. */
        s = state_of(d);
        if (!s || s->console.generation != c->generation) {
                log_info("console-disconnect %s of '%s' called off during its guest check", step_names[c->step], d->name);
                console_action_free(c);
                return;
        }
        if (result->error != VPC_OK) {
                console_audit(c, NULL, result->error, result->message);
                console_action_free(c);
                return;
        }
        logoff_state_remember_guest_os(d, result->os, c->manager->generation);
        r = start_step(c, d, result->os, &t);
        if (r < 0) {
                console_audit(c, NULL, VPC_ERROR_EXCEPTION, strerror(-r));
                console_action_free(c);
                return;
        }
        log_info("console of '%s' left by %s %.3f s ago: %s task %s", d->name, c->client,
                 (double) (now_usec(CLOCK_MONOTONIC) - c->left_usec) / USEC_PER_SEC, step_names[c->step], t->path);
        console_audit(c, t->path, VPC_OK, NULL);
        console_action_free(c);
}

static void console_run_step(Manager *m, Domain *d, ConsoleStep step) {
        ConsolePolicyState *s = state_of(d);
        ConsoleAction *c;
        int r;

        if (step == CONSOLE_STEP_NOTHING)
                return;
        c = calloc(1, sizeof(*c));
        if (!c) {
                log_error("cannot start the console-disconnect action of '%s': %s", d->name, strerror(ENOMEM));
                return;
        }
        c->manager = m;
        c->vm_name = strdup(d->name);
        c->generation = s->console.generation;
        c->policy = s->policy;
        c->step = step;
        c->left_usec = s->console.left_usec;
        strcpy(c->vm_uuid, d->uuid);
        memcpy(c->client, s->console.left_address, sizeof(c->client));
        if (!c->vm_name) {
                console_action_free(c);
                return;
        }
        r = logoff_check_guest(m->hypervisor, c->vm_uuid, (int) m->options.agent_timeout_sec,
                               logoff_state_known_guest_os(d, m->generation), on_guest_checked, c);
        if (r < 0) {
                console_audit(c, NULL, r == -EBUSY ? VPC_ERROR_LIMITS_EXCEEDED : VPC_ERROR_EXCEPTION,
                              r == -EBUSY ? "too many guest-agent calls in flight" : strerror(-r));
                console_action_free(c);
        }
}

static int on_timer(sd_event_source *source, uint64_t usec, void *userdata);

static void console_arm(Manager *m, Domain *d) {
        ConsolePolicyState *s = state_of(d);
        int r;

        s->console.timer = sd_event_source_disable_unref(s->console.timer);
        /* 1 ms accuracy: sd-event's default (250 ms) would be a visible part of a short delay. */
        r = sd_event_add_time(m->event, &s->console.timer, CLOCK_MONOTONIC,
                              console_state_deadline(&s->console, s->policy.delay_sec), USEC_PER_MSEC, on_timer, d);
        if (r < 0)
                log_error("cannot arm the console-disconnect action of '%s': %s", d->name, strerror(-r));
}

static int on_timer(sd_event_source *source, uint64_t usec, void *userdata) {
        Domain *d = userdata;
        ConsolePolicyState *s = state_of(d);
        ConsoleDisconnectAction a = s->policy.action;

        s->console.timer = sd_event_source_disable_unref(s->console.timer);
        if (s->console.debounced) {
                console_run_step(d->manager, d, step_after_delay(a));
                return 0;
        }
        /* Nobody came back within the debounce: this is a disconnect. */
        s->console.debounced = true;
        log_info("the last console client of '%s' (%s) stayed away: %s, delay %u s", d->name,
                 s->console.left_address, console_disconnect_action_to_string(a), s->policy.delay_sec);
        console_run_step(d->manager, d, step_at_disconnect(a));
        if (step_after_delay(a) != CONSOLE_STEP_NOTHING)
                console_arm(d->manager, d);
        return 0;
}

/* The last client left now (or the VM resumed with nobody at its console). */
static void console_left(Manager *m, Domain *d) {
        ConsolePolicyState *s = state_of(d);

        s->console.left_usec = now_usec(CLOCK_MONOTONIC);
        s->console.debounced = false;
        if (s->policy.action != CONSOLE_DISCONNECT_NONE && d->state == DOMAIN_STATE_RUNNING)
                console_arm(m, d);
}

void console_policy_event(Manager *m, const char *uuid, int phase, const char *address) {
        Domain *d = domain_registry_find_by_uuid(&m->domains, uuid);
        ConsolePolicyState *s;

        if (!d)
                return;
        s = state_get(d);
        if (!s) {
                log_error("cannot count the console clients of '%s': %s", d->name, strerror(ENOMEM));
                return;
        }
        if (!console_state_apply(&s->console, (ConsolePhase) phase, address))
                return;
        emit(m, d, (char *[]) { "ConsoleClients", NULL });
        if (s->console.n_clients > 0) {
                console_cancel(d, "a console client connected");
                return;
        }
        snprintf(s->console.left_address, sizeof(s->console.left_address), "%s", address ?: "");
        console_left(m, d);
}

/* Stores p as the domain's policy: false, said so, when there is no memory for its state. */
static bool keep_policy(Domain *d, const ConsolePolicy *p) {
        ConsolePolicyState *s = state_get(d);

        if (!s) {
                log_error("cannot keep the console policy of '%s': %s", d->name, strerror(ENOMEM));
                return false;
        }
        s->policy = *p;
        return true;
}

void console_policy_init(Domain *d, const ConsolePolicy *p) {
        if (!d->console && memcmp(p, &default_policy, sizeof(*p)) == 0)
                return;
        (void) keep_policy(d, p);
}

void console_policy_apply(Manager *m, Domain *d, const ConsolePolicy *p) {
        const ConsolePolicy *old = console_policy_of(d);
        char *changed[4] = {};
        size_t n = 0;

        if (old->action != p->action)
                changed[n++] = (char *) "ConsoleDisconnectPolicy";
        if (old->delay_sec != p->delay_sec)
                changed[n++] = (char *) "ConsoleDisconnectDelaySec";
        if (strcmp(old->message, p->message) != 0)
                changed[n++] = (char *) "ConsoleDisconnectMessage";
        if (n == 0 || !keep_policy(d, p))
                return;
        emit(m, d, changed);
        console_cancel(d, "its console policy changed");
}

void console_policy_domain_state(Manager *m, Domain *d) {
        ConsolePolicyState *s = state_of(d);
        bool armed;

        if (!s)
                return;
        armed = s->console.timer;
        if (d->state == DOMAIN_STATE_RUNNING) {
                /* Resumed with nobody back at the console: the debounce and the delay run again, in full. */
                if (s->console.resume_pending && s->console.n_clients == 0 &&
                    s->policy.action != CONSOLE_DISCONNECT_NONE)
                        console_left(m, d);
                s->console.resume_pending = false;
                return;
        }
        console_cancel(d, "the VM is not running");
        /* Paused or suspended, QEMU (and its console connections) stay; stopped, they are gone. */
        if (d->state != DOMAIN_STATE_SHUTOFF && d->state != DOMAIN_STATE_CRASHED && d->state != DOMAIN_STATE_NOSTATE) {
                s->console.resume_pending = armed;
                return;
        }
        if (console_state_reset(&s->console))
                emit(m, d, (char *[]) { "ConsoleClients", NULL });
}

static void reset_one(Domain *d, void *userdata) {
        ConsolePolicyState *s = state_of(d);

        if (!s)
                return;
        console_cancel(d, "the connection to libvirt broke");
        if (console_state_reset(&s->console))
                emit(userdata, d, (char *[]) { "ConsoleClients", NULL });
}

void console_policy_reset_all(Manager *m) {
        domain_registry_foreach(&m->domains, reset_one, m);
}
