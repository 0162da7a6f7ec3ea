/* The Logoff state machine and its progress, driven by a FAKE guest agent: a script of canned
 * replies stands in for qemu-ga (and for a Windows guest's agent, which cannot run here). The real
 * agent is exercised by the e2e suite. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>
#include <errno.h>
#include <stdio.h>

#include "logoff.h"

#define SEC USEC_PER_SEC
#define TIMEOUT (10 * SEC)
#define POLL (500 * USEC_PER_MSEC)

/* One scripted exchange of the fake agent: the command must contain `expect`; the fake answers
 * with `reply`, or fails at the transport level with `error`. */
typedef struct FakeStep {
        const char *expect;
        const char *reply;
        VpcError error;
        const char *message;
} FakeStep;

typedef struct FakeRun {
        unsigned percents[32];
        size_t n_percents;
        size_t steps_used;
        unsigned polls;
        uint64_t clock;
        char last_exec[4096];
} FakeRun;

#define USERS(...) "{\"return\":[" __VA_ARGS__ "]}"
#define U(name) "{\"user\":\"" name "\",\"login-time\":1732490000.0}"
#define EXEC_PID "{\"return\":{\"pid\":77}}"
#define EXITED(code) "{\"return\":{\"exited\":true,\"exitcode\":" #code "}}"
#define RUNNING_STATUS "{\"return\":{\"exited\":false}}"

/* Runs the machine against the script; the last step repeats when the script runs out, so "the
 * users never leave" is a one-step tail. */
static void fake_agent_run(LogoffMachine *m, const FakeStep *steps, size_t n_steps, FakeRun *run) {
        LogoffAction a;
        unsigned last = 0;

        assert_int_equal(logoff_machine_start(m, &a), 0);
        for (unsigned guard = 0; guard < 10000; guard++) {
                const FakeStep *s;

                if (a.kind == LOGOFF_ACTION_DONE)
                        return;
                if (a.kind == LOGOFF_ACTION_SLEEP) {
                        assert_true(a.sleep_usec <= POLL);
                        run->clock += a.sleep_usec;
                        assert_int_equal(logoff_machine_wake(m, run->clock, &a), 0);
                        continue;
                }

                s = &steps[run->steps_used < n_steps ? run->steps_used : n_steps - 1];
                run->steps_used++;
                if (!strstr(a.command, s->expect))
                        fail_msg("step %zu: expected a command with '%s', got %s", run->steps_used, s->expect, a.command);
                if (strstr(a.command, "guest-exec\""))
                        snprintf(run->last_exec, sizeof(run->last_exec), "%s", a.command);
                if (strstr(a.command, "guest-get-users"))
                        run->polls++;
                /* Each agent call takes a little time. */
                run->clock += 20 * USEC_PER_MSEC;
                assert_int_equal(logoff_machine_reply(m, run->clock,
                                                      &(LogoffReply) { s->error, s->message, s->reply }, &a), 0);
                if (m->percent != last) {
                        /* Progress only grows, and 100 comes only with success. */
                        assert_true(m->percent > last);
                        run->percents[run->n_percents++] = last = m->percent;
                }
        }
        fail_msg("the machine never finished");
}

static void test_users_leave_one_by_one(void **state) {
        static const FakeStep script[] = {
                { "guest-get-users", USERS(U("alice") "," U("bob") "," U("carol")) },
                { "guest-exec", EXEC_PID },                     /* logind probe */
                { "guest-exec-status", EXITED(1) },             /* no logind */
                { "guest-exec", EXEC_PID },                     /* the logoff program */
                { "guest-get-users", USERS(U("bob") "," U("carol")) },
                { "guest-get-users", USERS(U("carol")) },
                { "guest-get-users", USERS() },
        };
        LogoffMachine m;
        FakeRun run = {};

        logoff_machine_init(&m, GUEST_OS_LINUX, 0, TIMEOUT, POLL);
        fake_agent_run(&m, script, sizeof(script) / sizeof(script[0]), &run);
        assert_int_equal(m.result, VPC_OK);
        assert_null(m.message);
        assert_int_equal(run.steps_used, 7);
        assert_int_equal(run.n_percents, 3);
        assert_int_equal(run.percents[0], 33);
        assert_int_equal(run.percents[1], 66);
        assert_int_equal(run.percents[2], 100);
        assert_string_equal(m.strategy->name, "linux-plain");
        assert_non_null(strstr(run.last_exec, "who"));
        logoff_machine_release(&m);
}

