/* The path an authorized call on a domain takes before its task starts, shared by Logoff and Lock:
 * it joins the domain's running task of that feature, or waits on the domain's check of its guest
 * (logoff-check.c's; or first a fresh look at the domain's state while the registry says it is not
 * running, since the registry may lag behind an event still on its way), and then the feature
 * starts or joins a task, or the call hears an error. One check of each kind per domain and
 * feature at a time (operation.c): calls that come while one is in flight wait for it, so a flood
 * queues one libvirt call per domain, not one per call. Each call is answered once and audited. */
#pragma once

#include "bus-request.h"
#include "guest-os.h"
#include "vpc-guestosd.h"

/* What a feature hands the shared path. */
typedef struct DomainRequestFeature {
        /* d's running task of the feature, or NULL. */
        Task *(*running)(const Domain *d);
        /* The slots of d's checks in flight (the feature's state, made on first use); -ENOMEM. */
        int (*checks)(Domain *d, Operation ***ret_guest_check, Operation ***ret_state_check);
        /* The guest passed its check (it runs os): start a task, or join the one that runs now, and
         * answer req (domain_request_answer_task(), or bus_request_refuse()). */
        void (*start)(Manager *m, Domain *d, const BusRequest *req, GuestOsKind os);
} DomainRequestFeature;

/* req: authorized, on d. */
void domain_request(Manager *m, Domain *d, const BusRequest *req, const DomainRequestFeature *f);
/* Answers req with task t's path, audited as allowed. */
void domain_request_answer_task(const BusRequest *req, Task *t);
