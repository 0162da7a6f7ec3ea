/* vpcctl's error handling, against the service's own error table: every error the service can send
 * has the same HRESULT in vpcctl and a documented exit status of its class; the worst of several
 * outcomes wins; failures are shown with HRESULT and name; task arguments and widths parse right. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "errors.h"
#include "vpcctl.h"

/* The exit status vpcctl(1) documents for each error of the service's table (service/errors.c). */
static int documented_exit_status(VpcError e) {
        switch (e) {
        case VPC_ERROR_ACCESS_DENIED:
        case VPC_ERROR_INTERACTIVE_AUTHORIZATION_REQUIRED:
                return 10;
        case VPC_ERROR_INVALID_ARGS:
        case VPC_ERROR_EXCEPTION:
        case VPC_ERROR_LIMITS_EXCEEDED:
                return 1;
        case VPC_ERROR_TIMEOUT:
                return 8;
        case VPC_ERROR_ADDITIONS_FEATURE_NOT_AVAILABLE:
                return 5;
        case VPC_ERROR_VM_NOT_RUNNING:
                return 4;
        case VPC_ERROR_VM_UNKNOWN:
                return 6;
        case VPC_ERROR_NO_SUCH_LOGON_SESSION:
                return 3;
        case VPC_ERROR_CANCELLED:
                return 7;
        default:
                return -1;
        }
}

static void test_every_service_error_is_known(void **state) {
        for (VpcError e = VPC_ERROR_ACCESS_DENIED; e < _VPC_ERROR_MAX; e++) {
                const char *name = vpc_error_name(e);

                assert_non_null(name);
                /* Same HRESULT on both sides of the bus. */
                assert_int_equal(hresult_from_error_name(name), vpc_error_hresult(e));
                assert_int_equal(exit_status_from_error_name(name), documented_exit_status(e));
        }
}

static void test_success_and_unknown_names(void **state) {
        assert_int_equal(exit_status_from_error_name(NULL), VPCCTL_EXIT_OK);
        assert_int_equal(exit_status_from_error_name(""), VPCCTL_EXIT_OK);
        assert_int_equal(exit_status_from_error_name("com.example.Error.Weird"), VPCCTL_EXIT_FAILED);
        assert_int_equal(hresult_from_error_name("com.example.Error.Weird"), 0);
        /* The bus's own refusals: no service, no object. */
        assert_int_equal(exit_status_from_error_name("org.freedesktop.DBus.Error.ServiceUnknown"), VPCCTL_EXIT_UNREACHABLE);
        assert_int_equal(exit_status_from_error_name("org.freedesktop.DBus.Error.UnknownObject"), VPCCTL_EXIT_UNKNOWN);
        /* sd-bus's names for its own errnos (a dead SSH transport is ENOTCONN). */
        assert_int_equal(exit_status_from_error_name("System.Error.ENOTCONN"), VPCCTL_EXIT_UNREACHABLE);
        assert_int_equal(exit_status_from_error_name("System.Error.EACCES"), VPCCTL_EXIT_ACCESS_DENIED);
        assert_int_equal(exit_status_from_error_name("System.Error.EINVAL"), VPCCTL_EXIT_FAILED);
}

static void test_worst_outcome_wins(void **state) {
        assert_int_equal(exit_status_worse(VPCCTL_EXIT_OK, VPCCTL_EXIT_NO_LOGON_SESSION), VPCCTL_EXIT_NO_LOGON_SESSION);
        assert_int_equal(exit_status_worse(VPCCTL_EXIT_NO_LOGON_SESSION, VPCCTL_EXIT_OK), VPCCTL_EXIT_NO_LOGON_SESSION);
        assert_int_equal(exit_status_worse(VPCCTL_EXIT_TIMEOUT, VPCCTL_EXIT_NO_GUEST_AGENT), VPCCTL_EXIT_TIMEOUT);
        assert_int_equal(exit_status_worse(VPCCTL_EXIT_ACCESS_DENIED, VPCCTL_EXIT_FAILED), VPCCTL_EXIT_FAILED);
        assert_int_equal(exit_status_worse(VPCCTL_EXIT_FAILED, VPCCTL_EXIT_UNREACHABLE), VPCCTL_EXIT_UNREACHABLE);
        assert_int_equal(exit_status_worse(VPCCTL_EXIT_UNREACHABLE, VPCCTL_EXIT_ACCESS_DENIED), VPCCTL_EXIT_UNREACHABLE);
}

static void test_error_text(void **state) {
        char *s;

        /* The service's messages already start with the HRESULT: shown as received. */
        s = error_text("org.vpc.Error.VmNotRunning", "0xA0040206: domain 'x' is not running (shutoff)");
        assert_string_equal(s, "0xA0040206: domain 'x' is not running (shutoff) [org.vpc.Error.VmNotRunning]");
        free(s);
        /* A denial from the bus itself carries no HRESULT: the table's is added. */
        s = error_text("org.freedesktop.DBus.Error.AccessDenied", "Rejected send message");
        assert_string_equal(s, "0x80070005: Rejected send message [org.freedesktop.DBus.Error.AccessDenied]");
        free(s);
        s = error_text("org.freedesktop.DBus.Error.ServiceUnknown", NULL);
        assert_string_equal(s, "(no message) [org.freedesktop.DBus.Error.ServiceUnknown]");
        free(s);
}

static void test_task_path_from_arg(void **state) {
        char *p;

        p = task_path_from_arg("7");
        assert_string_equal(p, "/org/vpc/Task/7");
        free(p);
        p = task_path_from_arg("/org/vpc/Task/12");
        assert_string_equal(p, "/org/vpc/Task/12");
        free(p);
        assert_null(task_path_from_arg(""));
        assert_null(task_path_from_arg("7a"));
        assert_null(task_path_from_arg("-1"));
        assert_null(task_path_from_arg("/org/vpc/Task/"));
        assert_null(task_path_from_arg("//x"));
}

static void test_utf8_width(void **state) {
        assert_int_equal(utf8_width("web server 01"), 13);
        assert_int_equal(utf8_width("\xc3\xbc" "n" "\xc3\xaf" "code-vm"), 10);     /* ünïcode-vm */
        assert_int_equal(utf8_width(""), 0);
        assert_int_equal(utf8_width(NULL), 0);
}

int main(void) {
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(test_every_service_error_is_known),
                cmocka_unit_test(test_success_and_unknown_names),
                cmocka_unit_test(test_worst_outcome_wins),
                cmocka_unit_test(test_error_text),
                cmocka_unit_test(test_task_path_from_arg),
                cmocka_unit_test(test_utf8_width),
        };
        return cmocka_run_group_tests(tests, NULL, NULL);
}
