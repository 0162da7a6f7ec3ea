/* Task life cycle without a bus peer: creation, progress, completion (success, Cancelled, errors),
 * the engine being stopped once, the domain's running-task link, retention and the max-tasks bound.
 * The sd_bus here is never connected, so the signals the task emits go nowhere; the integration
 * tests watch them on a real bus. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>
#include <errno.h>

#include "task.h"

typedef struct FakeEngine {
        unsigned stops;
        unsigned releases;
} FakeEngine;

static void engine_stop(Task *t) {
        ((FakeEngine *) t->engine)->stops++;
}

static void engine_release(Task *t) {
        ((FakeEngine *) t->engine)->releases++;
}

static const TaskOps ops = { .stop = engine_stop, .release = engine_release };

typedef struct Fixture {
        TaskRegistry m;
        DomainRegistry domains;
        Domain *d;
        FakeEngine e[4];        /* outlive the test body: teardown releases the tasks */
} Fixture;

static int setup(void **state) {
        Fixture *f = calloc(1, sizeof(*f));

        sd_event *event = NULL;
        sd_bus *bus = NULL;

        assert_int_equal(sd_event_new(&event), 0);
        assert_int_equal(sd_bus_new(&bus), 0);
        task_registry_init(&f->m, event, bus, NULL, NULL, &(TaskOptions) { .task_retention_sec = 300, .max_tasks = 2 });
        assert_int_equal(domain_new("web server 01", "11111111-1111-1111-1111-111111111111", DOMAIN_STATE_RUNNING, &f->d), 0);
        assert_int_equal(domain_registry_add(&f->domains, f->d), 0);
        *state = f;
        return 0;
}

static int teardown(void **state) {
        Fixture *f = *state;

        task_remove_all(&f->m);
        domain_registry_clear(&f->domains);
        sd_bus_unref(f->m.bus);
        sd_event_unref(f->m.event);
        free(f);
        return 0;
}

static void test_new_task(void **state) {
        Fixture *f = *state;
                Task *t;

        assert_int_equal(task_new(&f->m, "Logoff", f->d, 1000, &ops, &f->e[0], &t), 0);
        assert_string_equal(t->path, "/org/vpc/Task/1");
        assert_string_equal(t->target_path, "/org/vpc/GuestOS/web_20server_2001");
        assert_string_equal(t->description, "Logoff");
        assert_int_equal(t->owner, 1000);
        assert_false(t->complete);
        assert_int_equal(t->percent, 0);
        assert_int_equal(vpc_error_hresult(t->error), 0);
        assert_true(t->started_usec > 0);
        assert_int_equal(t->finished_usec, 0);
        assert_ptr_equal(task_find_by_path(&f->m, "/org/vpc/Task/1"), t);
        assert_null(task_find_by_path(&f->m, "/org/vpc/Task/01"));
        assert_null(task_find_by_path(&f->m, "/org/vpc/Task/2"));
        assert_null(task_find_by_path(&f->m, "/org/vpc/Task/1x"));
}

static void test_progress_and_success(void **state) {
        Fixture *f = *state;
        Task *t, *running = NULL;       /* a feature's pointer to its running task */

        assert_int_equal(task_new(&f->m, "Logoff", f->d, 0, &ops, &f->e[0], &t), 0);
        task_link(t, &running);
        task_set_progress(t, 50);
        assert_int_equal(t->percent, 50);
        task_set_progress(t, 101);              /* out of range: ignored */
        assert_int_equal(t->percent, 50);

        task_complete(t, VPC_OK, NULL);
        assert_true(t->complete);
        assert_int_equal(t->percent, 100);
        assert_int_equal(t->error, VPC_OK);
        assert_null(t->error_message);
        assert_true(t->finished_usec >= t->started_usec);
        assert_int_equal(f->e[0].stops, 1);
        assert_null(running);                   /* the next Logoff starts a new task */

        /* A finished task changes no more. */
        task_complete(t, VPC_ERROR_CANCELLED, "late");
        task_set_progress(t, 10);
        assert_int_equal(t->error, VPC_OK);
        assert_int_equal(t->percent, 100);
        assert_int_equal(f->e[0].stops, 1);
}

