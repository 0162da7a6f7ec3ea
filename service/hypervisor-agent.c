/* Guest-agent calls on the agent workers (see hypervisor-agent.h). */
#include <errno.h>
#include <inttypes.h>
#include <libvirt/libvirt-qemu.h>
#include <libvirt/libvirt.h>
#include <libvirt/virterror.h>
#include <pthread.h>
#include <stdio.h>

#include "hypervisor-agent.h"
#include "libvirt-errors.h"

struct AgentSession {
        virDomainPtr domain;
        int timeout_sec;
        bool vanished;                  /* a call said the domain is gone: forget its handle */
        VpcError open_error;            /* the domain could not be opened: every command says so */
        char *open_message;
};

typedef struct AgentJob {
        Job job;                /* first: the queue's callbacks cast back */
        Hypervisor *hypervisor;
        char uuid[UUID_STRING_MAX];
        int timeout_sec;
        const AgentSessionOps *ops;
        void *userdata;
        bool expired;           /* the owner was answered by expire() */
} AgentJob;

/* libvirt serializes the calls made on one connection: an agent call to one guest would wait until
 * another guest's frozen agent timed out. So each agent worker
 * opens a connection of its own, kept for the thread's life (freed by the key's destructor when the
 * worker exits) and re-opened when it died; while the shared connection is down, so are they.
 *
 * Each worker also keeps the domain handles it looked up on that connection, so a call pays no
 * lookup round trip first. That is safe: libvirt finds a handle's domain by UUID on every call, so a
 * handle follows renames, and one whose domain is gone fails as the lookup would (VmUnknown). */
#define WORKER_HANDLES_MAX 32

typedef struct WorkerHandle {
        char uuid[UUID_STRING_MAX];
        virDomainPtr domain;
} WorkerHandle;

typedef struct WorkerState {
        virConnectPtr conn;
        WorkerHandle handles[WORKER_HANDLES_MAX];
        unsigned next;          /* the slot a new handle takes, round robin */
} WorkerState;

static pthread_key_t worker_key;
static pthread_once_t worker_once = PTHREAD_ONCE_INIT;

static void worker_handles_clear(WorkerState *w) {
        for (size_t i = 0; i < WORKER_HANDLES_MAX; i++)
                if (w->handles[i].domain) {
                        virDomainFree(w->handles[i].domain);
                        w->handles[i] = (WorkerHandle) {};
                }
        w->next = 0;
}

static void worker_state_free(void *p) {
        WorkerState *w = p;

        worker_handles_clear(w);
        if (w->conn)
                virConnectClose(w->conn);
        free(w);
}

static void worker_key_init(void) {
        (void) pthread_key_create(&worker_key, worker_state_free);
}

static WorkerState *worker_state(void) {
        WorkerState *w;

        (void) pthread_once(&worker_once, worker_key_init);
        w = pthread_getspecific(worker_key);
        if (!w) {
                w = calloc(1, sizeof(*w));
                if (w && pthread_setspecific(worker_key, w) != 0) {
                        free(w);
                        w = NULL;
                }
        }
        return w;
}

/* The worker's connection (a reference), or the shared one when it cannot have its own. */
static virConnectPtr acquire_worker_connection(Hypervisor *h, WorkerState *w) {
        _cleanup_(virConnectClosep) virConnectPtr shared = hypervisor_acquire_connection(h);

        if (!shared)
                return NULL;
        if (!w)
                return TAKE_PTR(shared);
        if (w->conn && virConnectIsAlive(w->conn) != 1) {
                worker_handles_clear(w);
                virConnectClose(w->conn);
                w->conn = NULL;
        }
        if (!w->conn)
                w->conn = hypervisor_take_spare_connection(h);
        if (!w->conn) {
                w->conn = virConnectOpen(hypervisor_uri(h));
                if (!w->conn)
                        return TAKE_PTR(shared);        /* the shared one still works, only slower */
                /* As the shared one: a frozen libvirtd must not hold an agent call (and the worker,
                 * and the shutdown that joins it) forever. */
                (void) virConnectSetKeepAlive(w->conn, HYPERVISOR_KEEPALIVE_INTERVAL_SEC, HYPERVISOR_KEEPALIVE_COUNT);
        }
        virConnectRef(w->conn);
        return w->conn;
}

