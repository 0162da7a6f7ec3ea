/* LogoffWithOptions' pieces without a guest: the option parser on real sd-bus messages (a
 * socketpair), the message's cleaning, the message program's guest-exec command (the text only on
 * stdin, base64), the Logoff machine's order (message, grace with Progress, then the logoff; a
 * failed message logs nobody off), the state file's options, the Windows program's WTS calls, and docs/logoff.md showing both
 * programs as compiled in. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>
#include <errno.h>
#include <json-c/json.h>
#include <sys/socket.h>
#include <systemd/sd-bus.h>
#include <systemd/sd-id128.h>

#include "bus-pair.h"
#include "logoff-message.h"
#include "logoff-options.h"
#include "logoff-programs.h"
#include "logoff.h"
#include "task-store.h"

#define SEC USEC_PER_SEC

/* The client sends call; returns it as the service received it. */
static sd_bus_message *deliver(Pair *p, sd_bus_message *call) {
        sd_bus_message *got = NULL;

        assert_int_equal(sd_bus_send(p->client, call, NULL), 1);
        for (int i = 0; i < 200 && !got; i++) {
                (void) sd_bus_process(p->client, NULL);
                if (sd_bus_process(p->service, &got) < 0)
                        break;
                if (got && !sd_bus_message_is_method_call(got, "org.vpc.GuestOS", "LogoffWithOptions"))
                        got = sd_bus_message_unref(got);
                if (!got)
                        (void) sd_bus_wait(p->service, 10 * 1000);
        }
        assert_non_null(got);
        return got;
}

static sd_bus_message *new_call(Pair *p) {
        sd_bus_message *call = NULL;

        assert_int_equal(sd_bus_message_new_method_call(p->client, &call, NULL, "/org/vpc/GuestOS/g1", "org.vpc.GuestOS",
                                                        "LogoffWithOptions"), 0);
        assert_true(sd_bus_message_open_container(call, 'a', "{sv}") >= 0);
        return call;
}

/* Parses what new_call() plus entries became; returns the parser's result, *error its message. */
static int parse(Pair *p, sd_bus_message *call, LogoffOptions *o, char **error) {
        _cleanup_(sd_bus_message_unrefp) sd_bus_message *got = NULL;

        assert_true(sd_bus_message_close_container(call) >= 0);
        got = deliver(p, call);
        sd_bus_message_unref(call);
        *error = NULL;
        return logoff_options_read(got, o, error);
}

static void test_parse_good(void **state) {
        Pair *p = *state;
        sd_bus_message *call = new_call(p);
        LogoffOptions o = {};
        char *error;

        assert_true(sd_bus_message_append(call, "{sv}", "Message", "s", "Save your work.\n\tNow") >= 0);
        assert_true(sd_bus_message_append(call, "{sv}", "GraceSec", "u", 3600) >= 0);
        assert_int_equal(parse(p, call, &o, &error), 0);
        assert_null(error);
        assert_string_equal(o.message, "Save your work.\n\tNow");
        assert_int_equal(o.grace_sec, 3600);
        logoff_options_done(&o);

        /* None at all: no message, no grace. */
        call = new_call(p);
        assert_int_equal(parse(p, call, &o, &error), 0);
        assert_null(o.message);
        assert_int_equal(o.grace_sec, 0);
}

static void expect_invalid(Pair *p, sd_bus_message *call, const char *expect) {
        LogoffOptions o = {};
        char *error;

        assert_int_equal(parse(p, call, &o, &error), -EINVAL);
        assert_non_null(error);
        if (!strstr(error, expect))
                fail_msg("expected '%s' in '%s'", expect, error);
        assert_null(o.message);
        free(error);
}

