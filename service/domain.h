/* The daemon's model of one libvirt domain (name, UUID, state), and the registry that finds a
 * domain by name, UUID or object path. Kept current from libvirt events; reads never call libvirt. */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <systemd/sd-event.h>

#include "util.h"

#define GUESTOS_PATH_PREFIX "/org/vpc/GuestOS"
#define UUID_STRING_MAX 37

typedef struct Task Task;
typedef struct Manager Manager;
typedef struct Operation Operation;

/* The values of libvirt's virDomainState, so a state from libvirt is stored as is. */
typedef enum DomainState {
        DOMAIN_STATE_NOSTATE = 0,
        DOMAIN_STATE_RUNNING,
        DOMAIN_STATE_BLOCKED,
        DOMAIN_STATE_PAUSED,
        DOMAIN_STATE_SHUTDOWN,
        DOMAIN_STATE_SHUTOFF,
        DOMAIN_STATE_CRASHED,
        DOMAIN_STATE_PMSUSPENDED,
        _DOMAIN_STATE_MAX,
} DomainState;

/* A feature's state of one domain, kept in the feature's own file: the domain frees it with the
 * free() it carries (its first member) and knows nothing else of it. */
typedef struct DomainFeature DomainFeature;
struct DomainFeature {
        void (*free)(DomainFeature *f);
};

typedef struct Domain {
        Manager *manager;
        char *name;
        char *path;
        char uuid[UUID_STRING_MAX];
        DomainState state;
        unsigned generation;    /* connection generation that last confirmed the domain */
        /* The console-disconnect policy, the console clients and the pending action: console-policy.c's
         * state, NULL until the domain had a policy or a console client. */
        DomainFeature *console;
        /* The guest agent as GuestOS shows it (connected, the OS name and its reads): guestos-osname.c's
         * state, NULL until the agent was first seen. */
        DomainFeature *guest_agent;
        /* Lock's running task and check in flight: lock-task.c's state, NULL until a Lock came. */
        DomainFeature *lock;
        /* Logoff's running task, checks in flight and the guest OS they read: logoff-state.c's
         * state, NULL until first needed. */
        DomainFeature *logoff;
        /* ListUsers' agent query in flight: users-query.c's state, NULL until a ListUsers came. */
        DomainFeature *users;
} Domain;

typedef struct DomainRegistry {
        void *by_name;
        void *by_uuid;
        size_t n_domains;
} DomainRegistry;

const char *domain_state_to_string(int state);

/* Object path of a domain name; any name round-trips through guestos_path_to_name(). */
int guestos_path_from_name(const char *name, char **ret_path);
int guestos_path_to_name(const char *path, char **ret_name);

int domain_new(const char *name, const char *uuid, DomainState state, Domain **ret);
/* A domain going away leaves its operations to finish without it; its Logoff task must have been
 * ended first. Each feature's state goes with its free(). */
Domain *domain_free(Domain *d);
DEFINE_TRIVIAL_CLEANUP_FUNC(Domain *, domain_free);

/* add() fails with -EEXIST when the name or UUID is taken; the registry then does not own d. */
int domain_registry_add(DomainRegistry *reg, Domain *d);
void domain_registry_remove(DomainRegistry *reg, Domain *d);
Domain *domain_registry_find_by_name(DomainRegistry *reg, const char *name);
Domain *domain_registry_find_by_uuid(DomainRegistry *reg, const char *uuid);
Domain *domain_registry_find_by_path(DomainRegistry *reg, const char *path);

/* Calls f for every domain in name order; f must not add or remove domains. */
void domain_registry_foreach(DomainRegistry *reg, void (*f)(Domain *d, void *userdata), void *userdata);
/* Lists the domains first so f may remove the one it is given. */
int domain_registry_snapshot(DomainRegistry *reg, Domain ***ret, size_t *ret_n);
void domain_registry_clear(DomainRegistry *reg);
