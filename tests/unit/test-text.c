/* The text boundary (service/text.c): invalid UTF-8 (stray continuation bytes, truncated sequences,
 * overlong forms, surrogates, code points above U+10FFFF, noncharacters) comes out escaped, control
 * characters too when asked, valid text unchanged, and the bound holds without ever splitting a
 * character or an escape. Every output is checked against sd-bus itself: it must go into a message. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>
#include <sys/socket.h>
#include <systemd/sd-bus.h>

#include "text.h"
#include "util.h"

/* sd-bus is the judge: a string it refuses would be a reply that is never sent. A bus on one end of
 * a socketpair counts as open, which is all sd_bus_message_new() asks. */
static sd_bus *judge;

static bool sd_bus_takes(const char *s) {
        _cleanup_(sd_bus_message_unrefp) sd_bus_message *m = NULL;

        assert_int_equal(sd_bus_message_new(judge, &m, SD_BUS_MESSAGE_SIGNAL), 0);
        return sd_bus_message_append(m, "s", s) >= 0;
}

static int judge_open(void **state) {
        int fds[2];

        assert_int_equal(socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, fds), 0);
        assert_int_equal(sd_bus_new(&judge), 0);
        assert_int_equal(sd_bus_set_fd(judge, fds[0], fds[0]), 0);
        assert_true(sd_bus_start(judge) >= 0);
        close(fds[1]);
        /* The judge itself: it refuses what it must. */
        assert_false(sd_bus_takes("\xff"));
        assert_false(sd_bus_takes("\xed\xa0\x80"));
        return 0;
}

static int judge_close(void **state) {
        judge = sd_bus_close_unref(judge);
        return 0;
}

static void expect(const char *in, size_t max, TextFlags flags, const char *out) {
        _cleanup_free_ char *s = text_sanitize(in, max, flags);

        assert_non_null(s);
        assert_string_equal(s, out);
        assert_true(strlen(s) <= max);
        assert_true(text_is_valid_utf8(s));
        assert_true(sd_bus_takes(s));
}

static void test_valid_unchanged(void **state) {
        expect("", 64, 0, "");
        expect(NULL, 64, 0, "");
        expect("web server 01", 64, TEXT_ESCAPE_CONTROL, "web server 01");
        expect("ünïcode-vm \xe2\x82\xac \xf0\x9f\x98\x80", 64, TEXT_ESCAPE_CONTROL,
               "ünïcode-vm \xe2\x82\xac \xf0\x9f\x98\x80");
        expect("DOMAIN\\user", 64, TEXT_ESCAPE_CONTROL, "DOMAIN\\user");
        /* The largest code points that are valid: U+10FFFD, U+FFFD, U+D7FF, U+E000. */
        expect("\xf4\x8f\xbf\xbd\xef\xbf\xbd\xed\x9f\xbf\xee\x80\x80", 64, 0,
               "\xf4\x8f\xbf\xbd\xef\xbf\xbd\xed\x9f\xbf\xee\x80\x80");
}

static void test_invalid_sequences(void **state) {
        expect("a\xff" "b", 64, 0, "a\\xffb");
        expect("\x80\xbf", 64, 0, "\\x80\\xbf");                   /* stray continuation bytes */
        expect("\xc3", 64, 0, "\\xc3");                            /* truncated at the end */
        expect("\xc3(", 64, 0, "\\xc3(");                          /* lead byte, no continuation */
        expect("\xe2\x82", 64, 0, "\\xe2\\x82");                   /* a 3-byte sequence cut short */
        expect("\xe2\x82(\xe2\x82\xac", 64, 0, "\\xe2\\x82(\xe2\x82\xac");  /* resynchronizes */
        expect("\xfe\xff\xf5\xf8", 64, 0, "\\xfe\\xff\\xf5\\xf8");  /* never lead bytes */
        /* Above U+10FFFF: F4 90 80 80 is U+110000. */
        expect("\xf4\x90\x80\x80", 64, 0, "\\xf4\\x90\\x80\\x80");
}

static void test_overlong(void **state) {
        expect("\xc0\x80", 64, 0, "\\xc0\\x80");                   /* overlong NUL */
        expect("\xc1\xbf", 64, 0, "\\xc1\\xbf");                   /* overlong DEL */
        expect("\xe0\x80\xaf", 64, 0, "\\xe0\\x80\\xaf");          /* overlong '/' */
        expect("\xe0\x9f\xbf", 64, 0, "\\xe0\\x9f\\xbf");          /* overlong U+07FF */
        expect("\xf0\x80\x80\x80", 64, 0, "\\xf0\\x80\\x80\\x80"); /* overlong NUL, 4 bytes */
        expect("\xf0\x8f\xbf\xbf", 64, 0, "\\xf0\\x8f\\xbf\\xbf"); /* overlong U+FFFF */
}