static void test_parse_refusals(void **state) {
        Pair *p = *state;
        char big[LOGOFF_MESSAGE_MAX + 2];
        sd_bus_message *call;

        call = new_call(p);
        assert_true(sd_bus_message_append(call, "{sv}", "Colour", "s", "red") >= 0);
        expect_invalid(p, call, "option 'Colour' is unknown");

        call = new_call(p);
        assert_true(sd_bus_message_append(call, "{sv}", "Message", "u", 7) >= 0);
        expect_invalid(p, call, "option 'Message' takes type 's'");

        call = new_call(p);
        assert_true(sd_bus_message_append(call, "{sv}", "GraceSec", "i", 7) >= 0);
        expect_invalid(p, call, "option 'GraceSec' takes type 'u'");

        call = new_call(p);
        assert_true(sd_bus_message_append(call, "{sv}", "GraceSec", "u", 3601) >= 0);
        expect_invalid(p, call, "option 'GraceSec' is at most 3600 seconds");

        call = new_call(p);
        assert_true(sd_bus_message_append(call, "{sv}", "GraceSec", "u", 1) >= 0);
        assert_true(sd_bus_message_append(call, "{sv}", "GraceSec", "u", 2) >= 0);
        expect_invalid(p, call, "option 'GraceSec' given twice");

        memset(big, 'x', sizeof(big) - 1);
        big[sizeof(big) - 1] = 0;
        call = new_call(p);
        assert_true(sd_bus_message_append(call, "{sv}", "Message", "s", big) >= 0);
        expect_invalid(p, call, "option 'Message' must be valid UTF-8 of at most 1024 bytes");

        /* A message after a bad key leaks nothing (valgrind and ASan watch). */
        call = new_call(p);
        assert_true(sd_bus_message_append(call, "{sv}", "Message", "s", "hello") >= 0);
        assert_true(sd_bus_message_append(call, "{sv}", "Nope", "b", 1) >= 0);
        expect_invalid(p, call, "option 'Nope'");
}

static void test_message_clean(void **state) {
        char exact[LOGOFF_MESSAGE_MAX + 1], *s;

        assert_int_equal(logoff_message_clean("a\x1b[2J\x07\r\nb\tc\x7f" "d\xc2\x9b" "e \xc2\xa0\xc3\xa4\xe2\x82\xac", &s), 0);
        assert_string_equal(s, "a[2J\nb\tcde \xc2\xa0\xc3\xa4\xe2\x82\xac");
        free(s);
        assert_int_equal(logoff_message_clean("$(touch /tmp/pwned); `id`", &s), 0);
        assert_string_equal(s, "$(touch /tmp/pwned); `id`");     /* data, never code: kept as typed */
        free(s);
        assert_int_equal(logoff_message_clean("bad \xff", &s), -EINVAL);
        assert_int_equal(logoff_message_clean("\xed\xa0\x80", &s), -EINVAL);      /* a surrogate */
        memset(exact, 'x', sizeof(exact) - 1);
        exact[sizeof(exact) - 1] = 0;
        assert_int_equal(logoff_message_clean(exact, &s), 0);
        free(s);
}

static void test_base64(void **state) {
        static const struct { const char *in, *out; } v[] = {
                { "", "" }, { "f", "Zg==" }, { "fo", "Zm8=" }, { "foo", "Zm9v" }, { "foobar", "Zm9vYmFy" },
                { "\xff\xfe\xfd", "//79" },
        };

        for (size_t i = 0; i < ELEMENTSOF(v); i++) {
                char *s = logoff_message_base64(v[i].in, strlen(v[i].in));

                assert_string_equal(s, v[i].out);
                free(s);
        }
}

static void test_message_command(void **state) {
        const char *text = "Bye $(id) `id`; \"quoted\" 'single'";
        json_object *root, *args, *v;
        char *command, *expect;
        int r;

        assert_int_equal(logoff_message_command(GUEST_OS_LINUX, text, 30, &command), 0);
        /* The text is nowhere but in the base64 of stdin. */
        assert_null(strstr(command, "Bye"));
        root = json_tokener_parse(command);
        assert_non_null(root);
        assert_true(json_object_object_get_ex(root, "arguments", &args));
        assert_true(json_object_object_get_ex(args, "path", &v));
        assert_string_equal(json_object_get_string(v), "/bin/sh");
        assert_true(json_object_object_get_ex(args, "arg", &v));
        assert_int_equal(json_object_array_length(v), 2);
        assert_string_equal(json_object_get_string(json_object_array_get_idx(v, 1)), LOGOFF_PROGRAM_MESSAGE_LINUX);
        assert_true(json_object_object_get_ex(args, "input-data", &v));
        r = asprintf(&expect, "30\n%s", text);
        assert_true(r > 0);
        char *encoded = logoff_message_base64(expect, strlen(expect));
        assert_string_equal(json_object_get_string(v), encoded);
        free(encoded);
        free(expect);
        json_object_put(root);
        free(command);

        assert_int_equal(logoff_message_command(GUEST_OS_WINDOWS, "x", 0, &command), 0);
        assert_non_null(strstr(command, "powershell.exe"));
        assert_non_null(strstr(command, "-EncodedCommand"));
        free(command);
        assert_int_equal(logoff_message_command(GUEST_OS_UNKNOWN, "x", 0, &command), -EOPNOTSUPP);
}

