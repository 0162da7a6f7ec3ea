/* A pool of worker threads for calls that may block (libvirt, the guest agent). Each item runs on a
 * worker and its completion runs back on the sd-event loop, so the bus loop never waits on them. */
#pragma once

#include <stdbool.h>
#include <stdint.h>
#include <systemd/sd-event.h>

typedef struct WorkQueue WorkQueue;

/* Runs on a worker thread. */
typedef void (*work_run_t)(void *data);
/* Runs on the event loop after run() returned. `stopping` is true when the queue is being freed:
 * then the callback must only release data, not touch the bus. */
typedef void (*work_done_t)(void *data, bool stopping);

int workqueue_new(sd_event *event, const char *name, unsigned n_threads, WorkQueue **ret);
/* Refuses new items (workqueue_submit() then fails with -ESHUTDOWN) and waits for the workers to
 * finish their current one; the queue stays valid for submitters until workqueue_free(), which
 * stops it too and hands every unfinished item back with stopping = true. */
void workqueue_stop(WorkQueue *q);
/* The same, but waits only until deadline (CLOCK_MONOTONIC, µs): a worker stuck in a call that never
 * returns (a frozen libvirtd) must not hold the daemon's shutdown. -ETIMEDOUT when some worker is
 * still busy: the queue must then be left to workqueue_abandon(), never freed. */
int workqueue_stop_until(WorkQueue *q, uint64_t deadline);
/* After a workqueue_stop_until() that timed out: hands back the items that never ran (stopping =
 * true) and leaves the queue itself to the stuck workers until the process exits. */
void workqueue_abandon(WorkQueue *q);
WorkQueue *workqueue_free(WorkQueue *q);
static inline void workqueue_freep(WorkQueue **q) {
        if (*q)
                workqueue_free(*q);
}

/* Thread-safe: may be called from any thread. run may be NULL to just hop onto the event loop. */
int workqueue_submit(WorkQueue *q, work_run_t run, work_done_t done, void *data);

/* Items queued or running, for bounds and benchmarks. */
unsigned workqueue_busy(WorkQueue *q);
