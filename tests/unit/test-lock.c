/* The lock programs (service/lock-programs/) as they go to the guest agent, and what their exit
 * means for a Lock task (lock-strategy.c). FAKE for Windows: the program never ran on a real Windows
 * here; this checks its encoding and the WTS calls it makes, not its behaviour. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>
#include <stdio.h>
#include <string.h>

#include <json-c/json.h>

#include "lock-programs.h"
#include "lock-strategy.h"

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

/* guest-exec's argument list of the strategy, as JSON; *ret_o is the caller's to put. */
static json_object *exec_args(const LockStrategy *s, json_object **ret_o) {
        _cleanup_free_ char *exec = agent_command_exec(s->path, s->argv);
        json_object *o, *args, *arg;

        assert_non_null(exec);
        o = json_tokener_parse(exec);
        assert_non_null(o);
        assert_true(json_object_object_get_ex(o, "arguments", &args));
        assert_true(json_object_object_get_ex(args, "arg", &arg));
        *ret_o = o;
        return arg;
}

/* The UTF-16LE of an ASCII text, base64 decoded back to the text. */
static char *decode_utf16le_base64(const char *encoded) {
        const char *alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
        size_t len = strlen(encoded), n = 0, k = 0;
        char *text = malloc(len + 1);
        uint32_t acc = 0;
        int bits = 0;

        assert_non_null(text);
        for (size_t i = 0; i < len && encoded[i] != '='; i++) {
                const char *p = strchr(alphabet, encoded[i]);

                assert_non_null(p);
                acc = (acc << 6) | (uint32_t) (p - alphabet);
                bits += 6;
                if (bits >= 8) {
                        uint8_t byte = (uint8_t) (acc >> (bits - 8));

                        bits -= 8;
                        acc &= (1U << bits) - 1;
                        if (k++ % 2 == 0)
                                text[n++] = (char) byte;
                        else
                                assert_int_equal(byte, 0);
                }
        }
        text[n] = 0;
        return text;
}

