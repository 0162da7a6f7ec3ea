/* See logoff-state.h. */
#include <assert.h>
#include <stdlib.h>

#include "logoff-state.h"
#include "operation.h"

static void state_free(DomainFeature *f) {
        LogoffState *s = (LogoffState *) f;

        /* The domain's Logoff task must have been ended first (domain_free()). */
        assert(!s->task);
        operation_detach(s->guest_check);
        operation_detach(s->state_check);
        free(s);
}

LogoffState *logoff_state_get(Domain *d) {
        LogoffState *s;

        if (d->logoff)
                return (LogoffState *) d->logoff;
        s = calloc(1, sizeof(*s));
        if (!s)
                return NULL;
        s->feature.free = state_free;
        d->logoff = &s->feature;
        return s;
}

Task *logoff_task_running(const Domain *d) {
        return d->logoff ? ((LogoffState *) d->logoff)->task : NULL;
}

GuestOsKind logoff_state_known_guest_os(const Domain *d, unsigned generation) {
        const LogoffState *s = d ? (const LogoffState *) d->logoff : NULL;

        return s && s->guest_os_generation == generation ? s->guest_os : GUEST_OS_UNKNOWN;
}

void logoff_state_remember_guest_os(Domain *d, GuestOsKind os, unsigned generation) {
        LogoffState *s;

        /* Forgetting needs no state: none means unknown. */
        if (os == GUEST_OS_UNKNOWN && !d->logoff)
                return;
        s = logoff_state_get(d);
        if (!s)
                return;
        s->guest_os = os;
        s->guest_os_generation = generation;
}
