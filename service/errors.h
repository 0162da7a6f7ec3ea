/* The error table (service/errors.table; docs/dbus-api.md, "Errors"): every outcome the service
 * reports, its D-Bus error name and the HRESULT of Windows Virtual PC it stands for. Messages always
 * start with the HRESULT in hex. */
#pragma once

#include <stdarg.h>
#include <stdint.h>
#include <systemd/sd-bus.h>

#include "util.h"

/* One value per row of service/errors.table: the build fails on a row without a value or a value
 * without a row. */
typedef enum VpcError {
        VPC_OK = 0,
        VPC_ERROR_ACCESS_DENIED,
        VPC_ERROR_INTERACTIVE_AUTHORIZATION_REQUIRED,
        VPC_ERROR_INVALID_ARGS,
        VPC_ERROR_EXCEPTION,
        VPC_ERROR_TIMEOUT,
        VPC_ERROR_ADDITIONS_FEATURE_NOT_AVAILABLE,
        VPC_ERROR_VM_NOT_RUNNING,
        VPC_ERROR_VM_UNKNOWN,
        VPC_ERROR_NO_SUCH_LOGON_SESSION,
        VPC_ERROR_CANCELLED,
        VPC_ERROR_LIMITS_EXCEEDED,
        _VPC_ERROR_MAX,
} VpcError;

#define VPC_HRESULT_S_OK 0x00000000U

const char *vpc_error_name(VpcError e);
uint32_t vpc_error_hresult(VpcError e);
/* Maps a D-Bus error name back to the table; unknown names become VPC_ERROR_EXCEPTION. */
VpcError vpc_error_from_name(const char *name);
/* For clients (vpcctl): true and *ret set when name is one of the table's, so a name the service
 * never sends is not mistaken for its Exception. */
bool vpc_error_lookup(const char *name, VpcError *ret);

/* Formats "0xHHHHHHHH: <text>" into a new string, made valid UTF-8 without control characters and
 * at most TEXT_MESSAGE_MAX bytes by text_sanitize(): whatever the text quotes (a decoded object
 * path, a guest agent's words, libvirt's message), sd-bus can send it. */
char *vpc_error_format_message(VpcError e, const char *format, va_list ap) _printf_(2, 0);
char *vpc_error_message(VpcError e, const char *format, ...) _printf_(2, 3);

/* Fills an sd_bus_error from the table and returns the negative errno sd-bus maps it to, so a
 * method handler can `return vpc_error_set(ret_error, ...)`. */
int vpc_error_set(sd_bus_error *ret_error, VpcError e, const char *format, ...) _printf_(3, 4);

/* Replies to a parked method call with an error from the table. Every call is answered: when that
 * reply cannot be built or sent, it is logged and a plain org.vpc.Error.Exception goes instead. */
int vpc_error_reply(sd_bus_message *call, VpcError e, const char *format, ...) _printf_(3, 4);

/* sd_bus_reply_method_return() with the same guarantee: a reply that cannot be built (a string
 * that is not valid UTF-8, out of memory) becomes a plain org.vpc.Error.Exception, logged. */
int vpc_reply_return(sd_bus_message *call, const char *types, ...);

/* The last resort of both: logs why the reply failed (r) and answers call with a fixed
 * org.vpc.Error.Exception. Returns 0 when that answer went out (a method handler may return it: the
 * call is answered, sd-bus must not reply again), else a negative errno. The same holds for
 * vpc_error_reply() and vpc_reply_return(): negative only when the caller got nothing. */
int vpc_reply_fallback(sd_bus_message *call, int r);

/* Registers the table's org.vpc.Error.* names with sd-bus so they map to the table's errnos. */
int vpc_error_register_map(void);
