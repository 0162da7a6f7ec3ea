/* The daemon's state: options, the bus and event loop, the domain registry, tasks, the hypervisor
 * and the authorizer; and the org.vpc.Manager object at /org/vpc with its ObjectManager. */
#pragma once

#include <stdint.h>
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

        bool announced;                 /* org.vpc requested: from now on objects are announced */
} Manager;

int manager_new(sd_event *event, sd_bus *bus, const ManagerOptions *options, Manager **ret);
Manager *manager_free(Manager *m);
DEFINE_TRIVIAL_CLEANUP_FUNC(Manager *, manager_free);

/* Registers every object, the argument guard and the peer-gone match; then starts libvirt. The
 * name org.vpc is requested once the first connection attempt ended, so a client that sees the
 * name appear finds the domains already there. */
int manager_start(Manager *m);

extern const sd_bus_vtable manager_vtable[];
