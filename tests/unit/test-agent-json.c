/* Guest-agent reply parsers: well-formed replies as qemu-ga sends them, and replies a lying,
 * broken or hostile guest could send (malformed, oversized, wrongly typed, deeply nested). */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>
#include <errno.h>
#include <json-c/json.h>
#include <stdio.h>

#include "agent-json.h"

static void test_info(void **state) {
        AgentInfo info;
        _cleanup_free_ char *error = NULL;

        assert_int_equal(agent_parse_info(
                "{\"return\":{\"version\":\"7.2.0\",\"supported_commands\":["
                "{\"enabled\":true,\"name\":\"guest-exec\",\"success-response\":true},"
                "{\"enabled\":true,\"name\":\"guest-exec-status\",\"success-response\":true},"
                "{\"enabled\":false,\"name\":\"guest-get-users\",\"success-response\":true},"
                "{\"enabled\":true,\"name\":\"guest-get-osinfo\",\"success-response\":true}]}}",
                &info, &error), 0);
        assert_true(info.has_exec);
        assert_true(info.has_exec_status);
        assert_false(info.has_get_users);       /* disabled (qemu-ga --block-rpcs) counts as absent */
        assert_true(info.has_get_osinfo);

        assert_int_equal(agent_parse_info("{\"return\":{\"supported_commands\":{}}}", &info, &error), -EBADMSG);
        assert_non_null(strstr(error, "supported_commands"));
        assert_int_equal(agent_parse_info("{\"return\":{\"supported_commands\":[{\"name\":5,\"enabled\":true}]}}",
                                          &info, &error), -EBADMSG);
        assert_int_equal(agent_parse_info("{\"return\":{\"supported_commands\":[{\"name\":\"x\",\"enabled\":\"yes\"}]}}",
                                          &info, &error), -EBADMSG);
}

static void test_users(void **state) {
        _cleanup_strv_free_ char **users = NULL;
        _cleanup_strv_free_ char **win = NULL;
        _cleanup_free_ char *error = NULL;

        assert_int_equal(agent_parse_users(
                "{\"return\":[{\"user\":\"alice\",\"login-time\":1732490000.5},"
                "{\"user\":\"bob\",\"login-time\":1732490001.0},"
                "{\"user\":\"alice\",\"login-time\":1732490002.0}]}", &users, &error), 0);
        assert_int_equal(strv_length(users), 2);       /* alice twice is one user */
        assert_string_equal(users[0], "alice");
        assert_string_equal(users[1], "bob");

        assert_int_equal(agent_parse_users(
                "{\"return\":[{\"user\":\"Administrator\",\"domain\":\"WIN7\",\"login-time\":1.0},"
                "{\"user\":\"Administrator\",\"domain\":\"CORP\",\"login-time\":2.0}]}", &win, &error), 0);
        assert_int_equal(strv_length(win), 2);
        assert_string_equal(win[0], "WIN7\\Administrator");
        assert_string_equal(win[1], "CORP\\Administrator");
}

/* Shapes a Windows qemu-ga sends (qga/commands-win32.c, qmp_guest_get_users: WTSEnumerateSessionsA,
 * WTSQuerySessionInformationA(WTSSessionInfo), "domain" always present, login-time a double). FAKE:
 * written from qemu-ga's source, no Windows guest runs here. */