/* A reference to the handle of the domain with that UUID on c; looked up only the first time. NULL
 * with libvirt's error set when there is no such domain. */
static virDomainPtr worker_domain(WorkerState *w, virConnectPtr c, const char *uuid) {
        WorkerHandle *slot;
        virDomainPtr d;

        if (!w || c != w->conn)
                return virDomainLookupByUUIDString(c, uuid);
        for (size_t i = 0; i < WORKER_HANDLES_MAX; i++)
                if (w->handles[i].domain && streq_ptr(w->handles[i].uuid, uuid)) {
                        virDomainRef(w->handles[i].domain);
                        return w->handles[i].domain;
                }
        d = virDomainLookupByUUIDString(c, uuid);
        if (!d)
                return NULL;
        slot = &w->handles[w->next];
        w->next = (w->next + 1) % WORKER_HANDLES_MAX;
        if (slot->domain)
                virDomainFree(slot->domain);
        strcpy(slot->uuid, uuid);
        slot->domain = d;
        virDomainRef(d);
        return d;
}

/* A handle whose domain is gone is dropped, so its UUID is looked up again next time. */
static void worker_domain_forget(WorkerState *w, const char *uuid) {
        for (size_t i = 0; w && i < WORKER_HANDLES_MAX; i++)
                if (w->handles[i].domain && streq_ptr(w->handles[i].uuid, uuid)) {
                        virDomainFree(w->handles[i].domain);
                        w->handles[i] = (WorkerHandle) {};
                }
}

/* A call on the session failed: classified, and a domain that is gone is noted as such. */
static VpcError session_error(AgentSession *s, bool timed_out, char **ret_message) {
        virErrorPtr e = virGetLastError();

        if (e && e->code == VIR_ERR_NO_DOMAIN)
                s->vanished = true;
        return vpc_error_from_last_libvirt_error(timed_out, ret_message);
}

VpcError agent_session_command(AgentSession *s, const char *command, char **ret_reply, char **ret_message) {
        uint64_t start = now_usec(CLOCK_MONOTONIC);
        char *reply;

        if (s->open_error != VPC_OK) {
                *ret_message = s->open_message ? strdup(s->open_message) : NULL;
                return s->open_error;
        }
        reply = virDomainQemuAgentCommand(s->domain, command, s->timeout_sec, 0);
        if (!reply) {
                bool timed_out = now_usec(CLOCK_MONOTONIC) - start >= (uint64_t) s->timeout_sec * USEC_PER_SEC;
                return session_error(s, timed_out, ret_message);
        }
        *ret_reply = reply;
        return VPC_OK;
}

VpcError agent_session_require_running(AgentSession *s, char **ret_message) {
        int state, reason;

        if (s->open_error != VPC_OK) {
                *ret_message = s->open_message ? strdup(s->open_message) : NULL;
                return s->open_error;
        }
        if (virDomainGetState(s->domain, &state, &reason, 0) < 0)
                return session_error(s, false, ret_message);
        if (state == VIR_DOMAIN_RUNNING)
                return VPC_OK;
        if (asprintf(ret_message, "domain '%s' is not running (%s)", virDomainGetName(s->domain),
                     domain_state_to_string(state)) < 0)
                *ret_message = NULL;
        return VPC_ERROR_VM_NOT_RUNNING;
}

static void agent_job_run(Job *job) {
        AgentJob *j = (AgentJob *) job;
        WorkerState *w = worker_state();
        _cleanup_(virConnectClosep) virConnectPtr c = acquire_worker_connection(j->hypervisor, w);
        AgentSession s = { .timeout_sec = j->timeout_sec };

        if (!c) {
                s.open_error = VPC_ERROR_EXCEPTION;
                s.open_message = strdup("not connected to the hypervisor");
        } else {
                s.domain = worker_domain(w, c, j->uuid);
                if (!s.domain)
                        s.open_error = vpc_error_from_last_libvirt_error(false, &s.open_message);
        }
        j->ops->run(&s, j->userdata);
        if (s.vanished)
                worker_domain_forget(w, j->uuid);
        if (s.domain)
                virDomainFree(s.domain);
        free(s.open_message);
}

