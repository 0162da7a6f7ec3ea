/* A pool of worker threads for calls that may block (libvirt, the guest agent), and the one shape of
 * every asynchronous job: a Job runs on a worker and is answered on the sd-event loop, once, within
 * an optional bound, so the bus loop never waits on a thread and no caller waits forever. */
#pragma once

#include <stdbool.h>
#include <stdint.h>
#include <systemd/sd-event.h>

#include "list.h"

typedef struct WorkQueue WorkQueue;
typedef struct Job Job;

/* Why a job was answered. */
typedef enum JobEnd {
        JOB_FINISHED,   /* run() returned in time: its results are there to read */
        JOB_EXPIRED,    /* the bound passed first: run() may still be using the job */
        JOB_STOPPING,   /* the queue is being freed: only release the owner's state, do not touch the bus */
} JobEnd;

typedef struct JobOps {
        /* Worker thread; NULL just hops onto the event loop. */
        void (*run)(Job *j);
        /* Event loop, exactly once: answers the owner. May be NULL when nobody waits. */
        void (*done)(Job *j, JobEnd end);
        /* Event loop, after done(), once the worker gave the job back (for an expired job: when run()
         * returned at last): the owner frees it, or submits it again. stopping: the queue is being
         * freed and run() may never have run. May be NULL when the job is not allocated. */
        void (*release)(Job *j, bool stopping);
} JobOps;

/* Embedded in the owner's job struct (container_of() or first member). Fill ops and bound_usec, zero
 * the rest. The job's memory is the queue's from workqueue_submit() until release() is called. */
struct Job {
        const JobOps *ops;
        uint64_t bound_usec;    /* 0: no deadline; else done(EXPIRED) when run() takes longer */

        /* The queue's. */
        Job *next;
        WorkQueue *queue;
        LIST_FIELDS(Job, bounded);
        sd_event_source *deadline;
        bool answered;
};

int workqueue_new(sd_event *event, const char *name, unsigned n_threads, WorkQueue **ret);
/* Refuses new jobs (workqueue_submit() then fails with -ESHUTDOWN) and waits for the workers to
 * finish their current one; the queue stays valid for submitters until workqueue_free(), which
 * stops it too and hands every unfinished job back with JOB_STOPPING. */
void workqueue_stop(WorkQueue *q);
/* The same, but waits only until deadline (CLOCK_MONOTONIC, µs): a worker stuck in a call that never
 * returns (a frozen libvirtd) must not hold the daemon's shutdown. -ETIMEDOUT when some worker is
 * still busy: the queue must then be left to workqueue_abandon(), never freed. */
int workqueue_stop_until(WorkQueue *q, uint64_t deadline);
/* After a workqueue_stop_until() that timed out: answers every bounded job still unanswered with
 * JOB_STOPPING, hands back the jobs that never ran or finished, and leaves the queue and the jobs of
 * the stuck workers (still linked, so reachable) to those workers until the process exits. */
void workqueue_abandon(WorkQueue *q);
WorkQueue *workqueue_free(WorkQueue *q);
static inline void workqueue_freep(WorkQueue **q) {
        if (*q)
                workqueue_free(*q);
}

/* Thread-safe for jobs without a bound; a bounded job arms its deadline on the sd-event loop, so it
 * must be submitted there. On failure the job is not the queue's: the caller frees it. */
int workqueue_submit(WorkQueue *q, Job *j);

/* Jobs queued or running, for bounds and benchmarks. */
unsigned workqueue_busy(WorkQueue *q);
