/* See caller.h. sd_bus_track_add_name() would check that the name exists with a synchronous call to
 * the bus daemon; here the same filtered match is added asynchronously, and the credentials question
 * sent after it on the same connection tells of a caller that left before the match was in place
 * (the bus daemon answers in order). Callers with nothing parked are kept, with their credentials,
 * up to IDLE_MAX of them (oldest out), so a client's next call needs no round trip; each watched
 * name costs one match on the bus daemon, which bounds how many are kept. */
#include <errno.h>
#include <search.h>
#include <stdio.h>

#include "caller.h"
#include "log.h"

#define IDLE_MAX 256

typedef enum CredsState {
        CREDS_ASKING,
        CREDS_KNOWN,
        CREDS_FAILED,
} CredsState;

struct Caller {
        CallerRegistry *registry;
        char *name;
        sd_bus_slot *match_slot;
        LIST_HEAD(CallerLink) links;    /* newest first */
        unsigned counts[_CALLER_LINK_KIND_MAX];

        CredsState creds_state;
        CallerCreds creds;
        sd_bus_slot *creds_slot;

        LIST_FIELDS(Caller, idle);      /* in the registry's idle list while nothing is parked */
        bool idle;
        bool dying;                     /* caller_free() runs: its links go, it does not turn idle */
};

struct CallerRegistry {
        sd_bus *bus;
        void *by_name;
        LIST_HEAD(Caller) idle;         /* oldest first */
        size_t n_idle;
};

static int compare_name(const void *a, const void *b) {
        return strcmp(((const Caller *) a)->name, ((const Caller *) b)->name);
}

static void idle_remove(Caller *c) {
        CallerRegistry *reg = c->registry;

        if (!c->idle)
                return;
        LIST_REMOVE(idle, reg->idle, c);
        c->idle = false;
        reg->n_idle--;
}

/* The caller left (or the registry goes, or it was idle too long): everything parked hears so. */
static void caller_free(Caller *c) {
        CallerRegistry *reg = c->registry;

        c->dying = true;
        idle_remove(c);
        tdelete(c, &reg->by_name, compare_name);
        while (c->links.first) {
                CallerLink *l = c->links.first;

                caller_unlink(l);
                l->gone(l);
        }
        sd_bus_slot_unref(c->creds_slot);
        sd_bus_slot_unref(c->match_slot);
        free(c->name);
        free(c);
}

static void idle_add(Caller *c) {
        CallerRegistry *reg = c->registry;

        if (c->idle || c->dying || !LIST_IS_EMPTY(c->links) || c->creds_state == CREDS_ASKING)
                return;
        c->idle = true;
        LIST_APPEND(idle, reg->idle, c);
        reg->n_idle++;
        while (reg->n_idle > IDLE_MAX)
                caller_free(reg->idle.first);
}

static int on_name_owner_changed(sd_bus_message *message, void *userdata, sd_bus_error *error) {
        Caller *c = userdata;
        const char *name, *old_owner, *new_owner;

        if (sd_bus_message_read(message, "sss", &name, &old_owner, &new_owner) < 0)
                return 0;
        if (streq_ptr(name, c->name) && !*new_owner)
                caller_free(c);
        return 0;
}

static int parse_creds(sd_bus_message *reply, CallerCreds *ret) {
        bool have_uid = false;
        int r;

        *ret = (CallerCreds) { .uid = UID_INVALID };
        r = sd_bus_message_enter_container(reply, 'a', "{sv}");
        while (r > 0) {
                const char *key;
                uint32_t value;

                r = sd_bus_message_enter_container(reply, 'e', "sv");
                if (r <= 0)
                        break;
                r = sd_bus_message_read(reply, "s", &key);
                if (r < 0)
                        break;
                if (streq_ptr(key, "UnixUserID") || streq_ptr(key, "ProcessID")) {
                        r = sd_bus_message_read(reply, "v", "u", &value);
                        if (r < 0)
                                break;
                        if (streq_ptr(key, "UnixUserID")) {
                                ret->uid = value;
                                have_uid = true;
                        } else
                                ret->pid = (pid_t) value;
                } else {
                        r = sd_bus_message_skip(reply, "v");
                        if (r < 0)
                                break;
                }
                r = sd_bus_message_exit_container(reply);
        }
        if (r < 0 || !have_uid) {
                *ret = (CallerCreds) { .uid = UID_INVALID };
                return -EIO;
        }
        return 0;
}