/* --- the machine's order, driven by hand --- */

#define USERS "{\"return\":[{\"user\":\"alice\",\"login-time\":1.0}]}"
#define NOBODY "{\"return\":[]}"
#define EXEC "{\"return\":{\"pid\":42}}"
#define EXITED_0 "{\"return\":{\"exited\":true,\"exitcode\":0}}"
#define EXITED_1 "{\"return\":{\"exited\":true,\"exitcode\":1,\"err-data\":\"bm8gdHR5\"}}"

static void reply(LogoffMachine *m, uint64_t now, const char *json, LogoffAction *a) {
        assert_int_equal(logoff_machine_reply(m, now, &(LogoffReply) { VPC_OK, NULL, json }, a), 0);
}

static void start_with(LogoffMachine *m, const char *text, uint32_t grace, LogoffAction *a) {
        logoff_machine_init(m, GUEST_OS_LINUX, 0, 30 * SEC, 1 * SEC);
        assert_int_equal(logoff_machine_set_options(m, &(LogoffOptions) { .message = (char *) text, .grace_sec = grace }), 0);
        assert_int_equal(m->deadline, (30 + grace) * SEC);       /* the grace comes on top of the timeout */
        assert_int_equal(logoff_machine_start(m, a), 0);
        assert_non_null(strstr(a->command, "guest-get-users"));
        reply(m, 0, USERS, a);
}

static void test_machine_message_grace_logoff(void **state) {
        LogoffMachine m;
        LogoffAction a;
        uint64_t now;

        start_with(&m, "bye", 3, &a);
        /* The message first, its program's exit read... */
        assert_int_equal(a.kind, LOGOFF_ACTION_AGENT);
        assert_non_null(strstr(a.command, "input-data"));
        assert_non_null(strstr(a.command, "message-linux: no grace on stdin"));
        reply(&m, 10, EXEC, &a);
        assert_int_equal(a.kind, LOGOFF_ACTION_SLEEP);
        assert_int_equal(logoff_machine_wake(&m, 20, &a), 0);
        assert_non_null(strstr(a.command, "guest-exec-status"));
        reply(&m, 100, EXITED_0, &a);
        /* ...then the grace, in steps of a second, Progress from 0 towards 50... */
        assert_int_equal(m.phase, LOGOFF_PHASE_GRACE);
        unsigned last = m.percent;
        for (now = 100; a.kind == LOGOFF_ACTION_SLEEP; ) {
                assert_true(a.sleep_usec <= LOGOFF_GRACE_STEP_USEC);
                now += a.sleep_usec;
                assert_int_equal(logoff_machine_wake(&m, now, &a), 0);
                assert_true(m.percent >= last && m.percent <= LOGOFF_GRACE_PERCENT);
                if (a.kind == LOGOFF_ACTION_SLEEP)
                        assert_true(m.percent < LOGOFF_GRACE_PERCENT && m.percent > 0);
                last = m.percent;
        }
        /* ...and the logoff program only once it is over. */
        assert_int_equal(now, 100 + 3 * SEC);
        assert_int_equal(m.percent, LOGOFF_GRACE_PERCENT);
        assert_int_equal(m.phase, LOGOFF_PHASE_LOGOFF_EXEC);
        assert_non_null(strstr(a.command, "linux_logind"));
        reply(&m, now, EXEC, &a);
        assert_int_equal(logoff_machine_wake(&m, now + a.sleep_usec, &a), 0);
        reply(&m, now + SEC, EXITED_0, &a);
        reply(&m, now + SEC, NOBODY, &a);
        assert_int_equal(a.kind, LOGOFF_ACTION_DONE);
        assert_int_equal(m.result, VPC_OK);
        assert_int_equal(m.percent, 100);
        logoff_machine_release(&m);
}

