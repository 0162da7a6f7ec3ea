/* See text.h. Escaping rather than replacing with U+FFFD keeps what the guest or libvirt really sent
 * readable in a log or a task's ErrorMessage, while no byte that sd-bus would refuse (it refuses to
 * build a message holding one, and the reply is then lost) or that a terminal would obey survives. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "text.h"

#define ELLIPSIS "..."

static bool unichar_is_valid(uint32_t c) {
        if (c >= 0x110000)
                return false;
        if ((c & 0xFFFFF800) == 0xD800)         /* UTF-16 surrogates */
                return false;
        if (c >= 0xFDD0 && c <= 0xFDEF)         /* noncharacters: systemd's utf8_is_valid() refuses them */
                return false;
        if ((c & 0xFFFE) == 0xFFFE)
                return false;
        return true;
}

size_t text_utf8_char_length(const char *s, size_t n) {
        const unsigned char *p = (const unsigned char *) s;
        uint32_t c;
        size_t len;

        if (n == 0)
                return 0;
        if (p[0] < 0x80)
                return p[0] ? 1 : 0;
        if (p[0] >= 0xC2 && p[0] <= 0xDF) {            /* C0, C1: overlong forms of ASCII */
                len = 2;
                c = p[0] & 0x1F;
        } else if (p[0] >= 0xE0 && p[0] <= 0xEF) {
                len = 3;
                c = p[0] & 0x0F;
        } else if (p[0] >= 0xF0 && p[0] <= 0xF4) {
                len = 4;
                c = p[0] & 0x07;
        } else
                return 0;
        if (len > n)
                return 0;
        for (size_t i = 1; i < len; i++) {
                if ((p[i] & 0xC0) != 0x80)
                        return 0;
                c = (c << 6) | (p[i] & 0x3F);
        }
        /* The shortest form only: E0 80 80 is an overlong NUL, F0 80 80 80 too. */
        if ((len == 3 && c < 0x800) || (len == 4 && c < 0x10000))
                return 0;
        return unichar_is_valid(c) ? len : 0;
}

bool text_is_valid_utf8(const char *s) {
        size_t n, k;

        if (!s)
                return false;
        n = strlen(s);
        for (size_t i = 0; i < n; i += k) {
                k = text_utf8_char_length(s + i, n - i);
                if (k == 0)
                        return false;
        }
        return true;
}

static bool is_control(const char *s, size_t k) {
        const unsigned char *p = (const unsigned char *) s;

        if (k == 1)
                return p[0] < 0x20 || p[0] == 0x7F;
        /* U+0080..U+009F, the C1 controls (CSI is U+009B): C2 80..C2 9F. */
        return k == 2 && p[0] == 0xC2 && p[1] < 0xA0;
}

char *text_sanitize(const char *s, size_t max, TextFlags flags) {
        static const char hex[] = "0123456789abcdef";
        size_t n, out = 0, k;
        bool truncated = false;
        char *buf;

        if (max < sizeof(ELLIPSIS))
                max = sizeof(ELLIPSIS);
        s = s ?: "";
        n = strlen(s);
        /* Each input byte takes at most 4 output bytes; output beyond max is never written. */
        buf = malloc(max + 1);
        if (!buf)
                return NULL;

        for (size_t i = 0; i < n; i += k) {
                char piece[8];
                size_t len = 0;

                k = text_utf8_char_length(s + i, n - i);
                if (k == 0 || ((flags & TEXT_ESCAPE_CONTROL) && is_control(s + i, k))) {
                        /* An invalid sequence goes one byte at a time (the next byte may start a
                         * valid character); a control character (a C1 one is two bytes) whole. */
                        if (k == 0)
                                k = 1;
                        for (size_t j = 0; j < k; j++) {
                                unsigned char b = (unsigned char) s[i + j];

                                piece[len++] = '\\';
                                piece[len++] = 'x';
                                piece[len++] = hex[b >> 4];
                                piece[len++] = hex[b & 15];
                        }
                } else {
                        memcpy(piece, s + i, k);
                        len = k;
                }
                if (out + len > max) {
                        truncated = true;
                        break;
                }
                memcpy(buf + out, piece, len);
                out += len;
        }

        if (truncated) {
                /* Room for the marker: drop whole units from the end until it fits. Every unit
                 * boundary is a character boundary, so walking back over continuation bytes and
                 * escapes is enough. */
                while (out + strlen(ELLIPSIS) > max) {
                        size_t back = out - 1;
                        /* An escape "\xNN" ends in two hex digits after "\x". */
                        if (out >= 4 && buf[out - 4] == '\\' && buf[out - 3] == 'x')
                                back = out - 4;
                        else
                                while (back > 0 && ((unsigned char) buf[back] & 0xC0) == 0x80)
                                        back--;
                        out = back;
                }
                memcpy(buf + out, ELLIPSIS, strlen(ELLIPSIS));
                out += strlen(ELLIPSIS);
        }
        buf[out] = 0;
        return buf;
}