static int on_creds_reply(sd_bus_message *reply, void *userdata, sd_bus_error *ret_error) {
        Caller *c = userdata;
        const sd_bus_error *e = sd_bus_message_get_error(reply);

        c->creds_slot = sd_bus_slot_unref(c->creds_slot);
        if (e && sd_bus_error_has_name(e, "org.freedesktop.DBus.Error.NameHasNoOwner")) {
                /* It left before its match was in place. */
                caller_free(c);
                return 0;
        }
        c->creds_state = !e && parse_creds(reply, &c->creds) >= 0 ? CREDS_KNOWN : CREDS_FAILED;
        if (c->creds_state == CREDS_FAILED)
                log_warning("cannot read the credentials of %s: %s", c->name,
                            e ? strempty(e->message) : "malformed answer");

        LIST_FOREACH_SAFE(links, l, c->links)
                if (l->creds_ready)
                        l->creds_ready(l);
        idle_add(c);
        return 0;
}

static int ask_creds(Caller *c) {
        int r;

        r = sd_bus_call_method_async(c->registry->bus, &c->creds_slot, "org.freedesktop.DBus",
                                     "/org/freedesktop/DBus", "org.freedesktop.DBus",
                                     "GetConnectionCredentials", on_creds_reply, c, "s", c->name);
        if (r < 0)
                return r;
        idle_remove(c);
        c->creds_state = CREDS_ASKING;
        return 0;
}

/* Unique names are ':' and dot-separated elements of [A-Za-z0-9_-]: nothing that needs quoting in a
 * match rule. */
static bool unique_name_is_valid(const char *name) {
        if (!name || name[0] != ':' || !name[1] || strlen(name) > 255)
                return false;
        for (const char *p = name + 1; *p; p++)
                if (!(*p == '.' || *p == '_' || *p == '-' || (*p >= '0' && *p <= '9') ||
                      (*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z')))
                        return false;
        return true;
}

int caller_get(CallerRegistry *reg, const char *name, Caller **ret) {
        Caller key = { .name = (char *) name }, *c;
        _cleanup_free_ char *match = NULL;
        void *node;
        int r;

        if (!unique_name_is_valid(name))
                return -EINVAL;
        node = tfind(&key, &reg->by_name, compare_name);
        if (node) {
                c = *(Caller **) node;
                if (c->creds_state == CREDS_FAILED) {
                        r = ask_creds(c);
                        if (r < 0)
                                return r;
                }
                *ret = c;
                return 0;
        }

        if (asprintf(&match, "type='signal',sender='org.freedesktop.DBus',path='/org/freedesktop/DBus',"
                     "interface='org.freedesktop.DBus',member='NameOwnerChanged',arg0='%s'", name) < 0)
                return -ENOMEM;
        c = calloc(1, sizeof(*c));
        if (!c)
                return -ENOMEM;
        c->registry = reg;
        c->name = strdup(name);
        r = c->name ? 0 : -ENOMEM;
        if (r >= 0)
                r = sd_bus_add_match_async(reg->bus, &c->match_slot, match, on_name_owner_changed, NULL, c);
        if (r >= 0)
                r = ask_creds(c);
        if (r >= 0 && !tsearch(c, &reg->by_name, compare_name))
                r = -ENOMEM;
        if (r < 0) {
                sd_bus_slot_unref(c->creds_slot);
                sd_bus_slot_unref(c->match_slot);
                free(c->name);
                free(c);
                return r;
        }
        *ret = c;
        return 0;
}

unsigned caller_count(Caller *c, CallerLinkKind kind) {
        return c->counts[kind];
}

void caller_link(Caller *c, CallerLink *link, CallerLinkKind kind, void (*gone)(CallerLink *link),
                 void (*creds_ready)(CallerLink *link)) {
        idle_remove(c);
        *link = (CallerLink) { .caller = c, .kind = kind, .gone = gone, .creds_ready = creds_ready };
        LIST_PREPEND(links, c->links, link);
        c->counts[kind]++;
}

void caller_unlink(CallerLink *link) {
        Caller *c = link->caller;

        if (!c)
                return;
        LIST_REMOVE(links, c->links, link);
        c->counts[link->kind]--;
        link->caller = NULL;
        idle_add(c);
}

int caller_creds(Caller *c, CallerCreds *ret) {
        switch (c->creds_state) {
        case CREDS_KNOWN:
                *ret = c->creds;
                return 1;
        case CREDS_FAILED:
                *ret = (CallerCreds) { .uid = UID_INVALID };
                return -EIO;
        default:
                *ret = (CallerCreds) { .uid = UID_INVALID };
                return 0;
        }
}

int caller_registry_new(sd_bus *bus, CallerRegistry **ret) {
        CallerRegistry *reg = calloc(1, sizeof(*reg));

        if (!reg)
                return -ENOMEM;
        reg->bus = sd_bus_ref(bus);
        *ret = reg;
        return 0;
}

CallerRegistry *caller_registry_free(CallerRegistry *reg) {
        if (!reg)
                return NULL;
        while (reg->by_name)
                caller_free(*(Caller **) reg->by_name);
        sd_bus_unref(reg->bus);
        free(reg);
        return NULL;
}
