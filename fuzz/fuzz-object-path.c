/* libFuzzer target for object-path decoding: any path a caller sends decodes to at most one domain
 * name or task id, and only a canonical path does (encode(decode(path)) == path); any name encodes
 * to a valid path that decodes back to the same name. UTF-8 oracle (issue 13): whatever a path
 * decodes to, even bytes that are not UTF-8, the error message that quotes it is valid UTF-8,
 * bounded, and sd-bus accepts it in a message (else the caller would get no answer at all); and
 * text_sanitize() of any input keeps its promises. */
#include <assert.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <systemd/sd-bus.h>

#include <sys/socket.h>
#include <unistd.h>

#include "domain.h"
#include "errors.h"
#include "task.h"
#include "text.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* sd-bus judges: a bus on one end of a socketpair counts as open for building messages. */
static sd_bus *judge(void) {
        static sd_bus *bus;
        int fds[2];

        if (bus)
                return bus;
        assert(socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, fds) == 0);
        assert(sd_bus_new(&bus) >= 0);
        assert(sd_bus_set_fd(bus, fds[0], fds[0]) >= 0);
        assert(sd_bus_start(bus) >= 0);
        close(fds[1]);
        return bus;
}

static bool sd_bus_takes(const char *s) {
        sd_bus_message *m = NULL;
        int r;

        assert(sd_bus_message_new(judge(), &m, SD_BUS_MESSAGE_SIGNAL) >= 0);
        r = sd_bus_message_append(m, "s", s);
        sd_bus_message_unref(m);
        return r >= 0;
}

static bool has_control(const char *s) {
        for (const unsigned char *p = (const unsigned char *) s; *p; p++)
                if (*p < 0x20 || *p == 0x7f || (p[0] == 0xC2 && p[1] >= 0x80 && p[1] < 0xA0))
                        return true;
        return false;
}

/* The message guestos.c sends for a path under /org/vpc/GuestOS that names no domain. */
static void check_message(const char *format, ...) _printf_(1, 2);
static void check_message(const char *format, ...) {
        _cleanup_free_ char *m = NULL;
        va_list ap;

        va_start(ap, format);
        m = vpc_error_format_message(VPC_ERROR_VM_UNKNOWN, format, ap);
        va_end(ap);
        assert(m);
        assert(strncmp(m, "0xA0040207: ", 12) == 0);
        assert(strlen(m) <= TEXT_MESSAGE_MAX);
        assert(text_is_valid_utf8(m) && !has_control(m));
        assert(sd_bus_takes(m));
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
        _cleanup_free_ char *input = NULL, *name = NULL, *path = NULL, *back = NULL, *task_path = NULL;
        uint64_t id;

        input = malloc(size + 1);
        if (!input)
                return 0;
        memcpy(input, data, size);
        input[size] = 0;

        /* Any bytes through the boundary. */
        {
                _cleanup_free_ char *clean = text_sanitize(input, 256, TEXT_ESCAPE_CONTROL);

                assert(clean && strlen(clean) <= 256);
                assert(text_is_valid_utf8(clean) && !has_control(clean));
                assert(sd_bus_takes(clean));
                if (text_is_valid_utf8(input) && !has_control(input) && strlen(input) <= 256)
                        assert(strcmp(clean, input) == 0);
        }

        /* The input as a path a caller sent; sd-bus only delivers valid object paths. */
        if (sd_bus_object_path_is_valid(input)) {
                _cleanup_free_ char *raw = NULL;

                /* What guestos_unknown_fallback() quotes may be any bytes: decode as sd-bus does,
                 * non-canonical escapes included, and check the message it would build. */
                if (sd_bus_path_decode(input, GUESTOS_PATH_PREFIX, &raw) > 0 && raw)
                        check_message("no domain '%s'", raw);
                if (guestos_path_to_name(input, &name) >= 0) {
                        assert(name && *name);
                        assert(guestos_path_from_name(name, &back) >= 0);
                        assert(strcmp(back, input) == 0);
                        free(back);
                        back = NULL;
                }
                if (task_path_to_id(input, &id) >= 0) {
                        assert(id > 0);
                        assert(asprintf(&task_path, TASK_PATH_PREFIX "/%" PRIu64, id) >= 0);
                        assert(strcmp(task_path, input) == 0);
                }
        }

        /* The input as a domain name (libvirt allows almost any string). */
        if (*input) {
                _cleanup_free_ char *decoded = NULL;

                assert(guestos_path_from_name(input, &path) >= 0);
                assert(sd_bus_object_path_is_valid(path));
                assert(guestos_path_to_name(path, &decoded) >= 0);
                assert(strcmp(decoded, input) == 0);
        }
        return 0;
}