static void test_logind_guest(void **state) {
        static const FakeStep script[] = {
                { "guest-get-users", USERS(U("alice")) },
                { "guest-exec", EXEC_PID },
                { "guest-exec-status", RUNNING_STATUS },        /* the probe takes a moment */
                { "guest-exec-status", EXITED(0) },
                { "guest-exec", EXEC_PID },
                { "guest-get-users", USERS() },
        };
        LogoffMachine m;
        FakeRun run = {};

        logoff_machine_init(&m, GUEST_OS_LINUX, 0, TIMEOUT, POLL);
        fake_agent_run(&m, script, sizeof(script) / sizeof(script[0]), &run);
        assert_int_equal(m.result, VPC_OK);
        assert_string_equal(m.strategy->name, "linux-logind");
        assert_non_null(strstr(run.last_exec, "loginctl"));
        /* "closing" sessions too, and only session scopes are ever stopped */
        assert_non_null(strstr(run.last_exec, "closing"));
        assert_non_null(strstr(run.last_exec, "session-*.scope"));
        logoff_machine_release(&m);
}

static void test_windows_guest(void **state) {
        static const FakeStep script[] = {
                { "guest-get-users", "{\"return\":[{\"user\":\"Alice\",\"domain\":\"WIN7\",\"login-time\":1.0}]}" },
                { "guest-exec", EXEC_PID },
                { "guest-get-users", USERS() },
        };
        LogoffMachine m;
        FakeRun run = {};

        logoff_machine_init(&m, GUEST_OS_WINDOWS, 0, TIMEOUT, POLL);
        fake_agent_run(&m, script, sizeof(script) / sizeof(script[0]), &run);
        assert_int_equal(m.result, VPC_OK);
        assert_string_equal(m.strategy->name, "windows");
        assert_non_null(strstr(run.last_exec, "powershell.exe"));
        assert_non_null(strstr(run.last_exec, "logoff"));
        logoff_machine_release(&m);
}

static void test_no_users(void **state) {
        static const FakeStep script[] = { { "guest-get-users", USERS() } };
        LogoffMachine m;
        FakeRun run = {};

        logoff_machine_init(&m, GUEST_OS_LINUX, 0, TIMEOUT, POLL);
        fake_agent_run(&m, script, 1, &run);
        assert_int_equal(m.result, VPC_ERROR_NO_SUCH_LOGON_SESSION);
        assert_int_equal(vpc_error_hresult(m.result), 0x80070520);
        assert_int_equal(run.steps_used, 1);            /* nothing is run in the guest */
        assert_int_equal(run.last_exec[0], 0);
        logoff_machine_release(&m);
}

static void test_users_never_leave(void **state) {
        static const FakeStep script[] = {
                { "guest-get-users", USERS(U("alice") "," U("bob")) },
                { "guest-exec", EXEC_PID },
                { "guest-exec-status", EXITED(1) },
                { "guest-exec", EXEC_PID },
                { "guest-get-users", USERS(U("bob")) },        /* alice leaves, bob stays for good */
        };
        LogoffMachine m;
        FakeRun run = {};

        logoff_machine_init(&m, GUEST_OS_LINUX, 0, TIMEOUT, POLL);
        fake_agent_run(&m, script, sizeof(script) / sizeof(script[0]), &run);
        assert_int_equal(m.result, VPC_ERROR_TIMEOUT);
        assert_non_null(strstr(m.message, "still logged on"));
        assert_int_equal(m.percent, 50);
        /* It polled until the deadline, not past it by more than one poll. */
        assert_true(run.clock >= TIMEOUT);
        assert_true(run.clock <= TIMEOUT + POLL + 100 * USEC_PER_MSEC);
        assert_true(run.polls >= 10);
        logoff_machine_release(&m);
}

