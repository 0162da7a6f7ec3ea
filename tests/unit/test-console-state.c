/* Counting console clients from graphics events (service/console-state.c): a connection counts once
 * it passed INITIALIZE; its DISCONNECT uncounts it; a bare connection (no INITIALIZE) never counts,
 * and its DISCONNECT does not uncount a counted connection of the same address (UNIX sockets all
 * share one); SPICE's four channels count as four connections; a DISCONNECT of a connection made
 * before we listened changes nothing and the count never goes below 0; the table is bounded. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>
#include <stdio.h>

#include "console-state.h"

#define UNIX "unix"

static void test_handshake_counts(void **state) {
        ConsoleState s = {};

        assert_false(console_state_apply(&s, CONSOLE_PHASE_CONNECT, UNIX));
        assert_int_equal(s.n_clients, 0);
        assert_true(console_state_apply(&s, CONSOLE_PHASE_INITIALIZE, UNIX));
        assert_int_equal(s.n_clients, 1);
        assert_true(console_state_apply(&s, CONSOLE_PHASE_DISCONNECT, UNIX));
        assert_int_equal(s.n_clients, 0);
        assert_int_equal(s.n_connections, 0);
        console_state_clear(&s);
}

static void test_bare_connection_never_counts(void **state) {
        ConsoleState s = {};

        assert_false(console_state_apply(&s, CONSOLE_PHASE_CONNECT, UNIX));
        assert_false(console_state_apply(&s, CONSOLE_PHASE_DISCONNECT, UNIX));
        assert_int_equal(s.n_clients, 0);
        assert_int_equal(s.n_connections, 0);
        console_state_clear(&s);
}

static void test_probe_beside_a_client(void **state) {
        ConsoleState s = {};

        /* A viewer, then a probe on the same socket that leaves first. */
        console_state_apply(&s, CONSOLE_PHASE_CONNECT, UNIX);
        console_state_apply(&s, CONSOLE_PHASE_INITIALIZE, UNIX);
        console_state_apply(&s, CONSOLE_PHASE_CONNECT, UNIX);
        assert_false(console_state_apply(&s, CONSOLE_PHASE_DISCONNECT, UNIX));
        assert_int_equal(s.n_clients, 1);
        /* Then the viewer leaves. */
        assert_true(console_state_apply(&s, CONSOLE_PHASE_DISCONNECT, UNIX));
        assert_int_equal(s.n_clients, 0);

        /* The other order: the viewer leaves first. Its DISCONNECT is taken for the probe's (the
         * count stays up, no Logoff while a counted client might remain), the probe's ends it. */
        console_state_apply(&s, CONSOLE_PHASE_CONNECT, UNIX);
        console_state_apply(&s, CONSOLE_PHASE_INITIALIZE, UNIX);
        console_state_apply(&s, CONSOLE_PHASE_CONNECT, UNIX);
        assert_false(console_state_apply(&s, CONSOLE_PHASE_DISCONNECT, UNIX));
        assert_int_equal(s.n_clients, 1);
        assert_true(console_state_apply(&s, CONSOLE_PHASE_DISCONNECT, UNIX));
        assert_int_equal(s.n_clients, 0);
        console_state_clear(&s);
}

static void test_addresses_tell_apart(void **state) {
        ConsoleState s = {};

        console_state_apply(&s, CONSOLE_PHASE_CONNECT, "192.0.2.1:40000");
        console_state_apply(&s, CONSOLE_PHASE_INITIALIZE, "192.0.2.1:40000");
        console_state_apply(&s, CONSOLE_PHASE_CONNECT, "192.0.2.2:40001");
        /* The counted one leaves while the probe stays: exactly known. */
        assert_true(console_state_apply(&s, CONSOLE_PHASE_DISCONNECT, "192.0.2.1:40000"));
        assert_int_equal(s.n_clients, 0);
        assert_false(console_state_apply(&s, CONSOLE_PHASE_DISCONNECT, "192.0.2.2:40001"));
        assert_int_equal(s.n_connections, 0);
        console_state_clear(&s);
}

