/* The error table (docs/dbus-api.md, "Errors"): names, HRESULTs, message format, reverse mapping. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>
#include <errno.h>

#include "errors.h"
#include "libvirt-errors.h"
#include <libvirt/virterror.h>

static void test_table_matches_design(void **state) {
        static const struct {
                VpcError e;
                const char *name;
                uint32_t hresult;
        } expected[] = {
                { VPC_ERROR_ACCESS_DENIED, "org.freedesktop.DBus.Error.AccessDenied", 0x80070005 },
                { VPC_ERROR_INTERACTIVE_AUTHORIZATION_REQUIRED, "org.freedesktop.DBus.Error.InteractiveAuthorizationRequired", 0x80070005 },
                { VPC_ERROR_INVALID_ARGS, "org.freedesktop.DBus.Error.InvalidArgs", 0x80004003 },
                { VPC_ERROR_EXCEPTION, "org.vpc.Error.Exception", 0x80020009 },
                { VPC_ERROR_TIMEOUT, "org.vpc.Error.Timeout", 0xA0040202 },
                { VPC_ERROR_ADDITIONS_FEATURE_NOT_AVAILABLE, "org.vpc.Error.AdditionsFeatureNotAvailable", 0xA0040505 },
                { VPC_ERROR_VM_NOT_RUNNING, "org.vpc.Error.VmNotRunning", 0xA0040206 },
                { VPC_ERROR_VM_UNKNOWN, "org.vpc.Error.VmUnknown", 0xA0040207 },
                { VPC_ERROR_NO_SUCH_LOGON_SESSION, "org.vpc.Error.NoSuchLogonSession", 0x80070520 },
                { VPC_ERROR_CANCELLED, "org.vpc.Error.Cancelled", 0x800704C7 },
                { VPC_ERROR_LIMITS_EXCEEDED, "org.freedesktop.DBus.Error.LimitsExceeded", 0x800705AA },
        };

        assert_int_equal(vpc_error_hresult(VPC_OK), 0);
        assert_string_equal(vpc_error_name(VPC_OK), "");
        for (size_t i = 0; i < sizeof(expected) / sizeof(expected[0]); i++) {
                assert_string_equal(vpc_error_name(expected[i].e), expected[i].name);
                assert_int_equal(vpc_error_hresult(expected[i].e), expected[i].hresult);
        }
}

static void test_name_round_trip(void **state) {
        for (VpcError e = VPC_ERROR_ACCESS_DENIED; e < _VPC_ERROR_MAX; e++) {
                VpcError back = vpc_error_from_name(vpc_error_name(e));
                /* Two names share 0x80070005; each maps back to itself. */
                assert_int_equal(back, e);
        }
        assert_int_equal(vpc_error_from_name(""), VPC_OK);
        assert_int_equal(vpc_error_from_name(NULL), VPC_OK);
        assert_int_equal(vpc_error_from_name("org.example.Whatever"), VPC_ERROR_EXCEPTION);
        /* Clients ask whether a name is the table's at all: a foreign name is not its Exception. */
        for (VpcError e = VPC_ERROR_ACCESS_DENIED; e < _VPC_ERROR_MAX; e++) {
                VpcError found = VPC_OK;
                assert_true(vpc_error_lookup(vpc_error_name(e), &found));
                assert_int_equal(found, e);
        }
        VpcError untouched = VPC_ERROR_TIMEOUT;
        assert_false(vpc_error_lookup("org.example.Whatever", &untouched));
        assert_false(vpc_error_lookup("", &untouched));
        assert_false(vpc_error_lookup(NULL, &untouched));
        assert_int_equal(untouched, VPC_ERROR_TIMEOUT);
        /* Out-of-range values never index past the table. */
        assert_string_equal(vpc_error_name((VpcError) 999), "org.vpc.Error.Exception");
}