static void test_agent_error_midway(void **state) {
        static const FakeStep script[] = {
                { "guest-get-users", USERS(U("alice")) },
                { "guest-exec", "{\"error\":{\"class\":\"GenericError\",\"desc\":\"Failed to execute child process\"}}" },
        };
        LogoffMachine m;
        FakeRun run = {};

        logoff_machine_init(&m, GUEST_OS_LINUX, 0, TIMEOUT, POLL);
        fake_agent_run(&m, script, 2, &run);
        assert_int_equal(m.result, VPC_ERROR_EXCEPTION);
        assert_non_null(strstr(m.message, "Failed to execute child process"));
        logoff_machine_release(&m);
}

static void test_transport_errors_midway(void **state) {
        static const struct {
                VpcError transport;
                VpcError expected;
        } cases[] = {
                { VPC_ERROR_VM_NOT_RUNNING, VPC_ERROR_VM_NOT_RUNNING },   /* the domain stopped */
                { VPC_ERROR_VM_UNKNOWN, VPC_ERROR_VM_NOT_RUNNING },       /* ... and was undefined */
                { VPC_ERROR_TIMEOUT, VPC_ERROR_TIMEOUT },                 /* the agent went silent */
                { VPC_ERROR_ADDITIONS_FEATURE_NOT_AVAILABLE, VPC_ERROR_EXCEPTION },
                { VPC_ERROR_EXCEPTION, VPC_ERROR_EXCEPTION },
        };

        for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
                const FakeStep script[] = {
                        { "guest-get-users", USERS(U("alice") "," U("bob")) },
                        { "guest-exec", EXEC_PID },
                        { "guest-exec-status", EXITED(1) },
                        { "guest-exec", EXEC_PID },
                        { "guest-get-users", USERS(U("bob")) },
                        { "guest-get-users", NULL, cases[i].transport, "libvirt says no" },
                };
                LogoffMachine m;
                FakeRun run = {};

                logoff_machine_init(&m, GUEST_OS_LINUX, 0, TIMEOUT, POLL);
                fake_agent_run(&m, script, sizeof(script) / sizeof(script[0]), &run);
                assert_int_equal(m.result, cases[i].expected);
                assert_string_equal(m.message, "libvirt says no");
                assert_int_equal(m.percent, 50);        /* progress stays where it was */
                logoff_machine_release(&m);
        }
}

static void test_lying_agent(void **state) {
        static const char *const lies[] = {
                "{\"return\":{\"user\":\"alice\"}}",            /* object instead of array */
                "{\"return\":[{\"user\":42}]}",
                "not json at all",
                "{\"return\":[{\"user\":\"alice\"}]}{\"return\":[]}",
                "",
        };

        for (size_t i = 0; i < sizeof(lies) / sizeof(lies[0]); i++) {
                const FakeStep script[] = {
                        { "guest-get-users", USERS(U("alice")) },
                        { "guest-exec", EXEC_PID },
                        { "guest-exec-status", EXITED(1) },
                        { "guest-exec", EXEC_PID },
                        { "guest-get-users", lies[i] },
                };
                LogoffMachine m;
                FakeRun run = {};

                logoff_machine_init(&m, GUEST_OS_LINUX, 0, TIMEOUT, POLL);
                fake_agent_run(&m, script, sizeof(script) / sizeof(script[0]), &run);
                assert_int_equal(m.result, VPC_ERROR_EXCEPTION);
                assert_non_null(m.message);
                logoff_machine_release(&m);
        }
}

