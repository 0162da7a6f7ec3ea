/* Answers within a bound for jobs on worker threads (event loop only). A job whose owner waits is
 * answered once: by the worker's result or, when libvirt does not return in time (a worker blocked
 * in virConnectOpen() on a frozen libvirtd, which no keepalive covers), by its deadline, so no caller
 * waits forever. The job's memory stays the worker's until it returns. */
#pragma once

#include <stdbool.h>
#include <stdint.h>
#include <systemd/sd-event.h>

#include "list.h"

typedef struct JobWatch JobWatch;
struct JobWatch {
        struct JobWatchList *list;
        LIST_FIELDS(JobWatch, watches);
        sd_event_source *deadline;
        bool answered;
        uint64_t bound_usec;
        void (*expire)(JobWatch *w, bool stopping);     /* answers the owner without a result */
};

typedef struct JobWatchList {
        sd_event *event;
        LIST_HEAD(JobWatch) watches;
} JobWatchList;

/* Embed the JobWatch in the job; expire() runs at most once, on the loop, when bound_usec passed. */
void job_watch_start(JobWatchList *l, JobWatch *w, uint64_t bound_usec, void (*expire)(JobWatch *w, bool stopping));
/* The job came back from its worker: true when its owner still waits for this answer. */
bool job_watch_finish(JobWatch *w);
/* The daemon stops while some jobs are still in workers that do not return: their owners get
 * "stopping" now. The jobs stay linked (reachable) for the workers. */
void job_watch_abandon_all(JobWatchList *l);
