/* What the Logoff feature keeps per domain: its running task, the guest check and state query in
 * flight with their parked calls, and the guest OS a check read (which Lock and the console policy
 * reuse, as they run the same check). The domain reaches it by one pointer (d->logoff) and frees it
 * through its DomainFeature; it is made on first use. */
#pragma once

#include "guest-os.h"
#include "vpc-guestosd.h"

typedef struct LogoffState {
        DomainFeature feature;          /* first: the domain frees the state through it */
        Task *task;                     /* the Logoff task running on the domain (task_link()) */
        Operation *guest_check;         /* Logoff's check of the guest in flight, with its parked calls */
        Operation *state_check;         /* the state query in flight before a VmNotRunning, likewise */
        /* The guest's OS as guest-get-osinfo said during a check, kept so later checks ask
         * guest-info alone; GUEST_OS_UNKNOWN until then, and again once the agent connects anew (a
         * domain that stopped and started, or a reboot) or the connection to libvirt was lost (a
         * restart in between could not be seen). */
        GuestOsKind guest_os;
        unsigned guest_os_generation;
} LogoffState;

/* d's Logoff state, made on first use; NULL when out of memory. */
LogoffState *logoff_state_get(Domain *d);
/* The Logoff task running on d, or NULL. */
Task *logoff_task_running(const Domain *d);

/* The guest OS a check of d read: GUEST_OS_UNKNOWN when none was read since its agent last
 * connected, or since connection `generation` began (also for d NULL). */
GuestOsKind logoff_state_known_guest_os(const Domain *d, unsigned generation);
/* Keeps os for later checks; silently nothing when out of memory (the next check asks again). */
void logoff_state_remember_guest_os(Domain *d, GuestOsKind os, unsigned generation);
