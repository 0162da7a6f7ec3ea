/* See logoff-options.h. */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "logoff-options.h"
#include "text.h"
#include "util.h"

/* A key quoted in an error: the caller's bytes, bounded (text.c escapes them on the way out). */
#define KEY_QUOTED_MAX 64

void logoff_options_done(LogoffOptions *o) {
        free(o->message);
        *o = (LogoffOptions) {};
}

int logoff_options_copy(const LogoffOptions *o, LogoffOptions *ret) {
        char *message = NULL;

        if (o->message) {
                message = strdup(o->message);
                if (!message)
                        return -ENOMEM;
        }
        *ret = (LogoffOptions) { .message = message, .grace_sec = o->grace_sec };
        return 0;
}

int logoff_message_clean(const char *text, char **ret) {
        size_t n = strlen(text), k = 0;
        char *clean;

        if (n > LOGOFF_MESSAGE_MAX || !text_is_valid_utf8(text))
                return -EINVAL;
        clean = malloc(n + 1);
        if (!clean)
                return -ENOMEM;
        for (size_t i = 0; i < n;) {
                unsigned char c = (unsigned char) text[i];
                size_t len = text_utf8_char_length(text + i, n - i);

                /* C0 and DEL, but the line breaks a message needs; C1 is U+0080..U+009F, 0xC2 0x80..0x9F. */
                if ((len == 1 && (c < 0x20 || c == 0x7f) && c != '\n' && c != '\t') ||
                    (len == 2 && c == 0xc2 && (unsigned char) text[i + 1] < 0xa0)) {
                        i += len;
                        continue;
                }
                memcpy(clean + k, text + i, len);
                k += len;
                i += len;
        }
        clean[k] = 0;
        *ret = clean;
        return 0;
}

/* "option 'KEY' <what>" */
static int option_error(char **ret_error, const char *key, const char *what) {
        if (asprintf(ret_error, "option '%.*s' %s", KEY_QUOTED_MAX, key, what) < 0)
                return -ENOMEM;
        return -EINVAL;
}

static int read_value(sd_bus_message *call, const char *key, const char *type, void *value, char **ret_error) {
        const char *contents;
        char t;
        int r;

        r = sd_bus_message_peek_type(call, &t, &contents);
        if (r < 0)
                return r;
        if (t != SD_BUS_TYPE_VARIANT || !streq_ptr(contents, type))
                return option_error(ret_error, key, streq_ptr(type, "s") ? "takes type 's'" : "takes type 'u'");
        r = sd_bus_message_enter_container(call, SD_BUS_TYPE_VARIANT, type);
        if (r < 0)
                return r;
        r = sd_bus_message_read_basic(call, type[0], value);
        if (r < 0)
                return r;
        return sd_bus_message_exit_container(call);
}

static int read_option(sd_bus_message *call, unsigned keys, LogoffOptions *o, bool *seen_message,
                       bool *seen_grace, char **ret_error) {
        const char *key, *message;
        uint32_t grace;
        int r;

        r = sd_bus_message_read(call, "s", &key);
        if (r < 0)
                return r;
        if ((keys & LOGOFF_OPTION_MESSAGE) && streq_ptr(key, "Message")) {
                if (*seen_message)
                        return option_error(ret_error, key, "given twice");
                *seen_message = true;
                r = read_value(call, key, "s", &message, ret_error);
                if (r < 0)
                        return r;
                r = logoff_message_clean(message, &o->message);
                if (r == -EINVAL) {
                        if (asprintf(ret_error, "option 'Message' must be valid UTF-8 of at most %u bytes",
                                     LOGOFF_MESSAGE_MAX) < 0)
                                return -ENOMEM;
                        return -EINVAL;
                }
                return r;
        }
        if ((keys & LOGOFF_OPTION_GRACE) && streq_ptr(key, "GraceSec")) {
                if (*seen_grace)
                        return option_error(ret_error, key, "given twice");
                *seen_grace = true;
                r = read_value(call, key, "u", &grace, ret_error);
                if (r < 0)
                        return r;
                if (grace > LOGOFF_GRACE_MAX_SEC) {
                        if (asprintf(ret_error, "option 'GraceSec' is at most %u seconds", LOGOFF_GRACE_MAX_SEC) < 0)
                                return -ENOMEM;
                        return -EINVAL;
                }
                o->grace_sec = grace;
                return 0;
        }
        return option_error(ret_error, key,
                            keys & LOGOFF_OPTION_GRACE ? "is unknown (known: Message, GraceSec)" : "is unknown (known: Message)");
}

int logoff_options_read(sd_bus_message *call, LogoffOptions *ret, char **ret_error) {
        return logoff_options_read_keys(call, LOGOFF_OPTION_MESSAGE | LOGOFF_OPTION_GRACE, ret, ret_error);
}

int logoff_options_read_keys(sd_bus_message *call, unsigned keys, LogoffOptions *ret, char **ret_error) {
        _cleanup_(logoff_options_done) LogoffOptions o = {};
        bool seen_message = false, seen_grace = false;
        int r;

        r = sd_bus_message_enter_container(call, SD_BUS_TYPE_ARRAY, "{sv}");
        if (r < 0)
                return r;
        while ((r = sd_bus_message_enter_container(call, SD_BUS_TYPE_DICT_ENTRY, "sv")) > 0) {
                r = read_option(call, keys, &o, &seen_message, &seen_grace, ret_error);
                if (r < 0)
                        return r;
                r = sd_bus_message_exit_container(call);
                if (r < 0)
                        return r;
        }
        if (r < 0)
                return r;
        r = sd_bus_message_exit_container(call);
        if (r < 0)
                return r;
        *ret = o;
        o = (LogoffOptions) {};
        return 0;
}

char *logoff_options_describe(const LogoffOptions *o) {
        char *s;

        if (asprintf(&s, "message=%zu bytes, grace=%" PRIu32 " s", o->message ? strlen(o->message) : (size_t) 0,
                     o->grace_sec) < 0)
                return NULL;
        return s;
}