static void test_spice_channels(void **state) {
        const char *channels[] = { "[2001:db8::1]:5001", "[2001:db8::1]:5002", "[2001:db8::1]:5003",
                                   "[2001:db8::1]:5004" };
        const size_t order[] = { 2, 0, 3, 1 };
        ConsoleState s = {};

        for (size_t i = 0; i < 4; i++) {
                console_state_apply(&s, CONSOLE_PHASE_CONNECT, channels[i]);
                console_state_apply(&s, CONSOLE_PHASE_INITIALIZE, channels[i]);
        }
        assert_int_equal(s.n_clients, 4);
        /* Disconnects in any order; only the last one brings the count to 0. */
        for (size_t i = 0; i < 4; i++) {
                assert_true(console_state_apply(&s, CONSOLE_PHASE_DISCONNECT, channels[order[i]]));
                assert_int_equal(s.n_clients, 3 - i);
        }
        console_state_clear(&s);
}

static void test_before_we_listened(void **state) {
        ConsoleState s = {};

        /* A DISCONNECT of a connection we never saw: nothing, never below 0. */
        assert_false(console_state_apply(&s, CONSOLE_PHASE_DISCONNECT, UNIX));
        assert_int_equal(s.n_clients, 0);
        /* An INITIALIZE without its CONNECT still counts, and its DISCONNECT uncounts it. */
        assert_true(console_state_apply(&s, CONSOLE_PHASE_INITIALIZE, "198.51.100.7:1234"));
        assert_int_equal(s.n_clients, 1);
        assert_false(console_state_apply(&s, CONSOLE_PHASE_DISCONNECT, "198.51.100.8:1234"));
        assert_true(console_state_apply(&s, CONSOLE_PHASE_DISCONNECT, "198.51.100.7:1234"));
        assert_false(console_state_apply(&s, CONSOLE_PHASE_DISCONNECT, "198.51.100.7:1234"));
        assert_int_equal(s.n_clients, 0);
        console_state_clear(&s);
}

static void test_reset_and_bound(void **state) {
        ConsoleState s = {};
        char address[32];

        for (unsigned i = 0; i < CONSOLE_CONNECTIONS_MAX + 10; i++) {
                snprintf(address, sizeof(address), "192.0.2.1:%u", 1000 + i);
                console_state_apply(&s, CONSOLE_PHASE_CONNECT, address);
                console_state_apply(&s, CONSOLE_PHASE_INITIALIZE, address);
        }
        assert_int_equal(s.n_connections, CONSOLE_CONNECTIONS_MAX);
        assert_int_equal(s.n_clients, CONSOLE_CONNECTIONS_MAX);
        assert_true(console_state_reset(&s));
        assert_int_equal(s.n_clients, 0);
        assert_false(console_state_reset(&s));
        /* After a reset (VM stopped, libvirt reconnected) an old DISCONNECT changes nothing. */
        assert_false(console_state_apply(&s, CONSOLE_PHASE_DISCONNECT, "192.0.2.1:1000"));
        console_state_clear(&s);
        assert_null(s.connections);
}

/* The debounce comes first: the delay counts once the last client stayed away past it. */
static void test_deadline(void **state) {
        ConsoleState s = { .left_usec = 1000 };

        assert_int_equal(console_state_deadline(&s, 30), 1000 + CONSOLE_RECONNECT_DEBOUNCE_USEC);
        assert_int_equal(console_state_deadline(&s, 0), 1000 + CONSOLE_RECONNECT_DEBOUNCE_USEC);
        s.debounced = true;
        assert_int_equal(console_state_deadline(&s, 0), 1000 + CONSOLE_RECONNECT_DEBOUNCE_USEC);
        assert_int_equal(console_state_deadline(&s, 30), 1000 + CONSOLE_RECONNECT_DEBOUNCE_USEC + 30000000ULL);
        assert_int_equal(console_state_deadline(&s, 86400), 1000 + CONSOLE_RECONNECT_DEBOUNCE_USEC + 86400000000ULL);
        assert_int_equal(CONSOLE_RECONNECT_DEBOUNCE_USEC, 2000000);
}

int main(void) {
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(test_handshake_counts),
                cmocka_unit_test(test_deadline),
                cmocka_unit_test(test_bare_connection_never_counts),
                cmocka_unit_test(test_probe_beside_a_client),
                cmocka_unit_test(test_addresses_tell_apart),
                cmocka_unit_test(test_spice_channels),
                cmocka_unit_test(test_before_we_listened),
                cmocka_unit_test(test_reset_and_bound),
        };
        return cmocka_run_group_tests(tests, NULL, NULL);
}
