/* The console policy's metadata parser (service/console-metadata.c): the element as libvirt gives
 * it back (with or without a prefix, xmlns attributes, either quotes) parses; anything else (other
 * elements, unknown or repeated attributes, bad values, entities, children, trailing text, overlong
 * input) is refused and leaves the result alone; the written form parses back to the same policy,
 * message included, for every action; older elements (none/logoff, no message) read as before. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "console-metadata.h"

static void assert_parses(const char *xml, ConsoleDisconnectAction action, unsigned delay) {
        ConsolePolicy p = { .action = 99, .delay_sec = 99 };

        if (console_policy_parse(xml, &p) != 0)
                fail_msg("refused: %s", xml);
        assert_int_equal(p.action, action);
        assert_int_equal(p.delay_sec, delay);
}

static void assert_refused(const char *xml) {
        ConsolePolicy p = { .action = CONSOLE_DISCONNECT_LOGOFF, .delay_sec = 7 };

        if (console_policy_parse(xml, &p) != -EBADMSG)
                fail_msg("accepted: %s", xml ? xml : "(null)");
        /* Untouched on failure. */
        assert_int_equal(p.action, CONSOLE_DISCONNECT_LOGOFF);
        assert_int_equal(p.delay_sec, 7);
}

static void test_accepted(void **state) {
        assert_parses("<policy console-disconnect='logoff' delay='30'/>", CONSOLE_DISCONNECT_LOGOFF, 30);
        assert_parses("<policy console-disconnect=\"none\" delay=\"0\"/>", CONSOLE_DISCONNECT_NONE, 0);
        /* What virDomainGetMetadata() returns: the namespace declared on the element. */
        assert_parses("<policy xmlns=\"https://vpc.org/xmlns/guestos/1\" console-disconnect=\"logoff\" delay=\"2\"/>",
                      CONSOLE_DISCONNECT_LOGOFF, 2);
        assert_parses("<vpc:policy xmlns:vpc='https://vpc.org/xmlns/guestos/1' console-disconnect='logoff' "
                      "delay='86400'/>", CONSOLE_DISCONNECT_LOGOFF, 86400);
        assert_parses("  \n<policy\n  console-disconnect = 'logoff'\tdelay='5' />\n", CONSOLE_DISCONNECT_LOGOFF, 5);
        assert_parses("<policy console-disconnect='logoff' delay='5'></policy>", CONSOLE_DISCONNECT_LOGOFF, 5);
        assert_parses("<policy console-disconnect='logoff' delay='5'>\n </policy >", CONSOLE_DISCONNECT_LOGOFF, 5);
        /* The delay may be left out. */
        assert_parses("<policy console-disconnect='logoff'/>", CONSOLE_DISCONNECT_LOGOFF, CONSOLE_DELAY_DEFAULT_SEC);
        assert_parses("<policy delay='007' console-disconnect='none'/>", CONSOLE_DISCONNECT_NONE, 7);
}

