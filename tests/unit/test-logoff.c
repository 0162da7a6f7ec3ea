/* The Logoff state machine and its progress, driven by a FAKE guest agent: a script of canned
 * replies stands in for qemu-ga (and for a Windows guest's agent, which cannot run here). The real
 * agent is exercised by the e2e suite. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>

#include <json-c/json.h>

#include "logoff-programs.h"
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
        char last_exec[16384];
        uint64_t sleeps[256];   /* every sleep the machine asked for, in order */
        size_t n_sleeps;
} FakeRun;

#define USERS(...) "{\"return\":[" __VA_ARGS__ "]}"
#define U(name) "{\"user\":\"" name "\",\"login-time\":1732490000.0}"
#define EXEC_PID "{\"return\":{\"pid\":77}}"
#define EXITED(code) "{\"return\":{\"exited\":true,\"exitcode\":" #code "}}"
#define RUNNING_STATUS "{\"return\":{\"exited\":false}}"
/* The logoff program starts and exits 0. */
#define PROGRAM_RAN { "guest-exec", EXEC_PID }, { "guest-exec-status", EXITED(0) }

/* Runs the machine against the script; the last step repeats when the script runs out, so "the
 * users never leave" is a one-step tail. */
static void fake_agent_loop(LogoffMachine *m, LogoffAction a, const FakeStep *steps, size_t n_steps, FakeRun *run);

static void fake_agent_run(LogoffMachine *m, const FakeStep *steps, size_t n_steps, FakeRun *run) {
        LogoffAction a;

        assert_int_equal(logoff_machine_start(m, &a), 0);
        fake_agent_loop(m, a, steps, n_steps, run);
}

/* The same for a Logoff taken up after a restart of the daemon (task-record.h). */
static void fake_agent_resume(LogoffMachine *m, int64_t pid, bool exited, unsigned percent, const FakeStep *steps,
                              size_t n_steps, FakeRun *run) {
        LogoffAction a;

        assert_int_equal(logoff_machine_resume(m, pid, exited, false, percent, &a), 0);
        fake_agent_loop(m, a, steps, n_steps, run);
}