static void test_machine_message_failed_logs_nobody_off(void **state) {
        LogoffMachine m;
        LogoffAction a;

        start_with(&m, "bye", 60, &a);
        reply(&m, 10, EXEC, &a);
        assert_int_equal(logoff_machine_wake(&m, 20, &a), 0);
        reply(&m, 100, EXITED_1, &a);
        assert_int_equal(a.kind, LOGOFF_ACTION_DONE);
        assert_int_equal(m.result, VPC_ERROR_EXCEPTION);
        assert_non_null(strstr(m.message, "the message program 'message-linux' failed (exit status 1): no tty"));
        logoff_machine_release(&m);
}

static void test_machine_grace_without_message(void **state) {
        LogoffMachine m;
        LogoffAction a;

        start_with(&m, "", 2, &a);
        /* No message program: the grace at once. */
        assert_int_equal(a.kind, LOGOFF_ACTION_SLEEP);
        assert_int_equal(m.phase, LOGOFF_PHASE_GRACE);
        assert_int_equal(logoff_machine_wake(&m, 1 * SEC, &a), 0);
        assert_int_equal(m.percent, 25);
        assert_int_equal(logoff_machine_wake(&m, 2 * SEC, &a), 0);
        assert_int_equal(m.phase, LOGOFF_PHASE_LOGOFF_EXEC);
        logoff_machine_release(&m);

        /* Nobody logged on: NoSuchLogonSession, no message sent. */
        logoff_machine_init(&m, GUEST_OS_LINUX, 0, 30 * SEC, 1 * SEC);
        assert_int_equal(logoff_machine_set_options(&m, &(LogoffOptions) { .message = (char *) "x", .grace_sec = 5 }), 0);
        assert_int_equal(logoff_machine_start(&m, &a), 0);
        reply(&m, 0, NOBODY, &a);
        assert_int_equal(a.kind, LOGOFF_ACTION_DONE);
        assert_int_equal(m.result, VPC_ERROR_NO_SUCH_LOGON_SESSION);
        logoff_machine_release(&m);
}

/* --- the state file --- */

static void test_state_file_options(void **state) {
        TaskRecord rec = {
                .id = 7, .vm_uuid = "0da308bd-dbf2-4c21-86a4-08ed11f2426c", .vm_name = (char *) "m1",
                .description = (char *) "Logoff", .owner = 0, .started_usec = 1, .percent = 12,
                .resume = { .os = GUEST_OS_LINUX, .deadline_usec = 99, .notice = "Bye \"now\"\n\xc3\xa4", .grace_sec = 30 },
        }, back = {};
        char *text, *error;

        assert_int_equal(task_record_format(&rec, &text), 0);
        assert_int_equal(task_record_parse(text, strlen(text), &back, &error), 0);
        assert_string_equal(back.resume.notice, rec.resume.notice);
        assert_int_equal(back.resume.grace_sec, 30);
        task_record_done(&back);
        free(text);

        /* Without options the file is as before: no notice, no grace_sec. */
        rec.resume.notice[0] = 0;
        rec.resume.grace_sec = 0;
        assert_int_equal(task_record_format(&rec, &text), 0);
        assert_null(strstr(text, "notice"));
        assert_int_equal(task_record_parse(text, strlen(text), &back, &error), 0);
        task_record_done(&back);
        free(text);

        /* One without the other, or a grace out of bounds, is refused. */
        static const char *const bad[] = {
                "\"notice\":\"x\"}", "\"grace_sec\":3}", "\"notice\":\"x\",\"grace_sec\":3601}",
        };
        rec.resume.grace_sec = 0;
        assert_int_equal(task_record_format(&rec, &text), 0);
        for (size_t i = 0; i < ELEMENTSOF(bad); i++) {
                char *edited = NULL, *end = strrchr(text, '}');

                assert_true(asprintf(&edited, "%.*s,%s\n", (int) (end - text), text, bad[i]) > 0);
                assert_true(task_record_parse(edited, strlen(edited), &back, &error) < 0);
                free(error);
                free(edited);
        }
        free(text);
}

/* --- the Windows program: the WTS calls it makes, and none it must not --- */

