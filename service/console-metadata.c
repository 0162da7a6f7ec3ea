/* See console-metadata.h. The element is tiny and fixed, so a small hand parser takes it: one empty
 * element, attributes in single or double quotes, no children, no comments; entities only in the
 * message (libxml2 writes its newlines and markup characters as references). */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "console-metadata.h"
#include "util.h"

static const char *const action_names[_CONSOLE_DISCONNECT_MAX] = {
        [CONSOLE_DISCONNECT_NONE] = "none",
        [CONSOLE_DISCONNECT_LOGOFF] = "logoff",
        [CONSOLE_DISCONNECT_LOCK] = "lock",
        [CONSOLE_DISCONNECT_LOCK_THEN_LOGOFF] = "lock-then-logoff",
        [CONSOLE_DISCONNECT_WARN_THEN_LOGOFF] = "warn-then-logoff",
};

const char *console_disconnect_action_to_string(ConsoleDisconnectAction a) {
        if (a < 0 || a >= _CONSOLE_DISCONNECT_MAX)
                return "none";
        return action_names[a];
}

int console_disconnect_action_from_string(const char *s, ConsoleDisconnectAction *ret) {
        for (int a = 0; a < _CONSOLE_DISCONNECT_MAX; a++)
                if (streq_ptr(s, action_names[a])) {
                        *ret = a;
                        return 0;
                }
        return -EINVAL;
}

static bool is_space(char c) {
        return c == ' ' || c == '\t' || c == '\n' || c == '\r';
}

static bool is_name_char(char c) {
        return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '-' || c == '_' ||
               c == '.' || c == ':';
}

static const char *skip_space(const char *p) {
        while (is_space(*p))
                p++;
        return p;
}

/* A name at p: its length, 0 when there is none. */
static size_t name_length(const char *p) {
        size_t n = 0;

        while (is_name_char(p[n]))
                n++;
        return n;
}

/* The element's own name, "policy" with or without a prefix. */
static bool is_policy_name(const char *p, size_t n) {
        const char *colon = memchr(p, ':', n);
        const char *local = colon ? colon + 1 : p;
        size_t local_n = n - (size_t) (local - p);

        if (colon && (colon == p || memchr(local, ':', local_n)))
                return false;
        return local_n == 6 && memcmp(local, "policy", 6) == 0;
}

static bool attr_is(const char *name, size_t n, const char *want) {
        return strlen(want) == n && memcmp(name, want, n) == 0;
}

static int parse_delay(const char *v, size_t n, unsigned *ret) {
        unsigned long value = 0;

        /* Digits only (no sign, no space, no hex); more than 6 cannot be in range. */
        if (n == 0 || n > 6)
                return -EBADMSG;
        for (size_t i = 0; i < n; i++) {
                if (v[i] < '0' || v[i] > '9')
                        return -EBADMSG;
                value = value * 10 + (unsigned long) (v[i] - '0');
        }
        if (value > CONSOLE_DELAY_MAX_SEC)
                return -EBADMSG;
        *ret = (unsigned) value;
        return 0;
}

static void put_utf8(char *out, size_t *k, unsigned long c) {
        if (c < 0x80)
                out[(*k)++] = (char) c;
        else if (c < 0x800) {
                out[(*k)++] = (char) (0xc0 | (c >> 6));
                out[(*k)++] = (char) (0x80 | (c & 0x3f));
        } else if (c < 0x10000) {
                out[(*k)++] = (char) (0xe0 | (c >> 12));
                out[(*k)++] = (char) (0x80 | ((c >> 6) & 0x3f));
                out[(*k)++] = (char) (0x80 | (c & 0x3f));
        } else {
                out[(*k)++] = (char) (0xf0 | (c >> 18));
                out[(*k)++] = (char) (0x80 | ((c >> 12) & 0x3f));
                out[(*k)++] = (char) (0x80 | ((c >> 6) & 0x3f));
                out[(*k)++] = (char) (0x80 | (c & 0x3f));
        }
}

