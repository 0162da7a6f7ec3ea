/* Guest-agent calls through libvirt, on the hypervisor's agent workers (see hypervisor.h). Each
 * worker talks to libvirt over a connection of its own, so one guest's slow agent never holds up
 * another's. Work on a domain's agent runs on a worker as a function that sends commands through an
 * AgentSession; its completion comes back on the sd-event loop. */
#pragma once

#include <stdbool.h>

#include "errors.h"
#include "hypervisor.h"

/* One domain's agent, as a worker function sees it. Not thread-safe: it lives on one worker. */
typedef struct AgentSession AgentSession;

/* Sends one command and waits for its reply (the session's timeout). A session whose domain could
 * not be opened answers every command with that error. *ret_reply (VPC_OK) or *ret_message (any
 * error) is the caller's to free. */
VpcError agent_session_command(AgentSession *s, const char *command, char **ret_reply, char **ret_message);
/* VmNotRunning (with the state in its message) unless libvirt says the domain runs now. */
VpcError agent_session_require_running(AgentSession *s, char **ret_message);

/* Runs on an agent worker. */
typedef void (*agent_session_run_t)(AgentSession *s, void *userdata);

/* How a job's owner hears of it, on the event loop. Each job is answered once: either done() with
 * answered = false once run returned, or, when libvirt did not return within the job's bound,
 * expire() first (the owner answers its caller with Timeout; run may still be using userdata) and
 * done() with answered = true later, when run returned at last, to free what is left. `stopping`:
 * the daemon is shutting down, and the owner must only free its own state. */
typedef struct AgentSessionOps {
        agent_session_run_t run;
        void (*done)(bool stopping, bool answered, void *userdata);
        void (*expire)(bool stopping, const char *message, void *userdata);
} AgentSessionOps;

/* Opens the domain with that UUID on a worker and calls ops->run with it. commands: how many agent
 * commands run makes at most, which sets the bound. -EBUSY when the agent workers and their queue
 * are full. */
int hypervisor_agent_run(Hypervisor *h, const char *uuid, int timeout_sec, unsigned commands,
                         const AgentSessionOps *ops, void *userdata);

/* What one agent command produced. */
typedef struct AgentCallResult {
        bool stopping;
        VpcError error;
        char *message;          /* when error != VPC_OK */
        char *reply;            /* the agent's JSON reply when error == VPC_OK */
} AgentCallResult;

typedef void (*agent_call_done_t)(const AgentCallResult *result, void *userdata);

/* Sends one agent command to a domain that must be running, with a timeout in seconds. */
int hypervisor_agent_command(Hypervisor *h, const char *uuid, const char *command, int timeout_sec,
                             agent_call_done_t done, void *userdata);
