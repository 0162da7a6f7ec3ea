/* vpcctl's terminal escaping (client/vpcctl-escape.c) on the service's UTF-8 decoder (service/text.c):
 * what the service counts as valid text is shown as is, controls and line-reordering characters are
 * written as escapes, and every byte the decoder refuses is written as \xNN, the same bytes
 * text_sanitize() would escape. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "text.h"
#include "vpcctl.h"

static void assert_escaped(const char *in, const char *want) {
        char *got = display_escape(in);

        assert_non_null(got);
        assert_string_equal(got, want);
        assert_true(text_is_valid_utf8(got));
        free(got);
}

static void test_valid_text_is_kept(void **state) {
        assert_escaped("web server 01", "web server 01");
        assert_escaped("m\xc3\xa1quina a\xc3\xb1o \xe6\x97\xa5\xe6\x9c\xac \xf0\x9f\x96\xa5", /* máquina año 日本 🖥 */
                       "m\xc3\xa1quina a\xc3\xb1o \xe6\x97\xa5\xe6\x9c\xac \xf0\x9f\x96\xa5");
        assert_escaped("", "");
        assert_escaped(NULL, "");
}

static void test_controls_and_bidi(void **state) {
        assert_escaped("a\tb\x1b[31m\x7f", "a\\x09b\\x1b[31m\\x7f");
        assert_escaped("csi\xc2\x9b" "31m", "csi\\x9b31m");                  /* U+009B: one escape */
        assert_escaped("\xe2\x80\xae" "exe.txt", "\\u202eexe.txt");           /* U+202E */
        assert_escaped("\xe2\x81\xa6x\xe2\x81\xa9", "\\u2066x\\u2069");       /* isolates */
        assert_escaped("\xd8\x9c\xe2\x80\x8f", "\\u061c\\u200f");             /* direction marks */
}

static void test_what_the_decoder_refuses(void **state) {
        assert_escaped("\xff" "a", "\\xffa");
        assert_escaped("\xc0\x80", "\\xc0\\x80");                             /* overlong NUL */
        assert_escaped("\xed\xa0\x80", "\\xed\\xa0\\x80");                    /* a UTF-16 surrogate */
        assert_escaped("\xf4\x90\x80\x80", "\\xf4\\x90\\x80\\x80");           /* above U+10FFFF */
        assert_escaped("\xc3", "\\xc3");                                      /* cut at the end */
        /* Noncharacters, which text.c (as sd-bus) refuses: escaped here too, byte by byte. */
        assert_escaped("\xef\xb7\x90", "\\xef\\xb7\\x90");                    /* U+FDD0 */
        assert_escaped("\xef\xbf\xbe", "\\xef\\xbf\\xbe");                    /* U+FFFE */
}

static void test_agrees_with_text_sanitize(void **state) {
        static const char *const samples[] = { "\xff\xfe", "a\xe2\x82", "\xef\xb7\x90", "\xc3\xb1\xc0\xaf" };

        for (size_t i = 0; i < sizeof(samples) / sizeof(samples[0]); i++) {
                char *a = display_escape(samples[i]), *b = text_sanitize(samples[i], TEXT_MESSAGE_MAX, 0);

                assert_non_null(a);
                assert_non_null(b);
                assert_string_equal(a, b);
                free(a);
                free(b);
        }
}

int main(void) {
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(test_valid_text_is_kept),
                cmocka_unit_test(test_controls_and_bidi),
                cmocka_unit_test(test_what_the_decoder_refuses),
                cmocka_unit_test(test_agrees_with_text_sanitize),
        };
        return cmocka_run_group_tests(tests, NULL, NULL);
}