/* One reference at v (after its '&'): its length through ';' in *used, the character it names. */
static int parse_reference(const char *v, size_t n, size_t *used, unsigned long *ret) {
        static const struct { const char *name; char c; } named[] = {
                { "amp", '&' }, { "lt", '<' }, { "gt", '>' }, { "quot", '"' }, { "apos", '\'' },
        };
        const char *semi = memchr(v, ';', n < 12 ? n : 12);
        unsigned long c = 0;
        size_t len;

        if (!semi)
                return -EBADMSG;
        len = (size_t) (semi - v);
        *used = len + 1;
        for (size_t i = 0; i < sizeof(named) / sizeof(named[0]); i++)
                if (attr_is(v, len, named[i].name)) {
                        *ret = (unsigned char) named[i].c;
                        return 0;
                }
        if (len < 2 || v[0] != '#')
                return -EBADMSG;
        if (v[1] == 'x') {
                if (len < 3)
                        return -EBADMSG;
                for (size_t i = 2; i < len; i++) {
                        char h = v[i];
                        int d = h >= '0' && h <= '9' ? h - '0' : h >= 'a' && h <= 'f' ? h - 'a' + 10 :
                                h >= 'A' && h <= 'F' ? h - 'A' + 10 : -1;
                        if (d < 0)
                                return -EBADMSG;
                        c = c * 16 + (unsigned long) d;
                }
        } else
                for (size_t i = 1; i < len; i++) {
                        if (v[i] < '0' || v[i] > '9')
                                return -EBADMSG;
                        c = c * 10 + (unsigned long) (v[i] - '0');
                }
        /* At most 10 digits fit the 12 bytes searched: no overflow; surrogates and 0 are no characters. */
        if (c == 0 || c > 0x10ffff || (c >= 0xd800 && c <= 0xdfff))
                return -EBADMSG;
        *ret = c;
        return 0;
}

/* The message attribute's value, its references decoded, then held to the rules of a Logoff message
 * (the same check as LogoffWithOptions', so a message set with virsh metadata is no different). */
static int parse_message(const char *v, size_t n, char ret[static LOGOFF_MESSAGE_MAX + 1]) {
        _cleanup_free_ char *raw = NULL, *clean = NULL;
        size_t k = 0;

        raw = malloc(n * 4 + 1);
        if (!raw)
                return -ENOMEM;
        for (size_t i = 0; i < n;) {
                unsigned long c;
                size_t used;

                if (v[i] != '&') {
                        raw[k++] = v[i++];
                        continue;
                }
                if (parse_reference(v + i + 1, n - i - 1, &used, &c) < 0)
                        return -EBADMSG;
                put_utf8(raw, &k, c);
                i += 1 + used;
        }
        raw[k] = 0;
        if (strlen(raw) != k || logoff_message_clean(raw, &clean) < 0 || strcmp(raw, clean) != 0)
                return -EBADMSG;
        memcpy(ret, clean, k + 1);
        return 0;
}

