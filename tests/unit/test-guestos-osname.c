/* What GuestOS shows of a guest agent: the OS name from guest-get-osinfo, the ListUsers entries from
 * guest-get-users (as a(sst): sanitized user and domain, login time in µs), and the agent channel's
 * state read from libvirt's live domain XML. Replies as qemu-ga sends them, and as a lying guest could. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>
#include <errno.h>
#include <stdio.h>

#include "agent-json.h"
#include "domain-info.h"
#include "text.h"

static void test_os_name(void **state) {
        char *name = NULL, *error = NULL;

        /* Debian 12's qemu-ga. */
        assert_int_equal(agent_parse_os_name(
                "{\"return\":{\"name\":\"Debian GNU/Linux\",\"kernel-release\":\"6.1.0-18-amd64\","
                "\"version\":\"12 (bookworm)\",\"pretty-name\":\"Debian GNU/Linux 12 (bookworm)\","
                "\"version-id\":\"12\",\"kernel-version\":\"#1 SMP\",\"machine\":\"x86_64\",\"id\":\"debian\"}}",
                &name, &error), 0);
        assert_string_equal(name, "Debian GNU/Linux 12 (bookworm)");
        free(name);

        /* No pretty-name (or an empty one): the name. */
        assert_int_equal(agent_parse_os_name("{\"return\":{\"name\":\"Microsoft Windows\",\"pretty-name\":\"\"}}",
                                             &name, &error), 0);
        assert_string_equal(name, "Microsoft Windows");
        free(name);
        /* Neither, or of the wrong type: unknown, "". */
        assert_int_equal(agent_parse_os_name("{\"return\":{\"id\":\"x\",\"pretty-name\":5,\"name\":[]}}", &name, &error), 0);
        assert_string_equal(name, "");
        free(name);

        /* A lying agent: controls are escaped, the result is valid UTF-8 and bounded. */
        assert_int_equal(agent_parse_os_name("{\"return\":{\"pretty-name\":\"Evil \\u001b[31m\\u0085\\u202e x\"}}",
                                             &name, &error), 0);
        assert_non_null(strstr(name, "\\x1b[31m"));
        assert_null(strchr(name, '\x1b'));
        assert_true(text_is_valid_utf8(name));
        free(name);
        {
                size_t n = 100000;
                char *big = malloc(n + 64);
                assert_non_null(big);
                strcpy(big, "{\"return\":{\"pretty-name\":\"");
                memset(big + strlen(big), 'A', n);
                strcpy(big + 26 + n, "\"}}");
                assert_int_equal(agent_parse_os_name(big, &name, &error), 0);
                assert_true(strlen(name) <= AGENT_OS_NAME_MAX);
                free(name);
                free(big);
        }

        /* Not an object, an error reply, not JSON: an error, no name. */
        name = NULL;
        assert_int_equal(agent_parse_os_name("{\"return\":\"Linux\"}", &name, &error), -EBADMSG);
        assert_null(name);
        assert_int_equal(agent_parse_os_name("{\"error\":{\"class\":\"CommandNotFound\",\"desc\":\"no\"}}", &name, &error),
                         -EREMOTEIO);
        assert_int_equal(agent_parse_os_name("{\"return\":", &name, &error), -EBADMSG);
        assert_null(name);
        free(error);
}

