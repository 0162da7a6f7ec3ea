/* The one job shape: a job runs on a worker and is answered on the event loop once (finished,
 * expired past its bound, or stopping), then given back; a stopped queue refuses new jobs but stays
 * valid (libvirt's callbacks may still submit while the daemon stops); freeing hands every unfinished
 * job back as stopping. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>
#include <errno.h>
#include <pthread.h>
#include <stdatomic.h>
#include <unistd.h>

#include "util.h"
#include "workqueue.h"

typedef struct Item {
        Job job;                /* first: the callbacks cast back */
        atomic_bool started;
        atomic_bool ran;
        pthread_t ran_on;
        unsigned done_calls;
        JobEnd end;
        unsigned release_calls;
        bool release_stopping;
        bool ran_before_release;
        /* Keeps the only worker busy until released, so later items stay queued. */
        pthread_mutex_t *gate;
} Item;

static void item_run(Job *job) {
        Item *i = (Item *) job;

        atomic_store(&i->started, true);
        if (i->gate) {
                pthread_mutex_lock(i->gate);
                pthread_mutex_unlock(i->gate);
        }
        i->ran_on = pthread_self();
        atomic_store(&i->ran, true);
}

static void item_done(Job *job, JobEnd end) {
        Item *i = (Item *) job;

        i->done_calls++;
        i->end = end;
}

static void item_release(Job *job, bool stopping) {
        Item *i = (Item *) job;

        assert_int_equal(i->done_calls, 1);     /* answered before it is given back */
        i->release_calls++;
        i->release_stopping = stopping;
        i->ran_before_release = atomic_load(&i->ran);
}

static const JobOps item_ops = { .run = item_run, .done = item_done, .release = item_release };
static const JobOps hop_ops = { .done = item_done, .release = item_release };

/* Runs the loop until the condition holds (bounded: the test fails rather than hangs). */
#define RUN_UNTIL(e, cond)                                                              \
        for (unsigned _n = 0; !(cond) && _n < 1000; _n++)                              \
                assert_true(sd_event_run((e), 10 * USEC_PER_MSEC) >= 0)

static void test_item_runs_on_worker_and_completes_on_loop(void **state) {
        _cleanup_(sd_event_unrefp) sd_event *e = NULL;
        WorkQueue *q = NULL;
        Item i = { .job.ops = &item_ops }, hop = { .job.ops = &hop_ops };

        assert_int_equal(sd_event_new(&e), 0);
        assert_int_equal(workqueue_new(e, "test", 2, &q), 0);
        assert_int_equal(workqueue_submit(q, &i.job), 0);
        assert_int_equal(workqueue_submit(q, &hop.job), 0);
        RUN_UNTIL(e, i.release_calls > 0 && hop.release_calls > 0);
        assert_true(atomic_load(&i.ran));
        assert_false(pthread_equal(i.ran_on, pthread_self()));
        assert_int_equal(i.done_calls, 1);
        assert_int_equal(i.end, JOB_FINISHED);
        assert_int_equal(i.release_calls, 1);
        assert_false(i.release_stopping);
        assert_int_equal(hop.end, JOB_FINISHED);
        assert_int_equal(hop.release_calls, 1);
        assert_int_equal(workqueue_busy(q), 0);
        workqueue_free(q);
        assert_int_equal(i.done_calls, 1);
        assert_int_equal(i.release_calls, 1);
}