int console_policy_parse(const char *xml, ConsolePolicy *ret) {
        _cleanup_free_ ConsolePolicy *p = NULL;
        bool seen_action = false, seen_delay = false, seen_message = false;
        const char *q, *name;
        size_t name_n;

        if (!xml || strnlen(xml, CONSOLE_METADATA_MAX + 1) > CONSOLE_METADATA_MAX)
                return -EBADMSG;
        p = malloc(sizeof(*p));
        if (!p)
                return -ENOMEM;
        *p = (ConsolePolicy) { .action = CONSOLE_DISCONNECT_NONE, .delay_sec = CONSOLE_DELAY_DEFAULT_SEC };

        q = skip_space(xml);
        if (*q++ != '<')
                return -EBADMSG;
        name = q;
        name_n = name_length(q);
        if (!is_policy_name(name, name_n))
                return -EBADMSG;
        q += name_n;

        for (;;) {
                const char *attr, *value, *end;
                size_t attr_n;
                char quote;
                int r;

                if (!is_space(*q))
                        break;
                q = skip_space(q);
                attr = q;
                attr_n = name_length(q);
                if (attr_n == 0)
                        break;
                q = skip_space(q + attr_n);
                if (*q++ != '=')
                        return -EBADMSG;
                q = skip_space(q);
                quote = *q++;
                if (quote != '\'' && quote != '"')
                        return -EBADMSG;
                value = q;
                end = strchr(q, quote);
                /* No markup in a value, and entities only in the message: the others are a keyword,
                 * digits or a URI. */
                if (!end || memchr(value, '<', (size_t) (end - value)) ||
                    (!attr_is(attr, attr_n, "message") && memchr(value, '&', (size_t) (end - value))))
                        return -EBADMSG;
                q = end + 1;

                if (attr_is(attr, attr_n, "console-disconnect")) {
                        char word[24] = {};

                        if (seen_action || (size_t) (end - value) >= sizeof(word))
                                return -EBADMSG;
                        memcpy(word, value, (size_t) (end - value));
                        if (console_disconnect_action_from_string(word, &p->action) < 0)
                                return -EBADMSG;
                        seen_action = true;
                } else if (attr_is(attr, attr_n, "delay")) {
                        if (seen_delay)
                                return -EBADMSG;
                        r = parse_delay(value, (size_t) (end - value), &p->delay_sec);
                        if (r < 0)
                                return r;
                        seen_delay = true;
                } else if (attr_is(attr, attr_n, "message")) {
                        if (seen_message)
                                return -EBADMSG;
                        r = parse_message(value, (size_t) (end - value), p->message);
                        if (r < 0)
                                return r == -ENOMEM ? r : -EBADMSG;
                        seen_message = true;
                } else if (!attr_is(attr, attr_n, "xmlns") && !(attr_n > 6 && memcmp(attr, "xmlns:", 6) == 0))
                        /* A later version's attribute would change what the policy means: do not
                         * act on half of it. */
                        return -EBADMSG;
        }

        q = skip_space(q);
        if (q[0] == '/' && q[1] == '>')
                q += 2;
        else if (q[0] == '>') {
                /* <policy ...></policy>: nothing but white space inside, the same name closing. */
                q = skip_space(q + 1);
                if (q[0] != '<' || q[1] != '/' || strncmp(q + 2, name, name_n) != 0)
                        return -EBADMSG;
                q = skip_space(q + 2 + name_n);
                if (*q++ != '>')
                        return -EBADMSG;
        } else
                return -EBADMSG;
        if (*skip_space(q) != '\0' || !seen_action)
                return -EBADMSG;

        *ret = *p;
        return 0;
}

char *console_policy_format(const ConsolePolicy *p) {
        _cleanup_free_ char *escaped = NULL;
        size_t k = 0;
        char *s;

        /* Every character that XML would change in an attribute, written as a reference, so the
         * message reads back byte for byte (white space in an attribute is normalized otherwise). */
        escaped = malloc(strlen(p->message) * 6 + 1);
        if (!escaped)
                return NULL;
        for (const char *c = p->message; *c; c++) {
                switch (*c) {
                case '&': memcpy(escaped + k, "&amp;", 5); k += 5; break;
                case '<': memcpy(escaped + k, "&lt;", 4); k += 4; break;
                case '>': memcpy(escaped + k, "&gt;", 4); k += 4; break;
                case '\'': memcpy(escaped + k, "&apos;", 6); k += 6; break;
                case '"': memcpy(escaped + k, "&quot;", 6); k += 6; break;
                case '\n': memcpy(escaped + k, "&#10;", 5); k += 5; break;
                case '\t': memcpy(escaped + k, "&#9;", 4); k += 4; break;
                default: escaped[k++] = *c;
                }
        }
        escaped[k] = 0;
        if (asprintf(&s, k > 0 ? "<policy console-disconnect='%s' delay='%u' message='%s'/>" :
                                 "<policy console-disconnect='%s' delay='%u'%s/>",
                     console_disconnect_action_to_string(p->action), p->delay_sec, escaped) < 0)
                return NULL;
        return s;
}
