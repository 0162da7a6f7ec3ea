/* See console-metadata.h. The element is tiny and fixed, so a small hand parser takes it: one empty
 * element, attributes in single or double quotes, no entities, no children, no comments. */
#include <errno.h>
#include <libvirt/virterror.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "console-metadata.h"
#include "util.h"

static const char *const action_names[_CONSOLE_DISCONNECT_MAX] = {
        [CONSOLE_DISCONNECT_NONE] = "none",
        [CONSOLE_DISCONNECT_LOGOFF] = "logoff",
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

int console_policy_parse(const char *xml, ConsolePolicy *ret) {
        ConsolePolicy p = { .action = CONSOLE_DISCONNECT_NONE, .delay_sec = CONSOLE_DELAY_DEFAULT_SEC };
        bool seen_action = false, seen_delay = false;
        const char *q, *name;
        size_t name_n;

        if (!xml || strnlen(xml, CONSOLE_METADATA_MAX + 1) > CONSOLE_METADATA_MAX)
                return -EBADMSG;

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
                /* No entities or markup in a value: ours are a keyword, digits or a URI. */
                if (!end || memchr(value, '&', (size_t) (end - value)) || memchr(value, '<', (size_t) (end - value)))
                        return -EBADMSG;
                q = end + 1;

                if (attr_is(attr, attr_n, "console-disconnect")) {
                        char word[8] = {};

                        if (seen_action || (size_t) (end - value) >= sizeof(word))
                                return -EBADMSG;
                        memcpy(word, value, (size_t) (end - value));
                        if (console_disconnect_action_from_string(word, &p.action) < 0)
                                return -EBADMSG;
                        seen_action = true;
                } else if (attr_is(attr, attr_n, "delay")) {
                        if (seen_delay)
                                return -EBADMSG;
                        r = parse_delay(value, (size_t) (end - value), &p.delay_sec);
                        if (r < 0)
                                return r;
                        seen_delay = true;
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

        *ret = p;
        return 0;
}

char *console_policy_format(const ConsolePolicy *p) {
        char *s;

        if (asprintf(&s, "<policy console-disconnect='%s' delay='%u'/>", console_disconnect_action_to_string(p->action),
                     p->delay_sec) < 0)
                return NULL;
        return s;
}

int console_metadata_read(virDomainPtr d, ConsolePolicy *ret) {
        _cleanup_free_ char *xml = NULL;
        virErrorPtr e;
        int r;

        *ret = (ConsolePolicy) { .action = CONSOLE_DISCONNECT_NONE, .delay_sec = CONSOLE_DELAY_DEFAULT_SEC };
        xml = virDomainGetMetadata(d, VIR_DOMAIN_METADATA_ELEMENT, CONSOLE_METADATA_URI, 0);
        if (!xml) {
                e = virGetLastError();
                if (e && e->code == VIR_ERR_NO_DOMAIN_METADATA) {
                        virResetLastError();
                        return 0;
                }
                return -EIO;
        }
        r = console_policy_parse(xml, ret);
        if (r < 0)
                *ret = (ConsolePolicy) { .action = CONSOLE_DISCONNECT_NONE, .delay_sec = CONSOLE_DELAY_DEFAULT_SEC };
        return r;
}

int console_metadata_write(virDomainPtr d, const ConsolePolicy *p) {
        _cleanup_free_ char *xml = NULL;
        unsigned flags = 0;
        int persistent, active;
        virErrorPtr e;

        /* Kept for none too, so the delay set with it reads back as set. */
        xml = console_policy_format(p);
        if (!xml)
                return -ENOMEM;
        persistent = virDomainIsPersistent(d);
        active = virDomainIsActive(d);
        if (persistent < 0 || active < 0)
                return -EIO;
        /* libvirt takes CONFIG|LIVE on a running persistent domain, CONFIG alone on a shut-off one
         * and LIVE alone on a transient one. */
        if (persistent)
                flags |= VIR_DOMAIN_AFFECT_CONFIG;
        if (active)
                flags |= VIR_DOMAIN_AFFECT_LIVE;
        if (virDomainSetMetadata(d, VIR_DOMAIN_METADATA_ELEMENT, xml, CONSOLE_METADATA_PREFIX, CONSOLE_METADATA_URI,
                                 flags) == 0)
                return 0;
        /* It stopped between the question and the change: its config is all there is now. */
        e = virGetLastError();
        if (persistent && active && e && e->code == VIR_ERR_OPERATION_INVALID &&
            virDomainSetMetadata(d, VIR_DOMAIN_METADATA_ELEMENT, xml, CONSOLE_METADATA_PREFIX, CONSOLE_METADATA_URI,
                                 VIR_DOMAIN_AFFECT_CONFIG) == 0)
                return 0;
        return -EIO;
}