static void test_surrogates_and_noncharacters(void **state) {
        expect("\xed\xa0\x80", 64, 0, "\\xed\\xa0\\x80");          /* U+D800, a lone high surrogate */
        expect("\xed\xbf\xbf", 64, 0, "\\xed\\xbf\\xbf");          /* U+DFFF */
        /* CESU-8 of U+1F600: a surrogate pair encoded as two 3-byte sequences. */
        expect("\xed\xa0\xbd\xed\xb8\x80", 64, 0, "\\xed\\xa0\\xbd\\xed\\xb8\\x80");
        expect("\xef\xbf\xbe\xef\xbf\xbf", 64, 0, "\\xef\\xbf\\xbe\\xef\\xbf\\xbf");  /* U+FFFE, U+FFFF */
        expect("\xef\xb7\x90", 64, 0, "\\xef\\xb7\\x90");          /* U+FDD0 */
        expect("\xf4\x8f\xbf\xbf", 64, 0, "\\xf4\\x8f\\xbf\\xbf"); /* U+10FFFF */
}

static void test_control_characters(void **state) {
        expect("a\tb\nc\rd\x1b[31me\x7f", 64, TEXT_ESCAPE_CONTROL, "a\\x09b\\x0ac\\x0dd\\x1b[31me\\x7f");
        expect("\x01\x1f", 64, TEXT_ESCAPE_CONTROL, "\\x01\\x1f");
        /* C1 controls, U+0080..U+009F: U+009B is a CSI on terminals that take 8-bit controls. */
        expect("x\xc2\x9b" "31m\xc2\x80\xc2\x9f\xc2\xa0", 64, TEXT_ESCAPE_CONTROL,
               "x\\xc2\\x9b31m\\xc2\\x80\\xc2\\x9f\xc2\xa0");
        /* Without the flag controls are valid UTF-8 and stay (names must round-trip). */
        expect("a\tb\x1b", 64, 0, "a\tb\x1b");
}

static void test_truncation(void **state) {
        /* Fits exactly: no marker. */
        expect("abcdefgh", 8, 0, "abcdefgh");
        expect("abcdefghi", 8, 0, "abcde...");
        /* Never splits a character: "é" is two bytes, "€" three, "😀" four. */
        expect("abcdéf", 6, 0, "abc...");
        expect("abcdé", 6, 0, "abcdé");
        expect("ab€€x", 8, 0, "ab€...");
        expect("ab€€", 6, 0, "ab...");
        expect("a😀b", 5, 0, "a...");
        expect("😀😀😀", 10, 0, "😀...");
        /* Never splits an escape. */
        expect("ab\xff\xff", 8, 0, "ab...");
        expect("ab\xff\xff\xff", 10, 0, "ab\\xff...");
        expect("\x1b\x1b\x1b", 9, TEXT_ESCAPE_CONTROL, "\\x1b...");
        /* A tiny bound still gives a string that fits. */
        expect("abcdef", 4, 0, "a...");
        _cleanup_free_ char *tiny = text_sanitize("abcdef", 1, 0);   /* below the minimum: 4 */
        assert_string_equal(tiny, "a...");

        /* Long hostile input: every bound holds. */
        char big[5000];
        for (size_t i = 0; i < sizeof(big) - 1; i++)
                big[i] = (char) (i % 3 == 0 ? 0xff : i % 3 == 1 ? 0xc3 : 0xa9);
        big[sizeof(big) - 1] = 0;
        for (size_t max = 4; max < 64; max++) {
                _cleanup_free_ char *s = text_sanitize(big, max, TEXT_ESCAPE_CONTROL);
                assert_non_null(s);
                assert_true(strlen(s) <= max);
                assert_true(text_is_valid_utf8(s));
                assert_true(sd_bus_takes(s));
        }
        _cleanup_free_ char *s = text_sanitize(big, TEXT_MESSAGE_MAX, TEXT_ESCAPE_CONTROL);
        assert_true(strlen(s) <= TEXT_MESSAGE_MAX);
        assert_true(strlen(s) >= TEXT_MESSAGE_MAX - 8);
}

/* Every short byte string: the output is valid, bounded, and equal to the input exactly when the
 * input was valid (and, with the flag, free of controls). */
static void test_exhaustive_short(void **state) {
        unsigned char in[4] = {};

        for (unsigned a = 1; a < 256; a++)
                for (unsigned b = 0; b < 256; b++) {
                        in[0] = (unsigned char) a;
                        in[1] = (unsigned char) b;
                        in[2] = 0;
                        _cleanup_free_ char *s = text_sanitize((char *) in, 64, 0);
                        assert_non_null(s);
                        assert_true(text_is_valid_utf8(s));
                        assert_int_equal(strcmp(s, (char *) in) == 0, text_is_valid_utf8((char *) in));
                        if (a >= 0x80 && b == 0 && s[0] == '\\')
                                assert_true(sd_bus_takes(s));
                }
        assert_false(text_is_valid_utf8(NULL));
}

int main(void) {
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(test_valid_unchanged),
                cmocka_unit_test(test_invalid_sequences),
                cmocka_unit_test(test_overlong),
                cmocka_unit_test(test_surrogates_and_noncharacters),
                cmocka_unit_test(test_control_characters),
                cmocka_unit_test(test_truncation),
                cmocka_unit_test(test_exhaustive_short),
        };

        return cmocka_run_group_tests(tests, judge_open, judge_close);
}