static void test_message_starts_with_hresult(void **state) {
        sd_bus_error error = SD_BUS_ERROR_NULL;
        int r;

        r = vpc_error_set(&error, VPC_ERROR_VM_NOT_RUNNING, "domain '%s' is not running", "win7");
        assert_true(r < 0);
        assert_string_equal(error.name, "org.vpc.Error.VmNotRunning");
        assert_string_equal(error.message, "0xA0040206: domain 'win7' is not running");
        sd_bus_error_free(&error);

        r = vpc_error_set(&error, VPC_ERROR_ACCESS_DENIED, "no");
        assert_int_equal(r, -EACCES);
        assert_string_equal(error.message, "0x80070005: no");
        sd_bus_error_free(&error);
}

static void test_errno_map(void **state) {
        sd_bus_error error = SD_BUS_ERROR_NULL;

        assert_true(vpc_error_register_map() >= 0);
        assert_int_equal(sd_bus_error_set(&error, "org.vpc.Error.VmUnknown", "x"), -ENXIO);
        sd_bus_error_free(&error);
        assert_int_equal(sd_bus_error_set(&error, "org.vpc.Error.Timeout", "x"), -ETIMEDOUT);
        sd_bus_error_free(&error);
        assert_int_equal(sd_bus_error_set(&error, "org.vpc.Error.Cancelled", "x"), -ECANCELED);
        sd_bus_error_free(&error);
        /* Registering again is harmless (the map is built once). */
        assert_true(vpc_error_register_map() >= 0);
        assert_int_equal(sd_bus_error_set(&error, "org.vpc.Error.NoSuchLogonSession", "x"), -ENOENT);
        sd_bus_error_free(&error);
}

static void test_libvirt_classification(void **state) {
        assert_int_equal(vpc_error_from_libvirt(VIR_ERR_NO_DOMAIN, "Domain not found", false), VPC_ERROR_VM_UNKNOWN);
        assert_int_equal(vpc_error_from_libvirt(VIR_ERR_OPERATION_INVALID, "domain is not running", false),
                         VPC_ERROR_VM_NOT_RUNNING);
        assert_int_equal(vpc_error_from_libvirt(VIR_ERR_OPERATION_INVALID, "something else", false),
                         VPC_ERROR_EXCEPTION);
        assert_int_equal(vpc_error_from_libvirt(VIR_ERR_NO_SUPPORT, "not supported by the connection driver", false),
                         VPC_ERROR_ADDITIONS_FEATURE_NOT_AVAILABLE);
        assert_int_equal(vpc_error_from_libvirt(VIR_ERR_ARGUMENT_UNSUPPORTED, "QEMU guest agent is not configured", false),
                         VPC_ERROR_ADDITIONS_FEATURE_NOT_AVAILABLE);
        assert_int_equal(vpc_error_from_libvirt(VIR_ERR_AGENT_UNRESPONSIVE,
                                                "Guest agent is not responding: QEMU guest agent is not connected", false),
                         VPC_ERROR_ADDITIONS_FEATURE_NOT_AVAILABLE);
        assert_int_equal(vpc_error_from_libvirt(VIR_ERR_AGENT_UNRESPONSIVE,
                                                "Guest agent is not responding: Guest agent not available for now", false),
                         VPC_ERROR_TIMEOUT);
        /* Whatever the text, a call that used its whole timeout timed out. */
        assert_int_equal(vpc_error_from_libvirt(VIR_ERR_AGENT_UNRESPONSIVE, "QEMU guest agent is not connected", true),
                         VPC_ERROR_TIMEOUT);
        assert_int_equal(vpc_error_from_libvirt(VIR_ERR_OPERATION_TIMEOUT, NULL, false), VPC_ERROR_TIMEOUT);
        assert_int_equal(vpc_error_from_libvirt(VIR_ERR_INTERNAL_ERROR, "boom", false), VPC_ERROR_EXCEPTION);
        assert_int_equal(vpc_error_from_libvirt(-1, NULL, false), VPC_ERROR_EXCEPTION);
}

int main(void) {
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(test_table_matches_design),
                cmocka_unit_test(test_name_round_trip),
                cmocka_unit_test(test_message_starts_with_hresult),
                cmocka_unit_test(test_errno_map),
                cmocka_unit_test(test_libvirt_classification),
        };
        return cmocka_run_group_tests(tests, NULL, NULL);
}
