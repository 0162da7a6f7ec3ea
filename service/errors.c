/* The error table (service/errors.table; docs/dbus-api.md, "Errors"), and helpers that turn an entry
 * into a D-Bus error whose message starts with the HRESULT, so clients that only see the message
 * still get the Virtual PC code. */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "errors.h"
#include "log.h"
#include "text.h"

typedef struct VpcErrorInfo {
        const char *name;
        uint32_t hresult;
        int errno_value;
} VpcErrorInfo;

/* The rows come from service/errors.table, the one source of every copy of the table. */
#include "errors-table.h"

const char *vpc_error_name(VpcError e) {
        if (e < 0 || e >= _VPC_ERROR_MAX)
                e = VPC_ERROR_EXCEPTION;
        return error_table[e].name;
}

uint32_t vpc_error_hresult(VpcError e) {
        if (e < 0 || e >= _VPC_ERROR_MAX)
                e = VPC_ERROR_EXCEPTION;
        return error_table[e].hresult;
}

bool vpc_error_lookup(const char *name, VpcError *ret) {
        if (!name || !*name)
                return false;
        for (VpcError e = VPC_OK + 1; e < _VPC_ERROR_MAX; e++)
                if (streq_ptr(error_table[e].name, name)) {
                        *ret = e;
                        return true;
                }
        return false;
}

VpcError vpc_error_from_name(const char *name) {
        VpcError e;

        if (!name || !*name)
                return VPC_OK;
        return vpc_error_lookup(name, &e) ? e : VPC_ERROR_EXCEPTION;
}

char *vpc_error_format_message(VpcError e, const char *format, va_list ap) {
        _cleanup_free_ char *text = NULL, *message = NULL;

        if (vasprintf(&text, format, ap) < 0)
                return NULL;
        if (asprintf(&message, "0x%08X: %s", vpc_error_hresult(e), text) < 0)
                return NULL;
        return text_sanitize(message, TEXT_MESSAGE_MAX, TEXT_ESCAPE_CONTROL);
}

char *vpc_error_message(VpcError e, const char *format, ...) {
        va_list ap;
        char *message;

        va_start(ap, format);
        message = vpc_error_format_message(e, format, ap);
        va_end(ap);
        return message;
}

static int error_set_va(sd_bus_error *ret_error, VpcError e, const char *format, va_list ap) _printf_(3, 0);
static int error_set_va(sd_bus_error *ret_error, VpcError e, const char *format, va_list ap) {
        _cleanup_free_ char *message = vpc_error_format_message(e, format, ap);

        /* Out of memory: still an error of the right name, so the caller is answered. */
        if (!message)
                return sd_bus_error_set_const(ret_error, vpc_error_name(e), NULL);
        return sd_bus_error_set(ret_error, vpc_error_name(e), message);
}

int vpc_error_set(sd_bus_error *ret_error, VpcError e, const char *format, ...) {
        va_list ap;
        int r;

        va_start(ap, format);
        r = error_set_va(ret_error, e, format, ap);
        va_end(ap);
        return r;
}

/* What a caller gets when its real answer cannot be sent: fixed ASCII, so it can always be built. */
#define FALLBACK_MESSAGE "0x80020009: the service could not build its reply to this call"

int vpc_reply_fallback(sd_bus_message *call, int r) {
        int k;

        /* Without a bus there is nobody to answer; the bus tells the callers itself. */
        if (r == -ENOTCONN || r == -ECONNRESET) {
                log_debug("cannot answer %s.%s: %s", strempty(sd_bus_message_get_interface(call)),
                          strempty(sd_bus_message_get_member(call)), strerror(-r));
                return r;
        }
        log_error("cannot answer %s.%s on %s from %s: %s; answering org.vpc.Error.Exception instead",
                  strempty(sd_bus_message_get_interface(call)), strempty(sd_bus_message_get_member(call)),
                  strempty(sd_bus_message_get_path(call)), strempty(sd_bus_message_get_sender(call)),
                  strerror(-r));
        k = sd_bus_reply_method_error(call, &SD_BUS_ERROR_MAKE_CONST("org.vpc.Error.Exception", FALLBACK_MESSAGE));
        if (k < 0) {
                log_error("cannot send the fallback answer either: %s", strerror(-k));
                return k;
        }
        return 0;
}

int vpc_error_reply(sd_bus_message *call, VpcError e, const char *format, ...) {
        _cleanup_(sd_bus_error_free) sd_bus_error error = SD_BUS_ERROR_NULL;
        va_list ap;
        int r;

        va_start(ap, format);
        r = error_set_va(&error, e, format, ap);
        va_end(ap);
        if (r >= 0 || sd_bus_error_is_set(&error))
                r = sd_bus_reply_method_error(call, &error);
        return r < 0 ? vpc_reply_fallback(call, r) : r;
}

int vpc_reply_return(sd_bus_message *call, const char *types, ...) {
        _cleanup_(sd_bus_message_unrefp) sd_bus_message *reply = NULL;
        va_list ap;
        int r;

        /* A caller that asked for no reply gets none, as sd_bus_reply_method_return() does. */
        if (sd_bus_message_get_expect_reply(call) == 0)
                return 0;
        r = sd_bus_message_new_method_return(call, &reply);
        if (r >= 0 && types) {
                va_start(ap, types);
                r = sd_bus_message_appendv(reply, types, ap);
                va_end(ap);
        }
        if (r >= 0)
                r = sd_bus_send(NULL, reply, NULL);
        return r < 0 ? vpc_reply_fallback(call, r) : r;
}

int vpc_error_register_map(void) {
        /* The org.vpc.Error.* rows of the table (the freedesktop names sd-bus maps already). sd-bus
         * keeps a pointer to the map, so it is static and filled once. */
        static sd_bus_error_map map[_VPC_ERROR_MAX + 1];
        size_t n = 0;

        if (map[0].name)
                return 0;
        for (VpcError e = VPC_OK + 1; e < _VPC_ERROR_MAX; e++)
                if (strncmp(error_table[e].name, "org.vpc.", strlen("org.vpc.")) == 0)
                        map[n++] = (sd_bus_error_map) SD_BUS_ERROR_MAP(error_table[e].name, error_table[e].errno_value);
        map[n] = (sd_bus_error_map) SD_BUS_ERROR_MAP_END;
        return sd_bus_error_add_map(map);
}