static void test_oversized_reply(void **state) {
        _cleanup_free_ char *flood = malloc(AGENT_REPLY_MAX + 2);
        LogoffMachine m;
        FakeRun run = {};

        assert_non_null(flood);
        memset(flood, '[', AGENT_REPLY_MAX + 1);
        flood[AGENT_REPLY_MAX + 1] = 0;

        const FakeStep script[] = { { "guest-get-users", flood } };
        logoff_machine_init(&m, GUEST_OS_LINUX, 0, TIMEOUT, POLL);
        fake_agent_run(&m, script, 1, &run);
        assert_int_equal(m.result, VPC_ERROR_EXCEPTION);
        assert_non_null(strstr(m.message, "larger than"));
        logoff_machine_release(&m);
}

static void test_probe_never_finishes(void **state) {
        static const FakeStep script[] = {
                { "guest-get-users", USERS(U("alice")) },
                { "guest-exec", EXEC_PID },
                { "guest-exec-status", RUNNING_STATUS },
        };
        LogoffMachine m;
        FakeRun run = {};

        logoff_machine_init(&m, GUEST_OS_LINUX, 0, TIMEOUT, POLL);
        fake_agent_run(&m, script, 3, &run);
        assert_int_equal(m.result, VPC_ERROR_TIMEOUT);
        assert_true(run.clock <= TIMEOUT + SEC);
        logoff_machine_release(&m);
}

static void test_unknown_os(void **state) {
        static const FakeStep script[] = { { "guest-get-users", USERS(U("alice")) } };
        LogoffMachine m;
        FakeRun run = {};

        logoff_machine_init(&m, GUEST_OS_UNKNOWN, 0, TIMEOUT, POLL);
        fake_agent_run(&m, script, 1, &run);
        assert_int_equal(m.result, VPC_ERROR_ADDITIONS_FEATURE_NOT_AVAILABLE);
        assert_int_equal(run.last_exec[0], 0);
        logoff_machine_release(&m);
}

static void test_newcomer_keeps_it_running(void **state) {
        static const FakeStep script[] = {
                { "guest-get-users", USERS(U("alice")) },
                { "guest-exec", EXEC_PID },
                { "guest-exec-status", EXITED(1) },
                { "guest-exec", EXEC_PID },
                { "guest-get-users", USERS(U("mallory")) },    /* alice gone, someone new logged on */
                { "guest-get-users", USERS() },
        };
        LogoffMachine m;
        FakeRun run = {};

        logoff_machine_init(&m, GUEST_OS_LINUX, 0, TIMEOUT, POLL);
        fake_agent_run(&m, script, sizeof(script) / sizeof(script[0]), &run);
        assert_int_equal(m.result, VPC_OK);
        assert_int_equal(run.n_percents, 2);
        assert_int_equal(run.percents[0], 99);
        assert_int_equal(run.percents[1], 100);
        logoff_machine_release(&m);
}

static void test_progress_formula(void **state) {
        assert_int_equal(logoff_progress(4, 4), 0);
        assert_int_equal(logoff_progress(4, 3), 25);
        assert_int_equal(logoff_progress(3, 1), 66);
        assert_int_equal(logoff_progress(3, 0), 100);
        assert_int_equal(logoff_progress(1000, 1), 99);       /* never 100 while one remains */
        assert_int_equal(logoff_progress(2, 5), 0);
        assert_int_equal(logoff_progress(0, 0), 100);
}

int main(void) {
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(test_users_leave_one_by_one),
                cmocka_unit_test(test_logind_guest),
                cmocka_unit_test(test_windows_guest),
                cmocka_unit_test(test_no_users),
                cmocka_unit_test(test_users_never_leave),
                cmocka_unit_test(test_agent_error_midway),
                cmocka_unit_test(test_transport_errors_midway),
                cmocka_unit_test(test_lying_agent),
                cmocka_unit_test(test_oversized_reply),
                cmocka_unit_test(test_probe_never_finishes),
                cmocka_unit_test(test_unknown_os),
                cmocka_unit_test(test_newcomer_keeps_it_running),
                cmocka_unit_test(test_progress_formula),
        };
        return cmocka_run_group_tests(tests, NULL, NULL);
}
