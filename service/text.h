/* The one boundary for text the daemon sends: every string that leaves it (replies, error messages,
 * properties, signals, audit fields) and every text that enters from a guest or from libvirt goes
 * through text_sanitize(), which makes it valid UTF-8, free of control characters, and bounded. */
#pragma once

#include <stdbool.h>
#include <stddef.h>

/* Bounds, in bytes without the NUL. */
#define TEXT_MESSAGE_MAX 1024U          /* an error message, a task's ErrorMessage, an audit field */
#define TEXT_EXCERPT_MAX 256U           /* text quoted from a guest agent or libvirt inside a message */
#define TEXT_NAME_MAX 4096U             /* a domain name */

typedef enum TextFlags {
        TEXT_ESCAPE_CONTROL = 1 << 0,   /* also write C0/C1 controls and DEL as \xNN */
} TextFlags;

/* Returns a new string: s with every byte that is not part of a valid UTF-8 character written as
 * "\xNN" (lower-case hex), and with TEXT_ESCAPE_CONTROL every control character too. Valid means
 * what sd-bus and dbus-daemon accept: shortest form, no UTF-16 surrogates, nothing above U+10FFFF,
 * no noncharacters (U+FDD0..U+FDEF, U+xxFFFE/U+xxFFFF). At most max bytes: when it does not fit it
 * is cut on a character (or escape) boundary and ends with "...". NULL only when out of memory;
 * s NULL reads as "". max must be at least 4. */
char *text_sanitize(const char *s, size_t max, TextFlags flags);

/* Whether s is valid UTF-8 in the sense above (NULL is not). */
bool text_is_valid_utf8(const char *s);

/* Length of the valid UTF-8 character at s (1..4), or 0 when s does not start one; reads at most
 * n bytes. */
size_t text_utf8_char_length(const char *s, size_t n);