static void test_users_windows_shapes(void **state) {
        static const struct {
                const char *reply;
                const char *const expect[4];
        } cases[] = {
                /* a local account: empty domain */
                { "{\"return\":[{\"user\":\"Alice\",\"domain\":\"\",\"login-time\":1732490000.25}]}", { "Alice" } },
                /* domain accounts, Entra ID */
                { "{\"return\":[{\"user\":\"alice\",\"domain\":\"CORP\",\"login-time\":1732490000.0},"
                  "{\"user\":\"bob\",\"domain\":\"AzureAD\",\"login-time\":1732490001.5}]}",
                  { "CORP\\alice", "AzureAD\\bob" } },
                /* the same user in two domains: two users */
                { "{\"return\":[{\"user\":\"alice\",\"domain\":\"CORP\",\"login-time\":1.0},"
                  "{\"user\":\"alice\",\"domain\":\"AzureAD\",\"login-time\":2.0},"
                  "{\"user\":\"alice\",\"domain\":\"\",\"login-time\":3.0}]}",
                  { "CORP\\alice", "AzureAD\\alice", "alice" } },
                /* \u escapes decode to UTF-8; U+FFFD where qemu-ga could not convert an ANSI name */
                { "{\"return\":[{\"user\":\"Jos\\u00e9\",\"domain\":\"M\\u00dcNCHEN\",\"login-time\":5.5},"
                  "{\"user\":\"\\ufffd\\ufffdn\",\"domain\":\"CORP\",\"login-time\":6}]}",
                  { "M\xc3\x9c" "NCHEN\\Jos\xc3\xa9", "CORP\\\xef\xbf\xbd\xef\xbf\xbdn" } },
                /* integer login times, and a session whose LogonTime was 0 (negative) */
                { "{\"return\":[{\"user\":\"a\",\"login-time\":1732490000},"
                  "{\"user\":\"b\",\"domain\":\"W\",\"login-time\":-11644473600.0}]}", { "a", "W\\b" } },
        };

        for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
                _cleanup_strv_free_ char **users = NULL;
                _cleanup_free_ char *error = NULL;
                size_t n = 0;

                assert_int_equal(agent_parse_users(cases[i].reply, &users, &error), 0);
                while (n < 4 && cases[i].expect[n])
                        n++;
                assert_int_equal(strv_length(users), n);
                for (size_t j = 0; j < n; j++)
                        assert_string_equal(users[j], cases[i].expect[j]);
        }
}

static void test_users_windows_hostile(void **state) {
        static const char *const bad[] = {
                "{\"return\":[{\"user\":\"ali\\u0000ce\"}]}",            /* NUL would cut the name */
                "{\"return\":[{\"user\":\"alice\",\"domain\":\"C\\u0000\"}]}",
                "{\"return\":[{\"user\":\"alice\",\"domain\":null}]}",
                "{\"return\":[{\"user\":\"alice\",\"login-time\":\"yesterday\"}]}",
                "{\"return\":[{\"user\":\"alice\",\"login-time\":NaN}]}",
                "{\"return\":[{\"user\":\"alice\",\"login-time\":[1]}]}",
        };

        for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
                char **users = NULL;
                _cleanup_free_ char *error = NULL;

                assert_int_equal(agent_parse_users(bad[i], &users, &error), -EBADMSG);
                assert_null(users);
                assert_non_null(error);
        }
}

static void test_users_empty(void **state) {
        _cleanup_strv_free_ char **users = NULL;

        assert_int_equal(agent_parse_users("{\"return\":[]}", &users, NULL), 0);
        assert_non_null(users);
        assert_null(users[0]);
}

static void test_users_hostile(void **state) {
        static const char *const bad[] = {
                "",                                             /* nothing */
                "null",
                "[]",                                           /* not an object */
                "{\"return\":{}}",                              /* wrong type */
                "{\"return\":[5]}",
                "{\"return\":[{\"user\":5}]}",
                "{\"return\":[{\"user\":\"\"}]}",
                "{\"return\":[{\"login-time\":1}]}",
                "{\"return\":[{\"user\":\"a\",\"domain\":7}]}",
                "{\"return\":[{\"user\":\"a\"}]} trailing",     /* garbage after the document */
                "{\"return\":[{\"user\":\"a\"}",                /* truncated */
                "{\"retur",
                "{\"return\":[[[[[[[[[[[[[[[[[[[[]]]]]]]]]]]]]]]]]]]]}",   /* nesting past the bound */
        };

        for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
                char **users = NULL;
                _cleanup_free_ char *error = NULL;

                assert_int_equal(agent_parse_users(bad[i], &users, &error), -EBADMSG);
                assert_null(users);
                assert_non_null(error);
        }
        assert_int_equal(agent_parse_users(NULL, &(char **) { NULL }, NULL), -EBADMSG);
}

