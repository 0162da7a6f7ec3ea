/* Text from the service (VM names, which a host admin chose, and messages, which may quote a guest)
 * on vpcctl's text output: every control character (C0, DEL, C1), every byte that is not valid
 * UTF-8 and the Unicode controls that reorder a line (bidirectional overrides and isolates) written as
 * \xNN or \uNNNN, as machinectl does with systemd's xescape(), so no service text can move the
 * cursor, recolour or retitle the terminal, or forge a line. --json prints the exact strings. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "vpcctl.h"

/* Length of the valid UTF-8 character at s (shortest form, no surrogates, at most U+10FFFF) and its
 * code point, or 0. */
static size_t utf8_char(const unsigned char *s, uint32_t *ret) {
        size_t len;
        uint32_t c;

        if (s[0] < 0x80) {
                *ret = s[0];
                return 1;
        }
        if (s[0] >= 0xC2 && s[0] <= 0xDF)
                len = 2, c = s[0] & 0x1F;
        else if (s[0] >= 0xE0 && s[0] <= 0xEF)
                len = 3, c = s[0] & 0x0F;
        else if (s[0] >= 0xF0 && s[0] <= 0xF4)
                len = 4, c = s[0] & 0x07;
        else
                return 0;
        for (size_t i = 1; i < len; i++) {
                if ((s[i] & 0xC0) != 0x80)      /* also stops at the NUL */
                        return 0;
                c = (c << 6) | (s[i] & 0x3F);
        }
        if ((len == 3 && c < 0x800) || (len == 4 && c < 0x10000) || c > 0x10FFFF || (c >= 0xD800 && c <= 0xDFFF))
                return 0;
        *ret = c;
        return len;
}

static bool is_hostile(uint32_t c) {
        return c < 0x20 || (c >= 0x7F && c < 0xA0) ||
               c == 0x061C || c == 0x200E || c == 0x200F ||     /* marks that flip a line's direction */
               (c >= 0x202A && c <= 0x202E) || (c >= 0x2066 && c <= 0x2069);
}

char *display_escape(const char *s) {
        const unsigned char *p = (const unsigned char *) strempty(s);
        size_t n = strlen((const char *) p);
        char *out, *o;

        /* At most 6 bytes out ("\u202e") for each byte in. */
        out = malloc(n * 6 + 1);
        if (!out)
                return NULL;
        o = out;
        while (*p) {
                uint32_t c;
                size_t k = utf8_char(p, &c);

                if (k == 0) {
                        o += sprintf(o, "\\x%02x", *p);
                        p++;
                } else if (is_hostile(c)) {
                        if (c < 0x100)
                                /* C1 controls are two bytes: escape the code point, not its bytes. */
                                o += sprintf(o, "\\x%02x", (unsigned) c);
                        else
                                o += sprintf(o, "\\u%04x", (unsigned) c);
                        p += k;
                } else {
                        memcpy(o, p, k);
                        o += k;
                        p += k;
                }
        }
        *o = 0;
        return out;
}
