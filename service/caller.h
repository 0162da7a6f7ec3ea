/* What the daemon keeps per bus client (a unique name): its credentials, asked of the bus daemon once
 * (a unique name never changes owner), and the calls it has parked (authorization checks,
 * WaitForCompletion), counted for the per-caller bounds. Each caller is watched with a match on its
 * own NameOwnerChanged (as sd_bus_track does): when it leaves the bus, every parked call of its hears
 * so through its CallerLink, and the caller goes. */
#pragma once

#include <stdbool.h>
#include <sys/types.h>
#include <systemd/sd-bus.h>

#include "list.h"
#include "util.h"

#define UID_INVALID ((uid_t) -1)

typedef struct CallerCreds {
        uid_t uid;
        pid_t pid;              /* 0 when unknown */
} CallerCreds;

typedef enum CallerLinkKind {
        CALLER_LINK_AUTHORIZATION,
        CALLER_LINK_WAITER,
        _CALLER_LINK_KIND_MAX,
} CallerLinkKind;

typedef struct Caller Caller;
typedef struct CallerRegistry CallerRegistry;

/* Embedded in whatever a caller parks. gone() runs when the caller left the bus (the link is off the
 * caller by then); creds_ready(), if set, when a question for the credentials was answered (read
 * them with caller_creds()). Either may unlink its own link, and no other. */
typedef struct CallerLink CallerLink;
struct CallerLink {
        Caller *caller;
        LIST_FIELDS(CallerLink, links);
        CallerLinkKind kind;
        void (*gone)(CallerLink *link);
        void (*creds_ready)(CallerLink *link);
};

int caller_registry_new(sd_bus *bus, CallerRegistry **ret);
/* Every link hears gone() first: nothing parked outlives the registry. */
CallerRegistry *caller_registry_free(CallerRegistry *reg);
DEFINE_TRIVIAL_CLEANUP_FUNC(CallerRegistry *, caller_registry_free);

/* The caller of that unique name, watched from now on; its credentials are asked at once. */
int caller_get(CallerRegistry *reg, const char *name, Caller **ret);
unsigned caller_count(Caller *c, CallerLinkKind kind);

void caller_link(Caller *c, CallerLink *link, CallerLinkKind kind, void (*gone)(CallerLink *link),
                 void (*creds_ready)(CallerLink *link));
void caller_unlink(CallerLink *link);

/* 1 with *ret filled when the credentials are known; 0 while the bus daemon is being asked (the
 * links' creds_ready() run when it answered); -EIO when it could not tell (then a later call asks
 * again). */
int caller_creds(Caller *c, CallerCreds *ret);