static void test_users_oversized(void **state) {
        _cleanup_free_ char *big = NULL, *many = NULL, *long_name = NULL, *error = NULL;
        char **users = NULL;
        size_t n = AGENT_REPLY_MAX + 100, len;

        /* A reply past the byte bound is refused before parsing. */
        big = malloc(n + 1);
        assert_non_null(big);
        memset(big, ' ', n);
        memcpy(big, "{\"return\":[", 11);
        big[n - 2] = ']';
        big[n - 1] = '}';
        big[n] = 0;
        assert_int_equal(agent_parse_users(big, &users, &error), -E2BIG);

        /* More users than the bound. */
        many = malloc(64 * (AGENT_USERS_MAX + 2));
        assert_non_null(many);
        len = (size_t) sprintf(many, "{\"return\":[");
        for (unsigned i = 0; i <= AGENT_USERS_MAX; i++)
                len += (size_t) sprintf(many + len, "%s{\"user\":\"u%u\"}", i ? "," : "", i);
        sprintf(many + len, "]}");
        assert_int_equal(agent_parse_users(many, &users, &error), -E2BIG);

        /* A name longer than the bound. */
        long_name = malloc(AGENT_NAME_MAX + 64);
        assert_non_null(long_name);
        len = (size_t) sprintf(long_name, "{\"return\":[{\"user\":\"");
        memset(long_name + len, 'a', AGENT_NAME_MAX + 1);
        sprintf(long_name + len + AGENT_NAME_MAX + 1, "\"}]}");
        assert_int_equal(agent_parse_users(long_name, &users, &error), -EBADMSG);
        assert_null(users);
}

static void test_agent_error_is_sanitized(void **state) {
        _cleanup_free_ char *error = NULL;
        char **users = NULL;

        assert_int_equal(agent_parse_users(
                "{\"error\":{\"class\":\"GenericError\",\"desc\":\"bad\\u001b[31m thing\\n\"}}", &users, &error),
                -EREMOTEIO);
        assert_non_null(strstr(error, "bad\\x1b[31m thing\\x0a"));
        assert_null(strchr(error, '\033'));
        assert_null(strchr(error, '\n'));
}

static void test_osinfo(void **state) {
        GuestOsKind k;

        assert_int_equal(agent_parse_osinfo("{\"return\":{\"kernel-name\":\"Linux\",\"id\":\"debian\"}}", &k, NULL), 0);
        assert_int_equal(k, GUEST_OS_LINUX);
        assert_int_equal(agent_parse_osinfo("{\"return\":{\"kernel-name\":\"Linux\"}}", &k, NULL), 0);
        assert_int_equal(k, GUEST_OS_LINUX);
        assert_int_equal(agent_parse_osinfo("{\"return\":{\"kernel-name\":\"Windows_NT\",\"id\":\"mswindows\"}}", &k, NULL), 0);
        assert_int_equal(k, GUEST_OS_WINDOWS);
        assert_int_equal(agent_parse_osinfo("{\"return\":{\"kernel-name\":\"FreeBSD\"}}", &k, NULL), 0);
        assert_int_equal(k, GUEST_OS_UNKNOWN);
        assert_int_equal(agent_parse_osinfo("{\"return\":[]}", &k, NULL), -EBADMSG);
}

static void test_exec(void **state) {
        int64_t pid;
        AgentExecStatus st;

        assert_int_equal(agent_parse_exec("{\"return\":{\"pid\":1234}}", &pid, NULL), 0);
        assert_int_equal(pid, 1234);
        assert_int_equal(agent_parse_exec("{\"return\":{\"pid\":\"1234\"}}", &pid, NULL), -EBADMSG);
        assert_int_equal(agent_parse_exec("{\"return\":{\"pid\":-1}}", &pid, NULL), -EBADMSG);
        assert_int_equal(agent_parse_exec("{\"return\":{\"pid\":99999999999}}", &pid, NULL), -EBADMSG);
        assert_int_equal(agent_parse_exec("{\"return\":{\"pid\":1.5}}", &pid, NULL), -EBADMSG);

        assert_int_equal(agent_parse_exec_status("{\"return\":{\"exited\":false}}", &st, NULL), 0);
        assert_false(st.exited);
        assert_int_equal(agent_parse_exec_status("{\"return\":{\"exited\":true,\"exitcode\":3,\"out-data\":\"\"}}", &st, NULL), 0);
        assert_true(st.exited);
        assert_int_equal(st.exit_code, 3);
        assert_false(st.signalled);
        assert_int_equal(agent_parse_exec_status("{\"return\":{\"exited\":true,\"signal\":9}}", &st, NULL), 0);
        assert_true(st.signalled);
        assert_int_equal(st.signal, 9);
        assert_int_equal(agent_parse_exec_status("{\"return\":{\"exited\":true}}", &st, NULL), -EBADMSG);
        assert_int_equal(agent_parse_exec_status("{\"return\":{\"exited\":1}}", &st, NULL), -EBADMSG);
}