/* Answers the owner: by done() once run returned in time, or first by expire() (the job is still the
 * worker's, and done() comes later to free what is left). */
static void agent_job_done(Job *job, JobEnd end) {
        AgentJob *j = (AgentJob *) job;
        char message[128];

        if (end == JOB_FINISHED)
                return;         /* release() answers, with the result */
        (void) snprintf(message, sizeof(message), "libvirt did not answer within %" PRIu64 " s",
                        j->job.bound_usec / USEC_PER_SEC);
        j->expired = true;
        j->ops->expire(end == JOB_STOPPING, message, j->userdata);
}

static void agent_job_release(Job *job, bool stopping) {
        AgentJob *j = (AgentJob *) job;

        j->ops->done(stopping, j->expired, j->userdata);
        free(j);
}

static const JobOps agent_job_ops = {
        .run = agent_job_run,
        .done = agent_job_done,
        .release = agent_job_release,
};

int hypervisor_agent_run(Hypervisor *h, const char *uuid, int timeout_sec, unsigned commands,
                         const AgentSessionOps *ops, void *userdata) {
        AgentJob *j;
        int r;

        if (!uuid || strlen(uuid) >= UUID_STRING_MAX)
                return -EINVAL;
        j = calloc(1, sizeof(*j));
        if (!j)
                return -ENOMEM;
        *j = (AgentJob) {
                .job.ops = &agent_job_ops,
                .hypervisor = h,
                .timeout_sec = timeout_sec,
                .ops = ops,
                .userdata = userdata,
        };
        strcpy(j->uuid, uuid);
        /* Generous: a job may wait for a thread, then makes its agent calls; the keepalive ends calls
         * on a frozen libvirtd well before this, the deadline is for what it cannot end. */
        j->job.bound_usec = (uint64_t) (commands * (timeout_sec > 0 ? timeout_sec : 5) + HYPERVISOR_KEEPALIVE_BOUND_SEC + 5) *
                USEC_PER_SEC;
        r = hypervisor_submit_agent_job(h, &j->job);
        if (r < 0)
                free(j);
        return r;
}

/* --- one command --- */

typedef struct CommandCall {
        char *command;
        AgentCallResult result;
        agent_call_done_t done;
        void *userdata;
} CommandCall;

static void command_call_run(AgentSession *s, void *userdata) {
        CommandCall *c = userdata;

        c->result.error = agent_session_require_running(s, &c->result.message);
        if (c->result.error != VPC_OK)
                return;
        c->result.error = agent_session_command(s, c->command, &c->result.reply, &c->result.message);
}

static void command_call_done(bool stopping, bool answered, void *userdata) {
        CommandCall *c = userdata;

        c->result.stopping = stopping;
        if (!answered)
                c->done(&c->result, c->userdata);
        free(c->result.message);
        free(c->result.reply);
        free(c->command);
        free(c);
}

static void command_call_expire(bool stopping, const char *message, void *userdata) {
        CommandCall *c = userdata;

        c->done(&(AgentCallResult) { .stopping = stopping, .error = VPC_ERROR_TIMEOUT, .message = (char *) message },
                c->userdata);
}

static const AgentSessionOps command_call_ops = {
        .run = command_call_run,
        .done = command_call_done,
        .expire = command_call_expire,
};

int hypervisor_agent_command(Hypervisor *h, const char *uuid, const char *command, int timeout_sec,
                             agent_call_done_t done, void *userdata) {
        CommandCall *c;
        int r;

        c = calloc(1, sizeof(*c));
        if (!c)
                return -ENOMEM;
        c->command = strdup(command);
        if (!c->command) {
                free(c);
                return -ENOMEM;
        }
        c->done = done;
        c->userdata = userdata;
        r = hypervisor_agent_run(h, uuid, timeout_sec, 1, &command_call_ops, c);
        if (r < 0) {
                free(c->command);
                free(c);
        }
        return r;
}