static void test_windows_program(void **state) {
        const LockStrategy *s = lock_strategy_get(GUEST_OS_WINDOWS);
        _cleanup_free_ char *docs = read_file(DOCS_DIR "/lock.md");
        _cleanup_free_ char *text = NULL;
        json_object *o, *arg;
        const char *encoded;
        size_t n;

        assert_string_equal(s->name, "windows");
        assert_string_equal(s->path, "C:\\Windows\\System32\\WindowsPowerShell\\v1.0\\powershell.exe");
        arg = exec_args(s, &o);
        n = json_object_array_length(arg);
        assert_string_equal(json_object_get_string(json_object_array_get_idx(arg, n - 2)), "-EncodedCommand");
        encoded = json_object_get_string(json_object_array_get_idx(arg, n - 1));
        /* Only base64 characters: nothing that Windows command-line quoting could change. */
        assert_int_equal(strspn(encoded, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/="),
                         strlen(encoded));
        text = decode_utf16le_base64(encoded);
        assert_string_equal(text, LOCK_PROGRAM_WINDOWS);
        json_object_put(o);

        /* The WTS calls it makes: the sessions listed, each active user session disconnected (the
         * console then shows the lock screen), session 0 skipped; never a logoff, and no tool whose
         * output is localized (tsdiscon, quser, query). */
        assert_non_null(strstr(text, "WTSEnumerateSessionsW([IntPtr]::Zero, 0, 1,"));
        assert_non_null(strstr(text, "WTSQuerySessionInformationW([IntPtr]::Zero, $id, 5,"));
        assert_non_null(strstr(text, "WTSDisconnectSession([IntPtr]::Zero, $id, $true)"));
        assert_non_null(strstr(text, "$id -eq 0"));
        assert_non_null(strstr(text, "-ne 0) { continue }"));   /* WTSActive (0) sessions only */
        assert_null(strstr(text, "WTSLogoffSession"));
        assert_null(strstr(text, "ExitWindows"));
        assert_null(strstr(text, "tsdiscon"));
        assert_null(strstr(text, "quser"));
        assert_null(strstr(text, "logoff.exe"));

        /* It is the shared WTS preamble, then the lock program's own text, which alone declares the
         * call it acts with. */
        assert_int_equal(strncmp(text, LOCK_PROGRAM_WTS_PREAMBLE, strlen(LOCK_PROGRAM_WTS_PREAMBLE)), 0);
        assert_string_equal(text + strlen(LOCK_PROGRAM_WTS_PREAMBLE), LOCK_PROGRAM_WINDOWS_BODY);
        assert_non_null(strstr(LOCK_PROGRAM_WINDOWS_BODY, "public static extern bool WTSDisconnectSession("));
        assert_non_null(strstr(LOCK_PROGRAM_WINDOWS_BODY, "Get-UserSessionIds -Active"));
        assert_null(strstr(LOCK_PROGRAM_WTS_PREAMBLE, "WTSDisconnectSession"));

        /* docs/lock.md shows the program's own text exactly, docs/logoff.md the preamble. */
        assert_non_null(strstr(docs, LOCK_PROGRAM_WINDOWS_BODY));
        _cleanup_free_ char *logoff_docs = read_file(DOCS_DIR "/logoff.md");
        assert_non_null(strstr(logoff_docs, LOCK_PROGRAM_WTS_PREAMBLE));
}

static void test_linux_program(void **state) {
        const LockStrategy *s = lock_strategy_get(GUEST_OS_LINUX);
        _cleanup_free_ char *docs = read_file(DOCS_DIR "/lock.md");
        json_object *o, *arg;

        assert_string_equal(s->name, "linux");
        assert_string_equal(s->path, "/bin/sh");
        /* An agent without guest-get-osinfo counts as Linux, as for Logoff. */
        assert_ptr_equal(lock_strategy_get(GUEST_OS_UNKNOWN), s);
        arg = exec_args(s, &o);
        assert_int_equal(json_object_array_length(arg), 2);
        assert_string_equal(json_object_get_string(json_object_array_get_idx(arg, 0)), "-c");
        assert_string_equal(json_object_get_string(json_object_array_get_idx(arg, 1)), LOCK_PROGRAM_LINUX);
        json_object_put(o);

        assert_non_null(strstr(LOCK_PROGRAM_LINUX, "exec loginctl lock-sessions\n"));
        assert_non_null(strstr(LOCK_PROGRAM_LINUX, "exit 3\n"));
        assert_int_equal(LOCK_EXIT_NO_LOGIND, 3);
        /* A lock ends nothing. */
        assert_null(strstr(LOCK_PROGRAM_LINUX, "terminate"));
        assert_null(strstr(LOCK_PROGRAM_LINUX, "kill"));
        assert_non_null(strstr(docs, LOCK_PROGRAM_LINUX));
}

static void test_outcome(void **state) {
        const LockStrategy *lin = lock_strategy_get(GUEST_OS_LINUX), *win = lock_strategy_get(GUEST_OS_WINDOWS);
        AgentExecStatus st = { .exited = true };
        VpcError e;
        char *message;

        assert_int_equal(lock_strategy_outcome(lin, GUEST_OS_LINUX, &st, &e, &message), 0);
        assert_int_equal(e, VPC_OK);
        assert_null(message);

        /* No logind (the busybox tier): the feature is missing, and the message says why. */
        st.exit_code = LOCK_EXIT_NO_LOGIND;
        strcpy(st.err, "vpc-lock: no systemd-logind in the guest");
        assert_int_equal(lock_strategy_outcome(lin, GUEST_OS_LINUX, &st, &e, &message), 0);
        assert_int_equal(e, VPC_ERROR_ADDITIONS_FEATURE_NOT_AVAILABLE);
        assert_non_null(strstr(message, "no systemd-logind"));
        assert_non_null(strstr(message, "stay logged on"));
        free(message);

        /* The same status from the Windows program is a failure of its own. */
        strcpy(st.err, "windows: WTSDisconnectSession(2): error 5");
        assert_int_equal(lock_strategy_outcome(win, GUEST_OS_WINDOWS, &st, &e, &message), 0);
        assert_int_equal(e, VPC_ERROR_EXCEPTION);
        assert_string_equal(message, "the lock program 'windows' failed (exit status 3): "
                                     "windows: WTSDisconnectSession(2): error 5");
        free(message);

        st = (AgentExecStatus) { .exited = true, .exit_code = 1, .err_truncated = true };
        strcpy(st.err, "Failed to issue method call: Access denied");
        assert_int_equal(lock_strategy_outcome(lin, GUEST_OS_LINUX, &st, &e, &message), 0);
        assert_int_equal(e, VPC_ERROR_EXCEPTION);
        assert_string_equal(message, "the lock program 'linux' failed (exit status 1): "
                                     "Failed to issue method call: Access denied ...");
        free(message);

        st = (AgentExecStatus) { .exited = true, .signalled = true, .signal = 9 };
        assert_int_equal(lock_strategy_outcome(lin, GUEST_OS_LINUX, &st, &e, &message), 0);
        assert_int_equal(e, VPC_ERROR_EXCEPTION);
        assert_string_equal(message, "the lock program 'linux' failed (signal 9)");
        free(message);
}

int main(void) {
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(test_windows_program),
                cmocka_unit_test(test_linux_program),
                cmocka_unit_test(test_outcome),
        };

        return cmocka_run_group_tests(tests, NULL, NULL);
}