/* guest-exec-status as a Windows qemu-ga sends it (qga/commands.c: the 32-bit exit code is a gint;
 * below 0xC0000000 it is "exitcode", from there "signal"). FAKE: from qemu-ga's source. */
static void test_exec_status_windows(void **state) {
        AgentExecStatus st;
        char buf[64];

        /* STATUS_CONTROL_C_EXIT, as the gint qemu-ga holds and as an unsigned value */
        assert_int_equal(agent_parse_exec_status("{\"return\":{\"exited\":true,\"signal\":-1073741510}}", &st, NULL), 0);
        assert_true(st.signalled);
        assert_string_equal(agent_exec_status_to_string(&st, GUEST_OS_WINDOWS, buf, sizeof(buf)), "NTSTATUS 0xC000013A");
        assert_int_equal(agent_parse_exec_status("{\"return\":{\"exited\":true,\"signal\":3221225786}}", &st, NULL), 0);
        assert_true(st.signalled);
        assert_int_equal(st.signal, 3221225786LL);
        assert_string_equal(agent_exec_status_to_string(&st, GUEST_OS_WINDOWS, buf, sizeof(buf)), "NTSTATUS 0xC000013A");
        /* an exit code past 255 (a Win32 error or HRESULT a program returns) */
        assert_int_equal(agent_parse_exec_status("{\"return\":{\"exited\":true,\"exitcode\":-2147024891}}", &st, NULL), 0);
        assert_false(st.signalled);
        assert_string_equal(agent_exec_status_to_string(&st, GUEST_OS_WINDOWS, buf, sizeof(buf)), "exit status 0x80070005");
        assert_int_equal(agent_parse_exec_status("{\"return\":{\"exited\":true,\"exitcode\":1326}}", &st, NULL), 0);
        assert_int_equal(st.exit_code, 1326);
        /* Linux */
        assert_int_equal(agent_parse_exec_status("{\"return\":{\"exited\":true,\"signal\":15}}", &st, NULL), 0);
        assert_string_equal(agent_exec_status_to_string(&st, GUEST_OS_LINUX, buf, sizeof(buf)), "signal 15");
        assert_int_equal(agent_parse_exec_status("{\"return\":{\"exited\":true,\"exitcode\":2}}", &st, NULL), 0);
        assert_string_equal(agent_exec_status_to_string(&st, GUEST_OS_LINUX, buf, sizeof(buf)), "exit status 2");

        /* bounds and types stay */
        assert_int_equal(agent_parse_exec_status("{\"return\":{\"exited\":true,\"signal\":4294967296}}", &st, NULL), -EBADMSG);
        assert_int_equal(agent_parse_exec_status("{\"return\":{\"exited\":true,\"signal\":-2147483649}}", &st, NULL), -EBADMSG);
        assert_int_equal(agent_parse_exec_status("{\"return\":{\"exited\":true,\"exitcode\":4294967296}}", &st, NULL), -EBADMSG);
        assert_int_equal(agent_parse_exec_status("{\"return\":{\"exited\":true,\"signal\":3.5}}", &st, NULL), -EBADMSG);
        assert_int_equal(agent_parse_exec_status("{\"return\":{\"exited\":true,\"signal\":\"9\"}}", &st, NULL), -EBADMSG);
        assert_int_equal(agent_parse_exec_status("{\"return\":{\"exited\":true,\"signal\":9,\"exitcode\":0}}", &st, NULL), 0);
        assert_true(st.signalled);
}