static void test_user_list(void **state) {
        AgentUser *users = NULL;
        size_t n = 0;
        char *error = NULL;

        /* Linux qemu-ga: a float login time, no domain. */
        assert_int_equal(agent_parse_user_list(
                "{\"return\":[{\"user\":\"alice\",\"login-time\":1700000000.25},{\"user\":\"bob\",\"login-time\":1700000100}]}",
                &users, &n, &error), 0);
        assert_int_equal(n, 2);
        assert_string_equal(users[0].user, "alice");
        assert_string_equal(users[0].domain, "");
        assert_true(users[0].login_usec == 1700000000250000ULL);
        assert_string_equal(users[1].user, "bob");
        assert_true(users[1].login_usec == 1700000100000000ULL);
        agent_users_free(users, n);

        /* Windows qemu-ga: the domain, a LogonTime of 0 (negative seconds), no login time at all. */
        assert_int_equal(agent_parse_user_list(
                "{\"return\":[{\"user\":\"alice\",\"domain\":\"CORP\",\"login-time\":-11644473600.0},"
                "{\"user\":\"b\\u00f6b\",\"domain\":\"\"}]}", &users, &n, &error), 0);
        assert_int_equal(n, 2);
        assert_string_equal(users[0].domain, "CORP");
        assert_true(users[0].login_usec == 0);
        assert_string_equal(users[1].user, "b\xc3\xb6" "b");     /* valid UTF-8 stays as it is */
        assert_true(users[1].login_usec == 0);
        agent_users_free(users, n);

        /* Nobody. */
        assert_int_equal(agent_parse_user_list("{\"return\":[]}", &users, &n, &error), 0);
        assert_int_equal(n, 0);
        agent_users_free(users, n);

        /* A lying agent: controls escaped; absurd login times clamped. */
        assert_int_equal(agent_parse_user_list(
                "{\"return\":[{\"user\":\"evil\\u001b]0;x\\u0007\",\"domain\":\"\\u009b2J\",\"login-time\":1e300}]}",
                &users, &n, &error), 0);
        assert_int_equal(n, 1);
        assert_null(strchr(users[0].user, '\x1b'));
        assert_true(text_is_valid_utf8(users[0].user) && text_is_valid_utf8(users[0].domain));
        assert_non_null(strstr(users[0].domain, "\\x"));
        assert_true(users[0].login_usec > 0 && users[0].login_usec % 1000000 == 0);
        agent_users_free(users, n);

        /* Wrong shapes fail as a whole. */
        users = NULL;
        assert_int_equal(agent_parse_user_list("{\"return\":[{\"user\":5}]}", &users, &n, &error), -EBADMSG);
        assert_null(users);
        assert_int_equal(agent_parse_user_list("{\"return\":[{\"user\":\"\"}]}", &users, &n, &error), -EBADMSG);
        assert_int_equal(agent_parse_user_list("{\"return\":[{\"user\":\"a\",\"domain\":7}]}", &users, &n, &error),
                         -EBADMSG);
        assert_int_equal(agent_parse_user_list("{\"return\":[{\"user\":\"a\",\"login-time\":\"now\"}]}", &users, &n,
                                               &error), -EBADMSG);
        assert_int_equal(agent_parse_user_list("{\"return\":[{\"user\":\"a\\u0000b\"}]}", &users, &n, &error), -EBADMSG);
        assert_int_equal(agent_parse_user_list("{\"return\":[\"alice\"]}", &users, &n, &error), -EBADMSG);
        assert_int_equal(agent_parse_user_list("{\"return\":{}}", &users, &n, &error), -EBADMSG);
        free(error);
}

static void test_user_list_oversized(void **state) {
        size_t count = AGENT_USERS_MAX + 1, n = 0;
        char *reply = malloc(count * 16 + 32), *p = reply, *error = NULL;
        AgentUser *users = NULL;

        assert_non_null(reply);
        p += sprintf(p, "{\"return\":[");
        for (size_t i = 0; i < count; i++)
                p += sprintf(p, "%s{\"user\":\"u\"}", i ? "," : "");
        sprintf(p, "]}");
        assert_int_equal(agent_parse_user_list(reply, &users, &n, &error), -E2BIG);
        assert_null(users);
        free(reply);
        free(error);
}

static void test_domain_xml(void **state) {
        static const char connected[] =
                "<domain type='kvm' id='1'><name>g1</name><devices>"
                "<channel type='unix'><source mode='bind' path='/run/x.sock'/>"
                "<target type='virtio' name='org.qemu.guest_agent.0' state='connected'/>"
                "<alias name='channel0'/></channel></devices></domain>";
        static const char disconnected[] =
                "<domain type='kvm' id='1'><name>g1</name><devices>"
                "<channel type='unix'><target type='virtio' name='org.qemu.guest_agent.0' state='disconnected'/>"
                "</channel><channel type='spicevmc'><target type='virtio' name='com.redhat.spice.0' state='connected'/>"
                "</channel></devices></domain>";
        /* A domain's author may put any XML into <metadata>, which libvirt formats before <devices>. */
        static const char forged[] =
                "<domain type='kvm'><name>g1</name><metadata><x:a xmlns:x='urn:x'>"
                "<target type='virtio' name='org.qemu.guest_agent.0' state='connected'/></x:a></metadata>"
                "<devices><channel type='unix'><target type='virtio' name='org.qemu.guest_agent.0'/></channel>"
                "</devices></domain>";

        assert_true(domain_xml_agent_connected(connected));
        assert_false(domain_xml_agent_connected(disconnected));
        assert_false(domain_xml_agent_connected(forged));
        /* No channel (the test driver), an inactive domain's XML (no state), no XML. */
        assert_false(domain_xml_agent_connected("<domain type='test'><name>t</name><devices></devices></domain>"));
        assert_false(domain_xml_agent_connected(
                "<domain><devices><channel type='unix'><target type='virtio' name='org.qemu.guest_agent.0'/>"
                "</channel><serial><target state='connected'/></serial></devices></domain>"));
        assert_false(domain_xml_agent_connected(NULL));
}

int main(void) {
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(test_os_name),
                cmocka_unit_test(test_user_list),
                cmocka_unit_test(test_user_list_oversized),
                cmocka_unit_test(test_domain_xml),
        };
        return cmocka_run_group_tests(tests, NULL, NULL);
}
