/* The worker queue's contract: items run on a worker and complete on the event loop; a stopped
 * queue refuses new items but stays valid (libvirt's callbacks may still submit while the daemon
 * stops); freeing hands every unfinished item back with stopping = true. */
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
        atomic_bool started;
        atomic_bool ran;
        pthread_t ran_on;
        unsigned done_calls;
        bool done_stopping;
        /* Keeps the only worker busy until released, so later items stay queued. */
        pthread_mutex_t *gate;
} Item;

static void item_run(void *data) {
        Item *i = data;

        atomic_store(&i->started, true);
        if (i->gate) {
                pthread_mutex_lock(i->gate);
                pthread_mutex_unlock(i->gate);
        }
        i->ran_on = pthread_self();
        atomic_store(&i->ran, true);
}

static void item_done(void *data, bool stopping) {
        Item *i = data;

        i->done_calls++;
        i->done_stopping = stopping;
}

/* Runs the loop until the item completed (bounded: the test fails rather than hangs). */
static void run_until_done(sd_event *e, Item *i) {
        for (unsigned n = 0; i->done_calls == 0 && n < 1000; n++)
                assert_true(sd_event_run(e, 10 * USEC_PER_MSEC) >= 0);
}

static void test_item_runs_on_worker_and_completes_on_loop(void **state) {
        _cleanup_(sd_event_unrefp) sd_event *e = NULL;
        WorkQueue *q = NULL;
        Item i = {};

        assert_int_equal(sd_event_new(&e), 0);
        assert_int_equal(workqueue_new(e, "test", 2, &q), 0);
        assert_int_equal(workqueue_submit(q, item_run, item_done, &i), 0);
        run_until_done(e, &i);
        assert_true(atomic_load(&i.ran));
        assert_false(pthread_equal(i.ran_on, pthread_self()));
        assert_int_equal(i.done_calls, 1);
        assert_false(i.done_stopping);
        assert_int_equal(workqueue_busy(q), 0);
        workqueue_free(q);
        assert_int_equal(i.done_calls, 1);
}

static void test_stopped_queue_refuses_and_free_hands_back(void **state) {
        _cleanup_(sd_event_unrefp) sd_event *e = NULL;
        pthread_mutex_t gate = PTHREAD_MUTEX_INITIALIZER;
        WorkQueue *q = NULL;
        Item busy = { .gate = &gate }, queued = {}, late = {}, hop = {};

        assert_int_equal(sd_event_new(&e), 0);
        assert_int_equal(workqueue_new(e, "test", 1, &q), 0);

        pthread_mutex_lock(&gate);
        assert_int_equal(workqueue_submit(q, item_run, item_done, &busy), 0);
        assert_int_equal(workqueue_submit(q, item_run, item_done, &queued), 0);
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
        assert_int_equal(workqueue_submit(q, item_run, item_done, &late), -ESHUTDOWN);
        assert_int_equal(workqueue_submit(q, NULL, item_done, &hop), -ESHUTDOWN);

        workqueue_free(q);
        assert_int_equal(busy.done_calls, 1);
        assert_true(busy.done_stopping);
        /* The queued item may or may not have run before the stop, but it comes back exactly once. */
        assert_int_equal(queued.done_calls, 1);
        assert_true(queued.done_stopping);
        assert_int_equal(late.done_calls, 0);
        assert_false(atomic_load(&late.ran));
        assert_int_equal(hop.done_calls, 0);
}

int main(void) {
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(test_item_runs_on_worker_and_completes_on_loop),
                cmocka_unit_test(test_stopped_queue_refuses_and_free_hands_back),
        };

        return cmocka_run_group_tests(tests, NULL, NULL);
}
