/* Domain model and registry: two search trees (by name, by UUID) over the same Domain objects,
 * so lookups stay O(log n) at 10,000 domains without any per-object bus registration. */
#include <assert.h>
#include <errno.h>
#include <search.h>
#include <systemd/sd-bus.h>

#include "domain.h"
#include "operation.h"

static const char *const state_names[_DOMAIN_STATE_MAX] = {
        [DOMAIN_STATE_NOSTATE] = "nostate",
        [DOMAIN_STATE_RUNNING] = "running",
        [DOMAIN_STATE_BLOCKED] = "blocked",
        [DOMAIN_STATE_PAUSED] = "paused",
        [DOMAIN_STATE_SHUTDOWN] = "shutdown",
        [DOMAIN_STATE_SHUTOFF] = "shutoff",
        [DOMAIN_STATE_CRASHED] = "crashed",
        [DOMAIN_STATE_PMSUSPENDED] = "pmsuspended",
};

const char *domain_state_to_string(int state) {
        if (state < 0 || state >= _DOMAIN_STATE_MAX)
                return "nostate";
        return state_names[state];
}

int guestos_path_from_name(const char *name, char **ret_path) {
        if (!name || !*name)
                return -EINVAL;
        return sd_bus_path_encode(GUESTOS_PATH_PREFIX, name, ret_path);
}

int guestos_path_to_name(const char *path, char **ret_name) {
        _cleanup_free_ char *name = NULL, *canonical = NULL;
        int r;

        r = sd_bus_path_decode(path, GUESTOS_PATH_PREFIX, &name);
        if (r < 0)
                return r;
        /* sd_bus_path_decode() takes the whole rest; a domain is exactly one element below the prefix. */
        if (r == 0 || !name || !*name || strchr(path + strlen(GUESTOS_PATH_PREFIX) + 1, '/'))
                return -ENXIO;
        /* One path per domain: sd_bus_path_decode() also takes escapes the encoder never writes
         * ("_61" for "a", "_00" cutting the name short, an unescaped leading digit), which would
         * give a domain aliases (found by fuzz/fuzz-object-path). Only the canonical form counts. */
        r = guestos_path_from_name(name, &canonical);
        if (r < 0)
                return r;
        if (!streq_ptr(canonical, path))
                return -ENXIO;
        *ret_name = TAKE_PTR(name);
        return 0;
}

int domain_new(const char *name, const char *uuid, DomainState state, Domain **ret) {
        _cleanup_(domain_freep) Domain *d = NULL;
        int r;

        if (!name || !uuid || strlen(uuid) >= UUID_STRING_MAX)
                return -EINVAL;

        d = calloc(1, sizeof(*d));
        if (!d)
                return -ENOMEM;
        d->name = strdup(name);
        if (!d->name)
                return -ENOMEM;
        r = guestos_path_from_name(name, &d->path);
        if (r < 0)
                return r;
        strcpy(d->uuid, uuid);
        d->state = state;

        *ret = TAKE_PTR(d);
        return 0;
}

Domain *domain_free(Domain *d) {
        if (!d)
                return NULL;
        free(d->name);
        free(d->path);
        /* The features' own state, each through its free(). */
        DomainFeature *features[] = { d->console, d->guest_agent, d->lock, d->logoff, d->users };
        for (size_t i = 0; i < ELEMENTSOF(features); i++)
                if (features[i])
                        features[i]->free(features[i]);
        free(d);
        return NULL;
}

static int compare_name(const void *a, const void *b) {
        return strcmp(((const Domain *) a)->name, ((const Domain *) b)->name);
}

static int compare_uuid(const void *a, const void *b) {
        return strcmp(((const Domain *) a)->uuid, ((const Domain *) b)->uuid);
}

int domain_registry_add(DomainRegistry *reg, Domain *d) {
        void *node;

        if (domain_registry_find_by_name(reg, d->name) || domain_registry_find_by_uuid(reg, d->uuid))
                return -EEXIST;

        node = tsearch(d, &reg->by_name, compare_name);
        if (!node)
                return -ENOMEM;
        node = tsearch(d, &reg->by_uuid, compare_uuid);
        if (!node) {
                tdelete(d, &reg->by_name, compare_name);
                return -ENOMEM;
        }
        reg->n_domains++;
        return 0;
}

void domain_registry_remove(DomainRegistry *reg, Domain *d) {
        if (tdelete(d, &reg->by_name, compare_name))
                reg->n_domains--;
        tdelete(d, &reg->by_uuid, compare_uuid);
}

Domain *domain_registry_find_by_name(DomainRegistry *reg, const char *name) {
        Domain key = { .name = (char *) name };
        void *node;

        if (!name)
                return NULL;
        node = tfind(&key, &reg->by_name, compare_name);
        return node ? *(Domain **) node : NULL;
}

Domain *domain_registry_find_by_uuid(DomainRegistry *reg, const char *uuid) {
        Domain key = {};
        void *node;

        if (!uuid || strlen(uuid) >= UUID_STRING_MAX)
                return NULL;
        strcpy(key.uuid, uuid);
        node = tfind(&key, &reg->by_uuid, compare_uuid);
        return node ? *(Domain **) node : NULL;
}

Domain *domain_registry_find_by_path(DomainRegistry *reg, const char *path) {
        _cleanup_free_ char *name = NULL;

        if (guestos_path_to_name(path, &name) < 0)
                return NULL;
        return domain_registry_find_by_name(reg, name);
}

typedef struct WalkContext {
        void (*f)(Domain *d, void *userdata);
        void *userdata;
} WalkContext;

static void walk_one(const void *node, VISIT which, void *closure) {
        WalkContext *c = closure;

        if (which == postorder || which == leaf)
                c->f(*(Domain **) node, c->userdata);
}

void domain_registry_foreach(DomainRegistry *reg, void (*f)(Domain *d, void *userdata), void *userdata) {
        WalkContext c = { f, userdata };

        twalk_r(reg->by_name, walk_one, &c);
}

typedef struct SnapshotContext {
        Domain **domains;
        size_t n;
} SnapshotContext;

static void snapshot_one(Domain *d, void *userdata) {
        SnapshotContext *c = userdata;

        c->domains[c->n++] = d;
}

int domain_registry_snapshot(DomainRegistry *reg, Domain ***ret, size_t *ret_n) {
        SnapshotContext c = {};

        c.domains = calloc(reg->n_domains + 1, sizeof(Domain *));
        if (!c.domains)
                return -ENOMEM;
        domain_registry_foreach(reg, snapshot_one, &c);
        *ret = c.domains;
        *ret_n = c.n;
        return 0;
}

static void free_node(void *p) {
        domain_free(p);
}

static void no_free(void *p) {
}

void domain_registry_clear(DomainRegistry *reg) {
        tdestroy(reg->by_uuid, no_free);
        tdestroy(reg->by_name, free_node);
        *reg = (DomainRegistry) {};
}