static void test_refused(void **state) {
        char *big;

        assert_refused(NULL);
        assert_refused("");
        assert_refused("policy");
        assert_refused("<policy/>");                                            /* no action */
        assert_refused("<policies console-disconnect='logoff'/>");
        assert_refused("<vpc:other console-disconnect='logoff'/>");
        assert_refused("<:policy console-disconnect='logoff'/>");
        assert_refused("<a:b:policy console-disconnect='logoff'/>");
        assert_refused("<policy console-disconnect='lock-then'/>");
        assert_refused("<policy console-disconnect='warn-then-logoff-x'/>");
        assert_refused("<policy console-disconnect='LOGOFF'/>");
        assert_refused("<policy console-disconnect='logoff '/>");
        assert_refused("<policy console-disconnect='logoffx'/>");
        assert_refused("<policy console-disconnect=''/>");
        assert_refused("<policy console-disconnect='logoff' delay='86401'/>");
        assert_refused("<policy console-disconnect='logoff' delay='-1'/>");
        assert_refused("<policy console-disconnect='logoff' delay='+1'/>");
        assert_refused("<policy console-disconnect='logoff' delay='0x10'/>");
        assert_refused("<policy console-disconnect='logoff' delay=''/>");
        assert_refused("<policy console-disconnect='logoff' delay=' 5'/>");
        assert_refused("<policy console-disconnect='logoff' delay='99999999999999999999'/>");
        assert_refused("<policy console-disconnect='logoff' delay='5' delay='6'/>");
        assert_refused("<policy console-disconnect='logoff' console-disconnect='none'/>");
        assert_refused("<policy console-disconnect='logoff' lock='yes'/>");     /* a later version's */
        /* The message: references only there, each well formed, and the text a clean Logoff message. */
        assert_refused("<policy console-disconnect='logoff' delay='5&amp;'/>");
        assert_refused("<policy console-disconnect='logoff' message='a' message='b'/>");
        assert_refused("<policy console-disconnect='logoff' message='&bogus;'/>");
        assert_refused("<policy console-disconnect='logoff' message='&amp'/>");
        assert_refused("<policy console-disconnect='logoff' message='&#;'/>");
        assert_refused("<policy console-disconnect='logoff' message='&#x;'/>");
        assert_refused("<policy console-disconnect='logoff' message='&#0;'/>");
        assert_refused("<policy console-disconnect='logoff' message='&#xD800;'/>");
        assert_refused("<policy console-disconnect='logoff' message='&#x110000;'/>");
        assert_refused("<policy console-disconnect='logoff' message='&#99999999999;'/>");
        assert_refused("<policy console-disconnect='logoff' message='&#27;[2J'/>");     /* ESC */
        assert_refused("<policy console-disconnect='logoff' message='&#x9B;'/>");       /* C1 CSI */
        assert_refused("<policy console-disconnect='logoff' message='\x1b[2J'/>");
        assert_refused("<policy console-disconnect='logoff' message='\xff\xfe'/>");      /* not UTF-8 */
        assert_refused("<policy console-disconnect='logoff' message='<b>'/>");
        assert_refused("<policy console-disconnect='log&#111;ff'/>");
        assert_refused("<policy console-disconnect=logoff/>");
        assert_refused("<policy console-disconnect='logoff\"/>");
        assert_refused("<policy console-disconnect='logoff'");
        assert_refused("<policy console-disconnect='logoff'>");
        assert_refused("<policy console-disconnect='logoff'><x/></policy>");
        assert_refused("<policy console-disconnect='logoff'>text</policy>");
        assert_refused("<policy console-disconnect='logoff'></other>");
        assert_refused("<policy console-disconnect='logoff'/><policy console-disconnect='none'/>");
        assert_refused("<policy console-disconnect='logoff'/> trailing");
        assert_refused("<!-- c --><policy console-disconnect='logoff'/>");
        assert_refused("<policy console-disconnect='logoff'delay='5'/>");

        /* Longer than the bound, even if well formed. */
        big = malloc(CONSOLE_METADATA_MAX + 64);
        assert_non_null(big);
        strcpy(big, "<policy console-disconnect='logoff'");
        memset(big + strlen(big), ' ', CONSOLE_METADATA_MAX);
        strcpy(big + CONSOLE_METADATA_MAX + 30, "/>");
        assert_refused(big);
        free(big);
}

static void test_format_round_trip(void **state) {
        static const char *const messages[] = {
                "", "Saving your work: log off in 5 minutes.", "a & b < c > d 'e' \"f\"\nline\ttab",
                "Sesión cerrándose — ¡guarde! 日本語 😀", "&amp; is not decoded twice",
        };

        for (int a = 0; a < _CONSOLE_DISCONNECT_MAX; a++)
                for (unsigned delay = 0; delay <= CONSOLE_DELAY_MAX_SEC; delay += 4321)
                        for (size_t m = 0; m < sizeof(messages) / sizeof(messages[0]); m++) {
                                ConsolePolicy p = { .action = a, .delay_sec = delay }, back = {};
                                char *xml;

                                strcpy(p.message, messages[m]);
                                xml = console_policy_format(&p);
                                assert_non_null(xml);
                                /* Written without a prefix: libvirt adds its own. */
                                assert_true(strncmp(xml, "<policy ", 8) == 0);
                                /* No message, no attribute: older versions read what we write then. */
                                assert_true((strstr(xml, "message=") != NULL) == (messages[m][0] != 0));
                                assert_int_equal(console_policy_parse(xml, &back), 0);
                                assert_int_equal(back.action, p.action);
                                assert_int_equal(back.delay_sec, p.delay_sec);
                                assert_string_equal(back.message, p.message);
                                free(xml);
                        }
}

