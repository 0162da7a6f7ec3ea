/* The daemon's state (as machined.h): options, the bus and event loop, the domain registry, the
 * tasks, the callers, the authorizer and the hypervisor. manager.c owns it; the object files read it
 * through the userdata of their callbacks. It holds no behaviour of its own. */
#pragma once

#include <stdbool.h>
#include <systemd/sd-bus.h>
#include <systemd/sd-event.h>

#include "caller.h"
#include "domain.h"
#include "hypervisor.h"
#include "polkit.h"
#include "task.h"

#define MANAGER_PATH "/org/vpc"
#define BUS_NAME "org.vpc"

typedef struct ManagerOptions {
        const char *uri;
        unsigned agent_timeout_sec;
        unsigned logoff_timeout_sec;
        unsigned task_retention_sec;
        unsigned max_tasks;
        unsigned poll_interval_msec;            /* between two guest-get-users during a Logoff */
        unsigned agent_threads;
        unsigned agent_queue_max;
        unsigned polkit_timeout_sec;
        unsigned max_pending_auth;
        unsigned max_pending_auth_per_sender;
        unsigned max_waiters;
        unsigned max_waiters_per_sender;
} ManagerOptions;

typedef struct Manager {
        sd_event *event;
        sd_bus *bus;
        ManagerOptions options;

        DomainRegistry domains;
        unsigned generation;            /* bumped on every (re)connection to libvirt */
        Hypervisor *hypervisor;
        CallerRegistry *callers;
        Authorizer *authorizer;

        TaskRegistry tasks;
        TaskStore store;                /* the tasks' state files (task-store.h) */
        Task **restored;                /* running tasks of the previous run, until the domains are known */
        size_t n_restored;

        bool announced;                 /* org.vpc requested: from now on objects are announced */
        unsigned os_name_reads;         /* OSName reads in flight, all domains (guestos-osname.c) */
} Manager;