static void test_bounded_job_expires_then_is_given_back(void **state) {
        _cleanup_(sd_event_unrefp) sd_event *e = NULL;
        pthread_mutex_t gate = PTHREAD_MUTEX_INITIALIZER;
        WorkQueue *q = NULL;
        Item i = { .job = { .ops = &item_ops, .bound_usec = 20 * USEC_PER_MSEC }, .gate = &gate };
        Item quick = { .job = { .ops = &item_ops, .bound_usec = 3600 * USEC_PER_SEC } };

        assert_int_equal(sd_event_new(&e), 0);
        assert_int_equal(workqueue_new(e, "test", 2, &q), 0);

        /* A job that returns within its bound is answered by its result, and its deadline is gone. */
        assert_int_equal(workqueue_submit(q, &quick.job), 0);
        RUN_UNTIL(e, quick.release_calls > 0);
        assert_int_equal(quick.end, JOB_FINISHED);

        pthread_mutex_lock(&gate);
        assert_int_equal(workqueue_submit(q, &i.job), 0);
        /* The worker is held: the owner hears EXPIRED, and the job stays the worker's. */
        RUN_UNTIL(e, i.done_calls > 0);
        assert_int_equal(i.done_calls, 1);
        assert_int_equal(i.end, JOB_EXPIRED);
        assert_int_equal(i.release_calls, 0);
        pthread_mutex_unlock(&gate);
        RUN_UNTIL(e, i.release_calls > 0);
        assert_int_equal(i.done_calls, 1);      /* no second answer */
        assert_int_equal(i.release_calls, 1);
        assert_false(i.release_stopping);
        assert_true(i.ran_before_release);
        workqueue_free(q);
        assert_int_equal(quick.done_calls, 1);
        assert_int_equal(quick.release_calls, 1);
}

static void test_stopped_queue_refuses_and_free_hands_back(void **state) {
        _cleanup_(sd_event_unrefp) sd_event *e = NULL;
        pthread_mutex_t gate = PTHREAD_MUTEX_INITIALIZER;
        WorkQueue *q = NULL;
        Item busy = { .job.ops = &item_ops, .gate = &gate }, queued = { .job.ops = &item_ops },
             late = { .job.ops = &item_ops }, hop = { .job.ops = &hop_ops };

        assert_int_equal(sd_event_new(&e), 0);
        assert_int_equal(workqueue_new(e, "test", 1, &q), 0);

        pthread_mutex_lock(&gate);
        assert_int_equal(workqueue_submit(q, &busy.job), 0);
        assert_int_equal(workqueue_submit(q, &queued.job), 0);
        assert_int_equal(workqueue_busy(q), 2);
        /* Wait (bounded) until the worker is inside the first item, then let it go. */
        for (unsigned n = 0; !atomic_load(&busy.started) && n < 10000; n++)
                usleep(1000);
        assert_true(atomic_load(&busy.started));
        pthread_mutex_unlock(&gate);

        workqueue_stop(q);
        workqueue_stop(q);      /* twice is harmless */
        assert_true(atomic_load(&busy.ran));    /* the current item finished before stop returned */

        /* Stopped, not freed: submitting is safe and refused, with or without a run function. */
        assert_int_equal(workqueue_submit(q, &late.job), -ESHUTDOWN);
        assert_int_equal(workqueue_submit(q, &hop.job), -ESHUTDOWN);

        workqueue_free(q);
        assert_int_equal(busy.done_calls, 1);
        assert_int_equal(busy.end, JOB_STOPPING);
        assert_int_equal(busy.release_calls, 1);
        assert_true(busy.release_stopping);
        /* The queued item may or may not have run before the stop, but it comes back exactly once. */
        assert_int_equal(queued.done_calls, 1);
        assert_int_equal(queued.end, JOB_STOPPING);
        assert_int_equal(queued.release_calls, 1);
        assert_int_equal(late.done_calls, 0);
        assert_int_equal(late.release_calls, 0);
        assert_false(atomic_load(&late.ran));
        assert_int_equal(hop.done_calls, 0);
}

int main(void) {
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(test_item_runs_on_worker_and_completes_on_loop),
                cmocka_unit_test(test_bounded_job_expires_then_is_given_back),
                cmocka_unit_test(test_stopped_queue_refuses_and_free_hands_back),
        };

        return cmocka_run_group_tests(tests, NULL, NULL);
}
