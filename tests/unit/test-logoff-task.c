/* logoff_task_start() when the task ends before it returns: the first agent call is refused at once
 * (here: the hypervisor is stopped, so every submit fails with -ESHUTDOWN), the task completes with
 * Exception inside the call, and with --max-tasks 0 the finished task leaves the manager at once.
 * The caller must still hold a valid task (issue 13, defect 3: it was freed, and guestos.c read its
 * path). Run under ASan (scripts/test-all.d/10-sanitizers) and valgrind (test-logoff-task-valgrind),
 * a use after free fails the test. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>
#include <errno.h>

#include "logoff-task.h"
#include "task.h"

static void on_connected(const DomainInfo *domains, size_t n, void *userdata) {
}

static void on_disconnected(void *userdata) {
}

static void on_domain_changed(const char *uuid, const DomainInfo *info, void *userdata) {
}

static const HypervisorSubscriber callbacks = {
        .connected = on_connected,
        .disconnected = on_disconnected,
        .domain_changed = on_domain_changed,
};

typedef struct Fixture {
        Manager m;
        Domain *d;
} Fixture;

static int setup(void **state) {
        Fixture *f = calloc(1, sizeof(*f));

        assert_non_null(f);
        assert_int_equal(sd_event_new(&f->m.event), 0);
        assert_int_equal(sd_bus_new(&f->m.bus), 0);
        f->m.options = (ManagerOptions) {
                .agent_timeout_sec = 5,
                .logoff_timeout_sec = 60,
                .task_retention_sec = 300,
                .max_tasks = 0,
                .poll_interval_msec = 500,
        };
        task_registry_init(&f->m.tasks, f->m.event, f->m.bus, NULL, NULL,
                           &(TaskOptions) { .task_retention_sec = 300, .max_tasks = 0 });
        /* Never started: no libvirt connection is opened. Stopped: every agent call is refused. */
        assert_int_equal(hypervisor_new(f->m.event, "test:///default",
                                        &(HypervisorLimits) { .agent_threads = 1, .agent_queue_max = 4 },
                                        &callbacks, &f->m, &f->m.hypervisor), 0);
        assert_int_equal(hypervisor_stop(f->m.hypervisor), 0);
        assert_int_equal(domain_new("web server 01", "11111111-1111-1111-1111-111111111111", DOMAIN_STATE_RUNNING, &f->d), 0);
        f->d->manager = &f->m;
        assert_int_equal(domain_registry_add(&f->m.domains, f->d), 0);
        *state = f;
        return 0;
}

static int teardown(void **state) {
        Fixture *f = *state;

        f->m.hypervisor = hypervisor_free(f->m.hypervisor);
        task_remove_all(&f->m.tasks);
        domain_registry_clear(&f->m.domains);
        sd_bus_unref(f->m.bus);
        sd_event_unref(f->m.event);
        free(f);
        return 0;
}

static void test_fails_synchronously_max_tasks_0(void **state) {
        Fixture *f = *state;
        Task *t = NULL;

        assert_int_equal(logoff_task_start(&f->m, f->d, 1000, GUEST_OS_LINUX, &t), 0);
        assert_non_null(t);
        /* Ended inside the call, and already out of the manager (max-tasks 0)... */
        assert_true(t->complete);
        assert_int_equal(t->error, VPC_ERROR_EXCEPTION);
        assert_non_null(strstr(t->error_message, "0x80020009: "));
        assert_int_equal(f->m.tasks.n_tasks, 0);
        assert_null(task_find_by_path(&f->m.tasks, "/org/vpc/Task/1"));
        assert_null(logoff_task_running(f->d));
        /* ...yet what the caller holds is still the task: the reply reads its path. */
        assert_string_equal(t->path, "/org/vpc/Task/1");
        assert_int_equal(t->owner, 1000);
        task_unref(t);
}

static void test_fails_synchronously_kept(void **state) {
        Fixture *f = *state;
        Task *t = NULL;

        /* With room for finished tasks the task stays, and the caller's reference is its own. */
        f->m.tasks.options.max_tasks = 8;
        assert_int_equal(logoff_task_start(&f->m, f->d, 0, GUEST_OS_LINUX, &t), 0);
        assert_true(t->complete);
        assert_int_equal(f->m.tasks.n_tasks, 1);
        assert_ptr_equal(task_find_by_path(&f->m.tasks, t->path), t);
        assert_int_equal(t->n_ref, 2);
        task_unref(t);
        assert_int_equal(f->m.tasks.n_tasks, 1);
}

int main(void) {
        const struct CMUnitTest tests[] = {
                cmocka_unit_test_setup_teardown(test_fails_synchronously_max_tasks_0, setup, teardown),
                cmocka_unit_test_setup_teardown(test_fails_synchronously_kept, setup, teardown),
        };

        return cmocka_run_group_tests(tests, NULL, NULL);
}
