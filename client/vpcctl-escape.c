/* Text from the service (VM names, which a host admin chose, and messages, which may quote a guest)
 * on vpcctl's text output: every control character (C0, DEL, C1), every byte that is not valid
 * UTF-8 and the Unicode controls that reorder a line (bidirectional overrides and isolates) written as
 * \xNN or \uNNNN, as machinectl does with systemd's xescape(), so no service text can move the
 * cursor, recolour or retitle the terminal, or forge a line. --json prints the exact strings.
 * Valid UTF-8 is what service/text.c's decoder says (noncharacters too are invalid), so client and
 * service agree on every byte. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "text.h"
#include "vpcctl.h"

/* The code point of the k-byte character at s, which text_utf8_char_length() found valid. */
static uint32_t utf8_code_point(const unsigned char *s, size_t k) {
        static const unsigned char lead_mask[] = { 0, 0x7F, 0x1F, 0x0F, 0x07 };
        uint32_t c = s[0] & lead_mask[k];

        for (size_t i = 1; i < k; i++)
                c = (c << 6) | (s[i] & 0x3F);
        return c;
}

static bool is_hostile(uint32_t c) {
        return c < 0x20 || (c >= 0x7F && c < 0xA0) ||
               c == 0x061C || c == 0x200E || c == 0x200F ||     /* marks that flip a line's direction */
               (c >= 0x202A && c <= 0x202E) || (c >= 0x2066 && c <= 0x2069);
}

char *display_escape(const char *s) {
        const unsigned char *p = (const unsigned char *) strempty(s);
        size_t n = strlen((const char *) p);
        const unsigned char *end = p + n;
        char *out, *o;

        /* At most 6 bytes out ("\u202e") for each byte in. */
        out = malloc(n * 6 + 1);
        if (!out)
                return NULL;
        o = out;
        while (*p) {
                /* The service's own decoder (text.c): what it calls valid is shown as is. */
                size_t k = text_utf8_char_length((const char *) p, (size_t) (end - p));
                uint32_t c = k > 0 ? utf8_code_point(p, k) : 0;

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

/* Display width by code points: good enough for names in a table, and locale-independent. */
size_t utf8_width(const char *s) {
        size_t n = 0;

        for (; s && *s; s++)
                if (((unsigned char) *s & 0xC0) != 0x80)
                        n++;
        return n;
}

void print_status_label(const char *label) {
        size_t w = utf8_width(label);

        for (; w < 10; w++)
                putchar(' ');
        fputs(label, stdout);
        fputs(*label ? ": " : "  ", stdout);
}