/* The longest message (LOGOFF_MESSAGE_MAX bytes, every byte one that needs a reference) fits. */
static void test_longest_message(void **state) {
        ConsolePolicy p = { .action = CONSOLE_DISCONNECT_WARN_THEN_LOGOFF, .delay_sec = 60 }, back = {};
        char *xml;

        memset(p.message, '"', LOGOFF_MESSAGE_MAX);
        p.message[LOGOFF_MESSAGE_MAX] = 0;
        xml = console_policy_format(&p);
        assert_non_null(xml);
        assert_int_equal(console_policy_parse(xml, &back), 0);
        assert_string_equal(back.message, p.message);
        free(xml);
}

/* What older versions stored, and what libxml2 gives back for ours. */
static void test_stored_forms(void **state) {
        ConsolePolicy p = {};

        strcpy(p.message, "stale");
        assert_int_equal(console_policy_parse("<vpc:policy xmlns:vpc='https://vpc.org/xmlns/guestos/1' "
                                              "console-disconnect='logoff' delay='30'/>", &p), 0);
        assert_int_equal(p.action, CONSOLE_DISCONNECT_LOGOFF);
        assert_int_equal(p.delay_sec, 30);
        assert_string_equal(p.message, "");
        assert_int_equal(console_policy_parse("<policy console-disconnect='none' delay='0'/>", &p), 0);
        assert_int_equal(p.action, CONSOLE_DISCONNECT_NONE);
        assert_string_equal(p.message, "");

        assert_int_equal(console_policy_parse("<policy xmlns=\"https://vpc.org/xmlns/guestos/1\" "
                                              "console-disconnect=\"lock-then-logoff\" delay=\"45\" "
                                              "message=\"Bye&#10;&#9;caf&#xE9; &#233; &lt;now&gt; &quot;&apos;\"/>", &p), 0);
        assert_int_equal(p.action, CONSOLE_DISCONNECT_LOCK_THEN_LOGOFF);
        assert_int_equal(p.delay_sec, 45);
        assert_string_equal(p.message, "Bye\n\tcafé é <now> \"'");
        assert_int_equal(console_policy_parse("<policy console-disconnect='lock'/>", &p), 0);
        assert_int_equal(p.action, CONSOLE_DISCONNECT_LOCK);
        assert_int_equal(console_policy_parse("<policy console-disconnect='warn-then-logoff' message=''/>", &p), 0);
        assert_int_equal(p.action, CONSOLE_DISCONNECT_WARN_THEN_LOGOFF);
        assert_string_equal(p.message, "");
}

static void test_action_names(void **state) {
        ConsoleDisconnectAction a;

        assert_string_equal(console_disconnect_action_to_string(CONSOLE_DISCONNECT_NONE), "none");
        assert_string_equal(console_disconnect_action_to_string(CONSOLE_DISCONNECT_LOGOFF), "logoff");
        assert_int_equal(console_disconnect_action_from_string("logoff", &a), 0);
        assert_int_equal(a, CONSOLE_DISCONNECT_LOGOFF);
        assert_int_equal(console_disconnect_action_from_string("lock", &a), 0);
        assert_int_equal(a, CONSOLE_DISCONNECT_LOCK);
        assert_int_equal(console_disconnect_action_from_string("lock-then-logoff", &a), 0);
        assert_int_equal(a, CONSOLE_DISCONNECT_LOCK_THEN_LOGOFF);
        assert_int_equal(console_disconnect_action_from_string("warn-then-logoff", &a), 0);
        assert_int_equal(a, CONSOLE_DISCONNECT_WARN_THEN_LOGOFF);
        assert_string_equal(console_disconnect_action_to_string(CONSOLE_DISCONNECT_WARN_THEN_LOGOFF),
                            "warn-then-logoff");
        assert_int_equal(console_disconnect_action_from_string("shutdown", &a), -EINVAL);
        assert_int_equal(console_disconnect_action_from_string(NULL, &a), -EINVAL);
}

int main(void) {
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(test_accepted),
                cmocka_unit_test(test_refused),
                cmocka_unit_test(test_format_round_trip),
                cmocka_unit_test(test_longest_message),
                cmocka_unit_test(test_stored_forms),
                cmocka_unit_test(test_action_names),
        };
        return cmocka_run_group_tests(tests, NULL, NULL);
}