static void test_windows_program(void **state) {
        const char *ps = LOGOFF_PROGRAM_MESSAGE_WINDOWS;

        /* The message is read from stdin as UTF-8, never from the program's text or arguments. */
        assert_non_null(strstr(ps, "[Console]::OpenStandardInput()"));
        assert_non_null(strstr(ps, "New-Object Text.UTF8Encoding($false)"));
        assert_non_null(strstr(ps, "$grace -notmatch '^[0-9]{1,9}$'"));
        /* WTSSendMessageW to each user session: lengths in bytes, the grace as its timeout, no wait. */
        assert_non_null(strstr(ps, "public static extern bool WTSSendMessageW(IntPtr server, int session, string title, "
                                   "int titleBytes, string message, int messageBytes, int style, int timeout, out int "
                                   "response, bool wait);"));
        assert_non_null(strstr(ps, "CharSet = CharSet.Unicode"));
        assert_non_null(strstr(ps, "WTSSendMessageW([IntPtr]::Zero, $id, $title, 2 * $title.Length, $body,\n"
                                   "            2 * $body.Length, 0x30, [int]$grace, [ref]$response, $false)"));
        assert_non_null(strstr(ps, "WTSEnumerateSessionsW([IntPtr]::Zero, 0, 1, [ref]$info, [ref]$count)"));
        assert_non_null(strstr(ps, "if ($id -eq 0 -or (Get-SessionUser $id) -eq '') { continue }"));
        /* It only tells: no logoff, no disconnect, no Invoke-Expression of anything, no tool whose
         * localized output would have to be parsed. */
        static const char *const never[] = {
                "WTSLogoffSession", "WTSDisconnectSession", "Invoke-Expression", "iex ", "msg.exe", "quser", "query ",
                "$text |", "-Command",
        };
        for (size_t i = 0; i < ELEMENTSOF(never); i++)
                if (strstr(ps, never[i]))
                        fail_msg("the Windows message program holds '%s'", never[i]);
        /* The shared WTS preamble, then the message program's own text. */
        assert_int_equal(strncmp(ps, LOGOFF_PROGRAM_WTS_PREAMBLE, strlen(LOGOFF_PROGRAM_WTS_PREAMBLE)), 0);
        assert_string_equal(ps + strlen(LOGOFF_PROGRAM_WTS_PREAMBLE), LOGOFF_PROGRAM_MESSAGE_WINDOWS_BODY);
        assert_null(strstr(LOGOFF_PROGRAM_WTS_PREAMBLE, "WTSSendMessageW"));
        /* The Linux one neither evaluates the text. */
        assert_null(strstr(LOGOFF_PROGRAM_MESSAGE_LINUX, "eval"));
        assert_non_null(strstr(LOGOFF_PROGRAM_MESSAGE_LINUX, "text=$(cat)"));
}

/* docs/logoff.md shows both programs as they are compiled in (the Windows one as the WTS preamble
 * and its own text). */
static void test_docs_show_the_programs(void **state) {
        FILE *f = fopen(DOCS_DIR "/logoff.md", "re");
        char *docs = NULL;
        size_t n = 0;

        assert_non_null(f);
        assert_true(getdelim(&docs, &n, 0, f) > 0);
        fclose(f);
        assert_non_null(strstr(docs, LOGOFF_PROGRAM_MESSAGE_LINUX));
        assert_non_null(strstr(docs, LOGOFF_PROGRAM_WTS_PREAMBLE));
        assert_non_null(strstr(docs, LOGOFF_PROGRAM_MESSAGE_WINDOWS_BODY));
        free(docs);
}

int main(void) {
        const struct CMUnitTest tests[] = {
                cmocka_unit_test_setup_teardown(test_parse_good, pair_setup, pair_teardown),
                cmocka_unit_test_setup_teardown(test_parse_refusals, pair_setup, pair_teardown),
                cmocka_unit_test(test_message_clean),
                cmocka_unit_test(test_base64),
                cmocka_unit_test(test_message_command),
                cmocka_unit_test(test_machine_message_grace_logoff),
                cmocka_unit_test(test_machine_message_failed_logs_nobody_off),
                cmocka_unit_test(test_machine_grace_without_message),
                cmocka_unit_test(test_state_file_options),
                cmocka_unit_test(test_windows_program),
                cmocka_unit_test(test_docs_show_the_programs),
        };

        return cmocka_run_group_tests(tests, NULL, NULL);
}
