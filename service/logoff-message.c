/* See logoff-message.h. */
#include <errno.h>
#include <inttypes.h>
#include <json-c/json.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "logoff-message.h"
#include "logoff-programs.h"
#include "util.h"

static const char *const linux_argv[] = { "-c", LOGOFF_PROGRAM_MESSAGE_LINUX, NULL };

/* As the logoff program: -EncodedCommand needs no quoting on qemu-ga's Windows command line. */
static const char *const windows_argv[] = {
        "-NoLogo", "-NoProfile", "-NonInteractive", "-EncodedCommand", LOGOFF_PROGRAM_MESSAGE_WINDOWS_ENCODED, NULL,
};

const char *logoff_message_program_name(GuestOsKind os) {
        switch (os) {
        case GUEST_OS_LINUX:
                return "message-linux";
        case GUEST_OS_WINDOWS:
                return "message-windows";
        default:
                return NULL;
        }
}

char *logoff_message_base64(const void *data, size_t n) {
        static const char alphabet[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
        const unsigned char *p = data;
        char *out = malloc((n + 2) / 3 * 4 + 1), *o = out;

        if (!out)
                return NULL;
        for (size_t i = 0; i < n; i += 3) {
                uint32_t v = (uint32_t) p[i] << 16 | (i + 1 < n ? (uint32_t) p[i + 1] << 8 : 0) |
                             (i + 2 < n ? p[i + 2] : 0);

                *o++ = alphabet[(v >> 18) & 63];
                *o++ = alphabet[(v >> 12) & 63];
                *o++ = i + 1 < n ? alphabet[(v >> 6) & 63] : '=';
                *o++ = i + 2 < n ? alphabet[v & 63] : '=';
        }
        *o = 0;
        return out;
}

int logoff_message_command(GuestOsKind os, const char *text, uint64_t grace_sec, char **ret) {
        const char *path;
        const char *const *argv;
        _cleanup_free_ char *input = NULL, *encoded = NULL;
        json_object *root, *arguments, *args;
        const char *s;
        int n;

        switch (os) {
        case GUEST_OS_LINUX:
                path = "/bin/sh";
                argv = linux_argv;
                break;
        case GUEST_OS_WINDOWS:
                path = "C:\\Windows\\System32\\WindowsPowerShell\\v1.0\\powershell.exe";
                argv = windows_argv;
                break;
        default:
                return -EOPNOTSUPP;
        }

        n = asprintf(&input, "%" PRIu64 "\n%s", grace_sec, strempty(text));
        if (n < 0)
                return -ENOMEM;
        encoded = logoff_message_base64(input, (size_t) n);
        if (!encoded)
                return -ENOMEM;

        root = json_object_new_object();
        arguments = json_object_new_object();
        args = json_object_new_array();
        if (!root || !arguments || !args) {
                json_object_put(root);
                json_object_put(arguments);
                json_object_put(args);
                return -ENOMEM;
        }
        json_object_object_add(root, "execute", json_object_new_string("guest-exec"));
        json_object_object_add(root, "arguments", arguments);
        json_object_object_add(arguments, "path", json_object_new_string(path));
        for (const char *const *a = argv; *a; a++)
                json_object_array_add(args, json_object_new_string(*a));
        json_object_object_add(arguments, "arg", args);
        json_object_object_add(arguments, "input-data", json_object_new_string(encoded));
        json_object_object_add(arguments, "capture-output", json_object_new_boolean(true));
        s = json_object_to_json_string_ext(root, JSON_C_TO_STRING_PLAIN);
        *ret = s ? strdup(s) : NULL;
        json_object_put(root);
        return *ret ? 0 : -ENOMEM;
}