static void test_exec_status_output(void **state) {
        AgentExecStatus st;
        _cleanup_free_ char *big = NULL;
        size_t len;

        /* "line one\r\nline\ttwo\n\x1b[31m" */
        assert_int_equal(agent_parse_exec_status(
                "{\"return\":{\"exited\":true,\"exitcode\":1,\"out-data\":\"b2s=\","
                "\"err-data\":\"bGluZSBvbmUNCmxpbmUJdHdvChtbMzFt\",\"err-truncated\":true}}", &st, NULL), 0);
        assert_string_equal(st.out, "ok");
        assert_string_equal(st.err, "line one line two ?[31m");
        assert_true(st.err_truncated);
        assert_false(st.out_truncated);
        assert_int_equal(agent_parse_exec_status(
                "{\"return\":{\"exited\":true,\"exitcode\":0,\"out-truncated\":false}}", &st, NULL), 0);
        assert_string_equal(st.out, "");
        assert_string_equal(st.err, "");

        /* not base64, wrong types */
        assert_int_equal(agent_parse_exec_status("{\"return\":{\"exited\":true,\"exitcode\":1,\"out-data\":\"b2s\"}}", &st, NULL), -EBADMSG);
        assert_int_equal(agent_parse_exec_status("{\"return\":{\"exited\":true,\"exitcode\":1,\"out-data\":\"b!s=\"}}", &st, NULL), -EBADMSG);
        assert_int_equal(agent_parse_exec_status("{\"return\":{\"exited\":true,\"exitcode\":1,\"out-data\":\"=b2s\"}}", &st, NULL), -EBADMSG);
        assert_int_equal(agent_parse_exec_status("{\"return\":{\"exited\":true,\"exitcode\":1,\"out-data\":5}}", &st, NULL), -EBADMSG);
        assert_int_equal(agent_parse_exec_status("{\"return\":{\"exited\":true,\"exitcode\":1,\"out-truncated\":1}}", &st, NULL), -EBADMSG);

        /* a long output is cut to the excerpt bound */
        big = malloc(64 * 1024);
        assert_non_null(big);
        len = (size_t) sprintf(big, "{\"return\":{\"exited\":true,\"exitcode\":1,\"err-data\":\"");
        for (size_t i = 0; i < 10000; i++)
                len += (size_t) sprintf(big + len, "QUFB");     /* "AAA" */
        sprintf(big + len, "\"}}");
        assert_int_equal(agent_parse_exec_status(big, &st, NULL), 0);
        assert_int_equal(strlen(st.err), AGENT_EXCERPT_MAX);
}

static void test_commands_are_well_formed(void **state) {
        static const char *const argv[] = { "-c", "echo \"quoted\" 'and' \\ back", NULL };
        _cleanup_free_ char *exec = agent_command_exec("/bin/sh", argv);
        _cleanup_free_ char *status = agent_command_exec_status(42);
        json_object *o, *v, *args;

        assert_non_null(exec);
        o = json_tokener_parse(exec);
        assert_non_null(o);
        assert_true(json_object_object_get_ex(o, "execute", &v));
        assert_string_equal(json_object_get_string(v), "guest-exec");
        assert_true(json_object_object_get_ex(o, "arguments", &args));
        assert_true(json_object_object_get_ex(args, "arg", &v));
        assert_int_equal(json_object_array_length(v), 2);
        /* The argument survives the JSON encoding unchanged: nothing is spliced or reinterpreted. */
        assert_string_equal(json_object_get_string(json_object_array_get_idx(v, 1)), argv[1]);
        json_object_put(o);

        assert_string_equal(status, "{\"execute\":\"guest-exec-status\",\"arguments\":{\"pid\":42}}");
        o = json_tokener_parse(AGENT_COMMAND_INFO);
        assert_non_null(o);
        json_object_put(o);
}

int main(void) {
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(test_info),
                cmocka_unit_test(test_users),
                cmocka_unit_test(test_users_windows_shapes),
                cmocka_unit_test(test_users_windows_hostile),
                cmocka_unit_test(test_users_empty),
                cmocka_unit_test(test_users_hostile),
                cmocka_unit_test(test_users_oversized),
                cmocka_unit_test(test_agent_error_is_sanitized),
                cmocka_unit_test(test_osinfo),
                cmocka_unit_test(test_exec),
                cmocka_unit_test(test_exec_status_windows),
                cmocka_unit_test(test_exec_status_output),
                cmocka_unit_test(test_commands_are_well_formed),
        };
        return cmocka_run_group_tests(tests, NULL, NULL);
}