static void fake_agent_loop(LogoffMachine *m, LogoffAction a, const FakeStep *steps, size_t n_steps, FakeRun *run) {
        unsigned last = m->percent;

        for (unsigned guard = 0; guard < 10000; guard++) {
                const FakeStep *s;

                if (a.kind == LOGOFF_ACTION_DONE)
                        return;
                if (a.kind == LOGOFF_ACTION_SLEEP) {
                        assert_true(a.sleep_usec <= POLL);
                        run->clock += a.sleep_usec;
                        if (run->n_sleeps < sizeof(run->sleeps) / sizeof(run->sleeps[0]))
                                run->sleeps[run->n_sleeps++] = a.sleep_usec;
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
                PROGRAM_RAN,                                    /* the logoff program */
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
        assert_int_equal(run.steps_used, 6);            /* one guest-exec: no separate probe */
        assert_int_equal(run.n_percents, 3);
        assert_int_equal(run.percents[0], 33);
        assert_int_equal(run.percents[1], 66);
        assert_int_equal(run.percents[2], 100);
        assert_string_equal(m.strategy->name, "linux");
        assert_non_null(strstr(run.last_exec, "USER_PROCESS record"));
        logoff_machine_release(&m);
}

/* A Linux guest runs one program that decides between logind and utmp itself: both programs' texts,
 * behind the test whether systemd-logind manages the sessions. */
static void test_linux_program(void **state) {
        static const FakeStep script[] = {
                { "guest-get-users", USERS(U("alice")) },
                PROGRAM_RAN,
                { "guest-get-users", USERS() },
        };
        LogoffMachine m;
        FakeRun run = {};

        logoff_machine_init(&m, GUEST_OS_LINUX, 0, TIMEOUT, POLL);
        fake_agent_run(&m, script, sizeof(script) / sizeof(script[0]), &run);
        assert_int_equal(m.result, VPC_OK);
        assert_int_equal(run.steps_used, 4);
        assert_string_equal(m.strategy->name, "linux");
        assert_non_null(strstr(LOGOFF_PROGRAM_LINUX, "if test -d /run/systemd/system && command -v loginctl >/dev/null; then"));
        assert_non_null(strstr(LOGOFF_PROGRAM_LINUX, LOGOFF_PROGRAM_LINUX_LOGIND));
        assert_non_null(strstr(LOGOFF_PROGRAM_LINUX, LOGOFF_PROGRAM_LINUX_PLAIN));
        assert_null(strstr(LOGOFF_PROGRAM_LINUX, "@LINUX_"));
        /* "closing" sessions too, and only session scopes are ever stopped */
        assert_non_null(strstr(run.last_exec, "loginctl terminate-session"));
        assert_non_null(strstr(run.last_exec, "closing"));
        assert_non_null(strstr(run.last_exec, "session-*.scope"));
        logoff_machine_release(&m);
}

static void test_windows_guest(void **state) {
        static const FakeStep script[] = {
                { "guest-get-users", "{\"return\":[{\"user\":\"Alice\",\"domain\":\"WIN7\",\"login-time\":1.0}]}" },
                PROGRAM_RAN,
                { "guest-get-users", USERS() },
        };
        LogoffMachine m;
        FakeRun run = {};

        logoff_machine_init(&m, GUEST_OS_WINDOWS, 0, TIMEOUT, POLL);
        fake_agent_run(&m, script, sizeof(script) / sizeof(script[0]), &run);
        assert_int_equal(m.result, VPC_OK);
        assert_string_equal(m.strategy->name, "windows");
        assert_non_null(strstr(run.last_exec, "powershell.exe"));
        assert_non_null(strstr(run.last_exec, LOGOFF_PROGRAM_WINDOWS_ENCODED));
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
                PROGRAM_RAN,
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

/* The program's stdout says the guest logs bob straight back in (getty autologin). */
#define EXITED_AUTOLOGIN "{\"return\":{\"exited\":true,\"exitcode\":0,\"out-data\":\"dnBjLWxvZ29mZjogYXV0b2xvZ2luIHR0eVMwCg==\"}}"

/* bob is gone for a moment, then back: Timeout at the deadline naming him, not 0 in the gap. */
static void test_autologin_user_comes_back(void **state) {
        static const FakeStep script[] = {
                { "guest-get-users", USERS(U("bob")) },
                { "guest-exec", EXEC_PID },
                { "guest-exec-status", EXITED_AUTOLOGIN },
                { "guest-get-users", USERS() },
                { "guest-get-users", USERS() },
                { "guest-get-users", USERS() },
                { "guest-get-users", USERS(U("bob")) },         /* the getty logged him in again */
        };
        LogoffMachine m;
        FakeRun run = {};

        logoff_machine_init(&m, GUEST_OS_LINUX, 0, TIMEOUT, POLL);
        fake_agent_run(&m, script, sizeof(script) / sizeof(script[0]), &run);
        assert_true(m.relogin_expected);
        assert_int_equal(m.result, VPC_ERROR_TIMEOUT);
        assert_string_equal(m.message, "1 user(s) still logged on after 10 s: bob");
        assert_int_equal(m.percent, 99);                /* never 100 without success, never back down */
        assert_true(run.clock >= TIMEOUT);
        logoff_machine_release(&m);
}

/* The mark, but nobody comes back: done once nobody was logged on for the whole window. */
static void test_autologin_nobody_comes_back(void **state) {
        static const FakeStep script[] = {
                { "guest-get-users", USERS(U("bob")) },
                { "guest-exec", EXEC_PID },
                { "guest-exec-status", EXITED_AUTOLOGIN },
                { "guest-get-users", USERS() },
        };
        LogoffMachine m;
        FakeRun run = {};

        logoff_machine_init(&m, GUEST_OS_LINUX, 0, 30 * SEC, POLL);
        fake_agent_run(&m, script, sizeof(script) / sizeof(script[0]), &run);
        assert_int_equal(m.result, VPC_OK);
        assert_int_equal(m.percent, 100);
        assert_true(run.clock >= LOGOFF_RELOGIN_WINDOW_USEC);
        assert_true(run.clock <= LOGOFF_RELOGIN_WINDOW_USEC + POLL + SEC);
        logoff_machine_release(&m);
}

/* Only the mark itself counts: other output of a successful program changes nothing. */
static void test_other_output_is_no_autologin(void **state) {
        static const FakeStep script[] = {
                { "guest-get-users", USERS(U("bob")) },
                { "guest-exec", EXEC_PID },
                /* "vpc-logoff: done\n" */
                { "guest-exec-status", "{\"return\":{\"exited\":true,\"exitcode\":0,\"out-data\":\"dnBjLWxvZ29mZjogZG9uZQo=\"}}" },
                { "guest-get-users", USERS() },
        };
        LogoffMachine m;
        FakeRun run = {};

        logoff_machine_init(&m, GUEST_OS_LINUX, 0, TIMEOUT, POLL);
        fake_agent_run(&m, script, sizeof(script) / sizeof(script[0]), &run);
        assert_false(m.relogin_expected);
        assert_int_equal(m.result, VPC_OK);
        assert_int_equal(run.steps_used, 4);
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
                        PROGRAM_RAN,
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
                        PROGRAM_RAN,
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
                PROGRAM_RAN,
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

static void test_program_fails(void **state) {
        static const struct {
                GuestOsKind os;
                const char *status;
                const char *expect;
        } cases[] = {
                /* stderr is preferred, sanitized, with a mark when the agent truncated it */
                { GUEST_OS_LINUX, "{\"return\":{\"exited\":true,\"exitcode\":3,\"out-data\":\"b3V0\","
                                  "\"err-data\":\"c2g6IG5vIHV0bXAKG1sx\",\"err-truncated\":true}}",
                  "the logoff program 'linux' failed (exit status 3): sh: no utmp ?[1 ..." },
                /* stdout when there is no stderr */
                { GUEST_OS_LINUX, "{\"return\":{\"exited\":true,\"exitcode\":1,\"out-data\":\"b3V0\"}}",
                  "the logoff program 'linux' failed (exit status 1): out" },
                { GUEST_OS_LINUX, "{\"return\":{\"exited\":true,\"signal\":9}}",
                  "the logoff program 'linux' failed (signal 9)" },
                /* FAKE Windows replies (qemu-ga's source): an NTSTATUS, a Win32 error as exit code */
                { GUEST_OS_WINDOWS, "{\"return\":{\"exited\":true,\"signal\":-1073741510}}",
                  "the logoff program 'windows' failed (NTSTATUS 0xC000013A)" },
                { GUEST_OS_WINDOWS, "{\"return\":{\"exited\":true,\"exitcode\":5,"
                                    "\"err-data\":\"V1RTTG9nb2ZmU2Vzc2lvbigyKTogZXJyb3IgNQ0K\"}}",
                  "the logoff program 'windows' failed (exit status 5): WTSLogoffSession(2): error 5" },
        };

        for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
                const FakeStep linux_script[] = {
                        { "guest-get-users", USERS(U("alice")) },
                        { "guest-exec", EXEC_PID },
                        { "guest-exec-status", RUNNING_STATUS },
                        { "guest-exec-status", cases[i].status },
                        { "nothing more may be asked", NULL },
                };
                const FakeStep windows_script[] = {
                        { "guest-get-users", USERS(U("alice")) },
                        { "guest-exec", EXEC_PID },
                        { "guest-exec-status", cases[i].status },
                        { "nothing more may be asked", NULL },
                };
                bool win = cases[i].os == GUEST_OS_WINDOWS;
                LogoffMachine m;
                FakeRun run = {};

                logoff_machine_init(&m, cases[i].os, 0, TIMEOUT, POLL);
                fake_agent_run(&m, win ? windows_script : linux_script, win ? 3 : 4, &run);
                assert_int_equal(m.result, VPC_ERROR_EXCEPTION);
                assert_string_equal(m.message, cases[i].expect);
                assert_int_equal(run.steps_used, win ? 3 : 4);  /* no poll of the users after it */
                logoff_machine_release(&m);
        }
}

static void test_program_never_exits(void **state) {
        static const FakeStep script[] = {
                { "guest-get-users", USERS(U("alice")) },
                PROGRAM_RAN,
                { "guest-get-users", USERS(U("alice")) },
        };
        static const FakeStep hung[] = {
                { "guest-get-users", USERS(U("alice")) },
                { "guest-exec", EXEC_PID },
                { "guest-exec-status", RUNNING_STATUS },
        };
        LogoffMachine m;
        FakeRun run = {};

        logoff_machine_init(&m, GUEST_OS_WINDOWS, 0, TIMEOUT, POLL);
        fake_agent_run(&m, hung, 3, &run);
        assert_int_equal(m.result, VPC_ERROR_TIMEOUT);
        assert_string_equal(m.message, "the logoff program 'windows' did not finish within 10 s");
        assert_true(run.clock >= TIMEOUT && run.clock <= TIMEOUT + POLL + SEC);
        logoff_machine_release(&m);

        /* The same program exiting 0 goes on to the users. */
        run = (FakeRun) {};
        logoff_machine_init(&m, GUEST_OS_WINDOWS, 0, TIMEOUT, POLL);
        fake_agent_run(&m, script, 4, &run);
        assert_int_equal(m.result, VPC_ERROR_TIMEOUT);
        assert_non_null(strstr(m.message, "1 user(s) still logged on after 10 s: alice"));
        logoff_machine_release(&m);
}

/* FAKE Windows replies mid-poll: two sessions of "alice" in two domains, one ends, then the list is
 * empty; and a user who left and came back. */
static void test_windows_users_mid_poll(void **state) {
#define WU(user, domain) "{\"user\":\"" user "\",\"domain\":\"" domain "\",\"login-time\":1732490000.5}"
        static const FakeStep empties[] = {
                { "guest-get-users", USERS(WU("alice", "CORP") "," WU("alice", "AzureAD") "," WU("Jos\\u00e9", "")) },
                PROGRAM_RAN,
                { "guest-get-users", USERS(WU("alice", "CORP") "," WU("alice", "AzureAD") "," WU("Jos\\u00e9", "")) },
                { "guest-get-users", USERS(WU("alice", "AzureAD") "," WU("Jos\\u00e9", "")) },
                { "guest-get-users", USERS(WU("alice", "AzureAD")) },
                { "guest-get-users", USERS() },
                { "nothing more may be asked", NULL },
        };
        static const FakeStep comeback[] = {
                { "guest-get-users", USERS(WU("alice", "CORP") "," WU("bob", "CORP")) },
                PROGRAM_RAN,
                { "guest-get-users", USERS(WU("bob", "CORP")) },
                { "guest-get-users", USERS(WU("alice", "CORP") "," WU("bob", "CORP")) },   /* alice again */
        };
        LogoffMachine m;
        FakeRun run = {};

        logoff_machine_init(&m, GUEST_OS_WINDOWS, 0, TIMEOUT, POLL);
        fake_agent_run(&m, empties, 7, &run);
        assert_int_equal(m.result, VPC_OK);
        assert_int_equal(run.steps_used, 7);
        assert_int_equal(run.n_percents, 3);            /* a step per session that ends */
        assert_int_equal(run.percents[0], 33);
        assert_int_equal(run.percents[1], 66);
        assert_int_equal(run.percents[2], 100);
        logoff_machine_release(&m);

        run = (FakeRun) {};
        logoff_machine_init(&m, GUEST_OS_WINDOWS, 0, TIMEOUT, POLL);
        fake_agent_run(&m, comeback, 5, &run);
        assert_int_equal(m.result, VPC_ERROR_TIMEOUT);
        assert_string_equal(m.message, "2 user(s) still logged on after 10 s: CORP\\alice, CORP\\bob");
        assert_int_equal(m.percent, 50);                /* progress never goes back */
        assert_int_equal(run.n_percents, 1);
        logoff_machine_release(&m);
#undef WU
}

static void test_timeout_names_are_bounded(void **state) {
        static const FakeStep script[] = {
                { "guest-get-users", USERS(U("a1") "," U("a2") "," U("a3") "," U("a4") "," U("a5") ","
                                           U("a6") "," U("a7") "," U("a8") "," U("a9") "," U("evil\\u001b[2J")) },
                PROGRAM_RAN,
                { "guest-get-users", USERS(U("a1") "," U("a2") "," U("a3") "," U("a4") "," U("a5") ","
                                           U("a6") "," U("a7") "," U("a8") "," U("a9") "," U("evil\\u001b[2J")) },
        };
        LogoffMachine m;
        FakeRun run = {};

        logoff_machine_init(&m, GUEST_OS_WINDOWS, 0, TIMEOUT, POLL);
        fake_agent_run(&m, script, 4, &run);
        assert_int_equal(m.result, VPC_ERROR_TIMEOUT);
        assert_string_equal(m.message, "10 user(s) still logged on after 10 s: a1, a2, a3, a4, a5, a6, a7, a8, ...");
        logoff_machine_release(&m);
}

/* The poll schedule, on the machine's own clock (no sleeps): fast right after a change, doubling
 * to the fast bound, and after the fast window on to --poll-interval. */
static void test_poll_schedule(void **state) {
        static const FakeStep script[] = {
                { "guest-get-users", USERS(U("alice") "," U("bob")) },
                { "guest-exec", EXEC_PID },
                { "guest-exec-status", RUNNING_STATUS },
                { "guest-exec-status", RUNNING_STATUS },
                { "guest-exec-status", EXITED(0) },
                { "guest-get-users", USERS(U("alice") "," U("bob")) },
                { "guest-get-users", USERS(U("alice") "," U("bob")) },
                { "guest-get-users", USERS(U("alice") "," U("bob")) },
                { "guest-get-users", USERS(U("alice") "," U("bob")) },
                { "guest-get-users", USERS(U("alice")) },       /* bob leaves: fast again */
                { "guest-get-users", USERS(U("alice")) },       /* alice stays for good */
        };
        static const uint64_t ms[] = {
                10, 20, 20,     /* the program runs: three polls of its status */
                /* it exited: the users are read at once, then after 10, 20, 20, 20 ms */
                10, 20, 20, 20,
                /* bob left: fast again */
                10, 20, 20, 20, 20,
        };
        LogoffMachine m;
        FakeRun run = {};
        size_t i;

        logoff_machine_init(&m, GUEST_OS_LINUX, 0, 30 * SEC, POLL);
        fake_agent_run(&m, script, sizeof(script) / sizeof(script[0]), &run);
        assert_int_equal(m.result, VPC_ERROR_TIMEOUT);
        assert_true(run.n_sleeps > sizeof(ms) / sizeof(ms[0]));
        for (i = 0; i < sizeof(ms) / sizeof(ms[0]); i++)
                if (run.sleeps[i] != ms[i] * USEC_PER_MSEC)
                        fail_msg("sleep %zu: %" PRIu64 " µs, expected %" PRIu64 " ms", i, run.sleeps[i], ms[i]);

        /* From there: 20 ms until the fast window (2 s since bob left) is over, then doubling to
         * --poll-interval, and every poll after that is one poll interval apart. */
        assert_int_equal(LOGOFF_POLL_FAST_MAX_USEC, 20 * USEC_PER_MSEC);
        for (; i < run.n_sleeps && run.sleeps[i] == LOGOFF_POLL_FAST_MAX_USEC; i++)
                ;
        assert_true(i > 50);                            /* about 2 s of 20 ms polls (and 20 ms calls) */
        assert_int_equal(run.sleeps[i], 40 * USEC_PER_MSEC);
        assert_int_equal(run.sleeps[i + 1], 80 * USEC_PER_MSEC);
        assert_int_equal(run.sleeps[i + 2], 160 * USEC_PER_MSEC);
        assert_int_equal(run.sleeps[i + 3], 320 * USEC_PER_MSEC);
        assert_int_equal(run.sleeps[i + 4], POLL);
        for (i += 4; i + 1 < run.n_sleeps; i++)         /* the last sleep may be cut at the deadline */
                assert_int_equal(run.sleeps[i], POLL);
        logoff_machine_release(&m);
}

/* A FAKE agent whose users leave at given times: the program exits at exit_at, user i leaves at
 * leave[i] (µs on the machine's clock). Each call takes `latency`. Returns the time Completed
 * came; counts the calls and the most that fell in any one second. */
typedef struct TimedGuest {
        uint64_t exit_at;
        uint64_t leave[4];
        size_t n_users;
        uint64_t latency;
        uint64_t call_times[4096];
        size_t n_calls;
} TimedGuest;

static void timed_users(const TimedGuest *g, uint64_t now, char *buf, size_t size) {
        static const char *const names[] = { "alice", "bob", "carol", "dave" };
        size_t len = (size_t) snprintf(buf, size, "{\"return\":[");

        for (size_t i = 0, n = 0; i < g->n_users; i++)
                if (now < g->leave[i])
                        len += (size_t) snprintf(buf + len, size - len, "%s{\"user\":\"%s\",\"login-time\":1.5}",
                                                 n++ ? "," : "", names[i]);
        snprintf(buf + len, size - len, "]}");
}

static uint64_t timed_run(LogoffMachine *m, TimedGuest *g, unsigned *ret_max_per_sec) {
        LogoffAction a;
        uint64_t clock = 0;
        char reply[1024];
        unsigned max_per_sec = 0;

        assert_int_equal(logoff_machine_start(m, &a), 0);
        while (a.kind != LOGOFF_ACTION_DONE) {
                if (a.kind == LOGOFF_ACTION_SLEEP) {
                        clock += a.sleep_usec;
                        assert_int_equal(logoff_machine_wake(m, clock, &a), 0);
                        continue;
                }
                assert_true(g->n_calls < sizeof(g->call_times) / sizeof(g->call_times[0]));
                g->call_times[g->n_calls++] = clock;
                /* The agent answers as of the moment it got the call. */
                if (strstr(a.command, "guest-get-users"))
                        timed_users(g, g->exit_at ? clock : 0, reply, sizeof(reply));
                else if (strstr(a.command, "guest-exec-status"))
                        snprintf(reply, sizeof(reply), clock >= g->exit_at ? EXITED(0) : RUNNING_STATUS);
                else if (strstr(a.command, "guest-exec\""))
                        snprintf(reply, sizeof(reply), EXEC_PID);
                else
                        fail_msg("unexpected command %s", a.command);
                clock += g->latency;
                assert_int_equal(logoff_machine_reply(m, clock, &(LogoffReply) { .json = reply }, &a), 0);
        }
        for (size_t i = 0; i < g->n_calls; i++) {
                unsigned n = 0;

                for (size_t j = i; j < g->n_calls && g->call_times[j] < g->call_times[i] + SEC; j++)
                        n++;
                if (n > max_per_sec)
                        max_per_sec = n;
        }
        *ret_max_per_sec = max_per_sec;
        return clock;
}

static void test_completes_soon_after_the_last_session(void **state) {
        static const struct {
                uint64_t exit_at, leave[3], latency, within;
        } cases[] = {
                /* all sessions end with the program (the usual case) */
                { 120 * USEC_PER_MSEC, { 100 * USEC_PER_MSEC, 110 * USEC_PER_MSEC, 120 * USEC_PER_MSEC }, 5 * USEC_PER_MSEC,
                  100 * USEC_PER_MSEC },
                /* they trail off after it, one by one */
                { 50 * USEC_PER_MSEC, { 150 * USEC_PER_MSEC, 700 * USEC_PER_MSEC, 1900 * USEC_PER_MSEC }, 5 * USEC_PER_MSEC,
                  100 * USEC_PER_MSEC },
                /* the agent is slow: still within the fast bound plus one call */
                { 300 * USEC_PER_MSEC, { 400 * USEC_PER_MSEC, 450 * USEC_PER_MSEC, 1000 * USEC_PER_MSEC }, 40 * USEC_PER_MSEC,
                  LOGOFF_POLL_FAST_MAX_USEC + 2 * 40 * USEC_PER_MSEC },
                /* a session that outlives the fast window (logind's escalation, SIGKILL after 5 s) is
                 * noticed within one poll interval */
                { 50 * USEC_PER_MSEC, { 100 * USEC_PER_MSEC, 200 * USEC_PER_MSEC, 5200 * USEC_PER_MSEC }, 5 * USEC_PER_MSEC,
                  POLL + 5 * USEC_PER_MSEC },
        };

        for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
                TimedGuest g = { .exit_at = cases[i].exit_at, .n_users = 3, .latency = cases[i].latency };
                uint64_t done, last = 0;
                unsigned per_sec;
                LogoffMachine m;

                memcpy(g.leave, cases[i].leave, sizeof(cases[i].leave));
                for (size_t j = 0; j < 3; j++)
                        if (g.leave[j] > last)
                                last = g.leave[j];
                logoff_machine_init(&m, GUEST_OS_WINDOWS, 0, TIMEOUT, POLL);
                done = timed_run(&m, &g, &per_sec);
                assert_int_equal(m.result, VPC_OK);
                if (done < last || done - last > cases[i].within)
                        fail_msg("case %zu: completed %" PRIu64 " ms after the last session ended, bound %" PRIu64 " ms",
                                 i, (done - last) / USEC_PER_MSEC, cases[i].within / USEC_PER_MSEC);
                /* without flooding the agent */
                assert_true(per_sec <= 100);
                logoff_machine_release(&m);
        }
}

static void test_agent_call_rate_is_bounded(void **state) {
        /* An agent that answers instantly and users that never leave: the machine alone bounds the
         * rate, at most 100 calls in any second, and far fewer once it has backed off. */
        TimedGuest g = { .exit_at = 300 * USEC_PER_MSEC, .leave = { UINT64_MAX }, .n_users = 1, .latency = 0 };
        unsigned per_sec;
        LogoffMachine m;
        size_t late = 0;

        logoff_machine_init(&m, GUEST_OS_WINDOWS, 0, TIMEOUT, POLL);
        timed_run(&m, &g, &per_sec);
        assert_int_equal(m.result, VPC_ERROR_TIMEOUT);
        assert_true(per_sec <= 100);
        assert_true(per_sec >= 20);                     /* it did poll fast at first */
        for (size_t i = 0; i < g.n_calls; i++)
                if (g.call_times[i] >= 5 * SEC && g.call_times[i] < 6 * SEC)
                        late++;
        assert_true(late <= 2);                         /* backed off to --poll-interval */
        logoff_machine_release(&m);
}

static char *read_file(const char *path) {
        FILE *f = fopen(path, "re");
        char *buf;
        size_t n;

        assert_non_null(f);
        buf = malloc(1024 * 1024);
        assert_non_null(buf);
        n = fread(buf, 1, 1024 * 1024 - 1, f);
        buf[n] = 0;
        fclose(f);
        return buf;
}

/* The Windows program as it goes to the agent: powershell.exe -EncodedCommand with the base64 of
 * the UTF-16LE text; decoded, it is the program docs/logoff.md shows. FAKE: it was never run on a
 * real Windows here; this checks its encoding and its content, not its behaviour. */
static void test_windows_program(void **state) {
        const LogoffStrategy *s = logoff_strategy_get(LOGOFF_STRATEGY_WINDOWS);
        _cleanup_free_ char *exec = agent_command_exec(s->path, s->argv);
        _cleanup_free_ char *docs = read_file(DOCS_DIR "/logoff.md");
        json_object *o, *args, *arg;
        const char *encoded;
        size_t n, len;
        char *text;
        uint32_t acc = 0;
        int bits = 0;

        assert_non_null(exec);
        o = json_tokener_parse(exec);
        assert_non_null(o);
        assert_true(json_object_object_get_ex(o, "arguments", &args));
        assert_true(json_object_object_get_ex(args, "arg", &arg));
        n = json_object_array_length(arg);
        assert_string_equal(json_object_get_string(json_object_array_get_idx(arg, n - 2)), "-EncodedCommand");
        encoded = json_object_get_string(json_object_array_get_idx(arg, n - 1));
        /* Only base64 characters: nothing that Windows command-line quoting could change. */
        assert_int_equal(strspn(encoded, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/="), strlen(encoded));

        len = strlen(encoded);
        text = malloc(len);
        assert_non_null(text);
        n = 0;
        for (size_t i = 0, k = 0; i < len && encoded[i] != '='; i++) {
                const char *alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
                acc = (acc << 6) | (uint32_t) (strchr(alphabet, encoded[i]) - alphabet);
                bits += 6;
                if (bits >= 8) {
                        uint8_t byte = (uint8_t) (acc >> (bits - 8));

                        bits -= 8;
                        acc &= (1U << bits) - 1;
                        /* UTF-16LE of ASCII: the character, then 0 */
                        if (k++ % 2 == 0)
                                text[n++] = (char) byte;
                        else
                                assert_int_equal(byte, 0);
                }
        }
        text[n] = 0;
        assert_string_equal(text, LOGOFF_PROGRAM_WINDOWS);
        free(text);
        json_object_put(o);

        /* It is the WTS program, not quser/logoff, and it skips session 0. */
        assert_non_null(strstr(LOGOFF_PROGRAM_WINDOWS, "WTSEnumerateSessionsW"));
        assert_non_null(strstr(LOGOFF_PROGRAM_WINDOWS, "WTSLogoffSession("));
        assert_non_null(strstr(LOGOFF_PROGRAM_WINDOWS, "$id -eq 0"));
        assert_null(strstr(LOGOFF_PROGRAM_WINDOWS, "quser"));
        assert_string_equal(s->path, "C:\\Windows\\System32\\WindowsPowerShell\\v1.0\\powershell.exe");

        /* The shared WTS preamble, then the logoff program's own text, which alone declares the call
         * it acts with. */
        assert_int_equal(strncmp(LOGOFF_PROGRAM_WINDOWS, LOGOFF_PROGRAM_WTS_PREAMBLE,
                                 strlen(LOGOFF_PROGRAM_WTS_PREAMBLE)), 0);
        assert_string_equal(LOGOFF_PROGRAM_WINDOWS + strlen(LOGOFF_PROGRAM_WTS_PREAMBLE), LOGOFF_PROGRAM_WINDOWS_BODY);
        assert_non_null(strstr(LOGOFF_PROGRAM_WINDOWS_BODY, "public static extern bool WTSLogoffSession("));
        assert_null(strstr(LOGOFF_PROGRAM_WTS_PREAMBLE, "WTSLogoffSession"));

        /* docs/logoff.md shows every program exactly (the Linux one as its parts, a Windows one as the
         * preamble and its own text). */
        assert_non_null(strstr(docs, LOGOFF_PROGRAM_WTS_PREAMBLE));
        assert_non_null(strstr(docs, LOGOFF_PROGRAM_WINDOWS_BODY));
        assert_non_null(strstr(docs, LOGOFF_PROGRAM_LINUX_PLAIN));
        assert_non_null(strstr(docs, LOGOFF_PROGRAM_LINUX_LOGIND));
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

/* --- taken up after a restart of the daemon --- */

/* The program still runs: its status is read by the stored pid, then the users polled; progress
 * starts from the stored percent and never goes below it. */
static void test_resume_program_running(void **state) {
        static const FakeStep script[] = {
                { "\"pid\":1234", RUNNING_STATUS },
                { "\"pid\":1234", EXITED(0) },
                { "guest-get-users", USERS(U("alice") "," U("carol")) },
                { "guest-get-users", USERS(U("carol")) },
                { "guest-get-users", USERS() },
        };
        LogoffMachine m;
        FakeRun run = {};

        logoff_machine_init(&m, GUEST_OS_LINUX, 0, TIMEOUT, POLL);
        fake_agent_resume(&m, 1234, false, 40, script, ELEMENTSOF(script), &run);
        assert_int_equal(m.result, VPC_OK);
        assert_int_equal(run.steps_used, 5);
        assert_int_equal(run.n_percents, 2);
        assert_int_equal(run.percents[0], 50);
        assert_int_equal(run.percents[1], 100);
        logoff_machine_release(&m);
}

/* qemu-ga no longer knows the pid (it forgets one once its exit was read, and on its own restart):
 * the users are what counts, and a machine that never restarted keeps the error. */
static void test_resume_program_gone(void **state) {
        static const FakeStep script[] = {
                { "guest-exec-status", NULL, VPC_ERROR_EXCEPTION, "Invalid parameter 'pid'" },
                { "guest-get-users", USERS(U("carol")) },
                { "guest-get-users", USERS() },
        };
        static const FakeStep fresh[] = {
                { "guest-get-users", USERS(U("alice")) },
                { "guest-exec", EXEC_PID },
                { "guest-exec-status", NULL, VPC_ERROR_EXCEPTION, "Invalid parameter 'pid'" },
        };
        LogoffMachine m;
        FakeRun run = {};

        logoff_machine_init(&m, GUEST_OS_LINUX, 0, TIMEOUT, POLL);
        fake_agent_resume(&m, 99, false, 0, script, ELEMENTSOF(script), &run);
        assert_int_equal(m.result, VPC_OK);
        assert_int_equal(run.polls, 2);
        logoff_machine_release(&m);

        run = (FakeRun) {};
        logoff_machine_init(&m, GUEST_OS_LINUX, 0, TIMEOUT, POLL);
        fake_agent_run(&m, fresh, ELEMENTSOF(fresh), &run);
        assert_int_equal(m.result, VPC_ERROR_EXCEPTION);
        logoff_machine_release(&m);
}

/* The program had exited: the users are polled at once; the time the daemon was down counted
 * (no time left: the users still there end it with Timeout). */
static void test_resume_polling(void **state) {
        static const FakeStep gone[] = { { "guest-get-users", USERS() } };
        static const FakeStep stay[] = { { "guest-get-users", USERS(U("carol")) } };
        LogoffMachine m;
        FakeRun run = {};

        logoff_machine_init(&m, GUEST_OS_LINUX, 0, TIMEOUT, POLL);
        fake_agent_resume(&m, 5, true, 50, gone, ELEMENTSOF(gone), &run);
        assert_int_equal(m.result, VPC_OK);
        assert_int_equal(run.steps_used, 1);
        logoff_machine_release(&m);

        run = (FakeRun) {};
        logoff_machine_init(&m, GUEST_OS_LINUX, 0, 0, POLL);
        fake_agent_resume(&m, 5, true, 50, stay, ELEMENTSOF(stay), &run);
        assert_int_equal(m.result, VPC_ERROR_TIMEOUT);
        assert_non_null(strstr(m.message, "carol"));
        logoff_machine_release(&m);
}

/* No pid was stored: the sequence runs again; nobody logged on then means the first run's program
 * did its work (success, not NoSuchLogonSession). A VM that stops ends it with VmNotRunning. */
static void test_resume_without_pid(void **state) {
        static const FakeStep empty[] = { { "guest-get-users", USERS() } };
        static const FakeStep again[] = {
                { "guest-get-users", USERS(U("alice")) },
                PROGRAM_RAN,
                { "guest-get-users", USERS() },
        };
        static const FakeStep stopped[] = {
                { "guest-exec-status", NULL, VPC_ERROR_VM_NOT_RUNNING, "domain is not running" },
        };
        LogoffMachine m;
        FakeRun run = {};

        logoff_machine_init(&m, GUEST_OS_LINUX, 0, TIMEOUT, POLL);
        fake_agent_resume(&m, 0, false, 0, empty, ELEMENTSOF(empty), &run);
        assert_int_equal(m.result, VPC_OK);
        logoff_machine_release(&m);

        run = (FakeRun) {};
        logoff_machine_init(&m, GUEST_OS_LINUX, 0, TIMEOUT, POLL);
        fake_agent_resume(&m, 0, false, 0, again, ELEMENTSOF(again), &run);
        assert_int_equal(m.result, VPC_OK);
        assert_non_null(strstr(run.last_exec, "USER_PROCESS record"));
        logoff_machine_release(&m);

        run = (FakeRun) {};
        logoff_machine_init(&m, GUEST_OS_LINUX, 0, TIMEOUT, POLL);
        fake_agent_resume(&m, 7, false, 0, stopped, ELEMENTSOF(stopped), &run);
        assert_int_equal(m.result, VPC_ERROR_VM_NOT_RUNNING);
        logoff_machine_release(&m);
}

int main(void) {
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(test_users_leave_one_by_one),
                cmocka_unit_test(test_linux_program),
                cmocka_unit_test(test_windows_guest),
                cmocka_unit_test(test_no_users),
                cmocka_unit_test(test_users_never_leave),
                cmocka_unit_test(test_autologin_user_comes_back),
                cmocka_unit_test(test_autologin_nobody_comes_back),
                cmocka_unit_test(test_other_output_is_no_autologin),
                cmocka_unit_test(test_agent_error_midway),
                cmocka_unit_test(test_transport_errors_midway),
                cmocka_unit_test(test_lying_agent),
                cmocka_unit_test(test_oversized_reply),
                cmocka_unit_test(test_unknown_os),
                cmocka_unit_test(test_newcomer_keeps_it_running),
                cmocka_unit_test(test_program_fails),
                cmocka_unit_test(test_program_never_exits),
                cmocka_unit_test(test_windows_users_mid_poll),
                cmocka_unit_test(test_timeout_names_are_bounded),
                cmocka_unit_test(test_poll_schedule),
                cmocka_unit_test(test_completes_soon_after_the_last_session),
                cmocka_unit_test(test_agent_call_rate_is_bounded),
                cmocka_unit_test(test_windows_program),
                cmocka_unit_test(test_progress_formula),
                cmocka_unit_test(test_resume_program_running),
                cmocka_unit_test(test_resume_program_gone),
                cmocka_unit_test(test_resume_polling),
                cmocka_unit_test(test_resume_without_pid),
        };
        return cmocka_run_group_tests(tests, NULL, NULL);
}