static void test_cancelled(void **state) {
        Fixture *f = *state;
                Task *t;

        assert_int_equal(task_new(&f->m, "Logoff", f->d, 1000, &ops, &f->e[0], &t), 0);
        task_set_progress(t, 33);
        task_complete(t, VPC_ERROR_CANCELLED, "cancelled by uid 1000");
        assert_true(t->complete);
        assert_int_equal(vpc_error_hresult(t->error), 0x800704C7);
        assert_string_equal(t->error_message, "0x800704C7: cancelled by uid 1000");
        assert_int_equal(t->percent, 33);       /* progress stays where the cancel found it */
        assert_int_equal(f->e[0].stops, 1);
}

static void test_max_tasks(void **state) {
        Fixture *f = *state;
                Task *t[4];

        for (int i = 0; i < 4; i++)
                assert_int_equal(task_new(&f->m, "Logoff", f->d, 0, &ops, &f->e[i], &t[i]), 0);
        assert_int_equal(f->m.n_tasks, 4);

        /* Running tasks are never dropped, whatever the bound. */
        task_complete(t[0], VPC_ERROR_TIMEOUT, "slow");
        task_complete(t[1], VPC_OK, NULL);
        assert_int_equal(f->m.n_tasks, 4);
        task_complete(t[2], VPC_OK, NULL);
        /* Three finished, two kept: the oldest finished one went, and was released. */
        assert_int_equal(f->m.n_tasks, 3);
        assert_int_equal(f->m.n_finished, 2);
        assert_int_equal(f->e[0].releases, 1);
        assert_null(task_find_by_path(&f->m, "/org/vpc/Task/1"));
        assert_non_null(task_find_by_path(&f->m, "/org/vpc/Task/4"));
        assert_false(t[3]->complete);
}

static void test_retention(void **state) {
        Fixture *f = *state;
                Task *t;

        f->m.options.task_retention_sec = 0;
        assert_int_equal(task_new(&f->m, "Logoff", f->d, 0, &ops, &f->e[0], &t), 0);
        task_complete(t, VPC_OK, NULL);
        assert_int_equal(f->m.n_tasks, 1);
        /* The retention timer fires on the next loop iteration. */
        for (int i = 0; i < 10 && f->m.n_tasks > 0; i++)
                assert_true(sd_event_run(f->m.event, 100 * 1000) >= 0);
        assert_int_equal(f->m.n_tasks, 0);
        assert_int_equal(f->e[0].releases, 1);
}

static void test_path_to_id(void **state) {
        uint64_t id;

        assert_int_equal(task_path_to_id("/org/vpc/Task/42", &id), 0);
        assert_int_equal(id, 42);
        assert_true(task_path_to_id("/org/vpc/Task/0", &id) < 0);
        assert_true(task_path_to_id("/org/vpc/Task/-1", &id) < 0);
        assert_true(task_path_to_id("/org/vpc/Task/", &id) < 0);
        assert_true(task_path_to_id("/org/vpc/Task/99999999999999999999999", &id) < 0);
        assert_true(task_path_to_id("/org/vpc/GuestOS/1", &id) < 0);
        assert_true(task_path_to_id(NULL, &id) < 0);
}

int main(void) {
        const struct CMUnitTest tests[] = {
                cmocka_unit_test_setup_teardown(test_new_task, setup, teardown),
                cmocka_unit_test_setup_teardown(test_progress_and_success, setup, teardown),
                cmocka_unit_test_setup_teardown(test_cancelled, setup, teardown),
                cmocka_unit_test_setup_teardown(test_max_tasks, setup, teardown),
                cmocka_unit_test_setup_teardown(test_retention, setup, teardown),
                cmocka_unit_test(test_path_to_id),
        };
        return cmocka_run_group_tests(tests, NULL, NULL);
}
