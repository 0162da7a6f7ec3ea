/* Object paths of domains: any libvirt name round-trips through sd_bus_path_encode/decode, the
 * registry finds a domain by name, UUID and path, and state names follow docs/dbus-api.md. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>
#include <errno.h>
#include <systemd/sd-bus.h>

#include "domain.h"

static const char *const awkward[] = {
        "web server 01", "db.prod-2", "ünïcode-vm", "_", "__", "a_b", "-", "1starts-with-digit",
        "tab\there", "quote'\"", "slash/name", "percent%20", "UPPER.lower", "日本語", "..", "x",
};

static void test_path_round_trip(void **state) {
        for (size_t i = 0; i < sizeof(awkward) / sizeof(awkward[0]); i++) {
                _cleanup_free_ char *path = NULL, *back = NULL;

                assert_int_equal(guestos_path_from_name(awkward[i], &path), 0);
                assert_true(sd_bus_object_path_is_valid(path));
                assert_true(strncmp(path, "/org/vpc/GuestOS/", 17) == 0);
                /* One path element per domain, whatever the name holds. */
                assert_null(strchr(path + 17, '/'));
                assert_int_equal(guestos_path_to_name(path, &back), 0);
                assert_string_equal(back, awkward[i]);
        }
}

static void test_path_examples(void **state) {
        _cleanup_free_ char *a = NULL, *b = NULL;

        assert_int_equal(guestos_path_from_name("web server 01", &a), 0);
        assert_string_equal(a, "/org/vpc/GuestOS/web_20server_2001");
        assert_int_equal(guestos_path_from_name("db.prod-2", &b), 0);
        assert_string_equal(b, "/org/vpc/GuestOS/db_2eprod_2d2");
}

static void test_path_rejects(void **state) {
        _cleanup_free_ char *name = NULL, *path = NULL;

        assert_true(guestos_path_from_name("", &path) < 0);
        assert_true(guestos_path_to_name("/org/vpc/Task/1", &name) < 0);
        assert_true(guestos_path_to_name("/org/vpc/GuestOS", &name) < 0);
        assert_true(guestos_path_to_name("/org/vpc/GuestOS/a/b", &name) < 0);
        /* Escapes the encoder never writes would be aliases of a real domain's path (fuzz/). */
        assert_true(guestos_path_to_name("/org/vpc/GuestOS/9od2", &name) < 0);     /* is _39od2 */
        assert_true(guestos_path_to_name("/org/vpc/GuestOS/_61", &name) < 0);      /* is a */
        assert_true(guestos_path_to_name("/org/vpc/GuestOS/web_00x", &name) < 0);  /* "web" cut short */
        assert_true(guestos_path_to_name("/org/vpc/GuestOS/_39od2", &name) == 0);
        assert_string_equal(name, "9od2");
}

static void test_state_names(void **state) {
        assert_string_equal(domain_state_to_string(DOMAIN_STATE_RUNNING), "running");
        assert_string_equal(domain_state_to_string(DOMAIN_STATE_PAUSED), "paused");
        assert_string_equal(domain_state_to_string(DOMAIN_STATE_SHUTOFF), "shutoff");
        assert_string_equal(domain_state_to_string(DOMAIN_STATE_CRASHED), "crashed");
        assert_string_equal(domain_state_to_string(DOMAIN_STATE_PMSUSPENDED), "pmsuspended");
        assert_string_equal(domain_state_to_string(DOMAIN_STATE_BLOCKED), "blocked");
        assert_string_equal(domain_state_to_string(DOMAIN_STATE_SHUTDOWN), "shutdown");
        assert_string_equal(domain_state_to_string(DOMAIN_STATE_NOSTATE), "nostate");
        assert_string_equal(domain_state_to_string(42), "nostate");
        assert_string_equal(domain_state_to_string(-1), "nostate");
}

static void test_registry(void **state) {
        DomainRegistry reg = {};
        Domain *a, *b, *dup;
        _cleanup_free_ Domain **all = NULL;
        size_t n;

        assert_int_equal(domain_new("web server 01", "11111111-1111-1111-1111-111111111111", DOMAIN_STATE_RUNNING, &a), 0);
        assert_int_equal(domain_new("ünïcode-vm", "22222222-2222-2222-2222-222222222222", DOMAIN_STATE_SHUTOFF, &b), 0);
        assert_int_equal(domain_registry_add(&reg, a), 0);
        assert_int_equal(domain_registry_add(&reg, b), 0);
        assert_int_equal(reg.n_domains, 2);

        /* Same name or same UUID again is refused. */
        assert_int_equal(domain_new("web server 01", "33333333-3333-3333-3333-333333333333", 0, &dup), 0);
        assert_int_equal(domain_registry_add(&reg, dup), -EEXIST);
        domain_free(dup);
        assert_int_equal(domain_new("other", "22222222-2222-2222-2222-222222222222", 0, &dup), 0);
        assert_int_equal(domain_registry_add(&reg, dup), -EEXIST);
        domain_free(dup);

        assert_ptr_equal(domain_registry_find_by_name(&reg, "ünïcode-vm"), b);
        assert_ptr_equal(domain_registry_find_by_uuid(&reg, "11111111-1111-1111-1111-111111111111"), a);
        assert_ptr_equal(domain_registry_find_by_path(&reg, a->path), a);
        assert_null(domain_registry_find_by_name(&reg, "nope"));
        assert_null(domain_registry_find_by_uuid(&reg, "not-a-uuid-and-far-too-long-to-be-one-at-all"));
        assert_null(domain_registry_find_by_path(&reg, "/org/vpc/GuestOS/nope"));

        assert_int_equal(domain_registry_snapshot(&reg, &all, &n), 0);
        assert_int_equal(n, 2);
        assert_string_equal(all[0]->name, "web server 01");   /* name order */

        domain_registry_remove(&reg, a);
        domain_free(a);
        assert_int_equal(reg.n_domains, 1);
        assert_null(domain_registry_find_by_name(&reg, "web server 01"));
        domain_registry_clear(&reg);
        assert_int_equal(reg.n_domains, 0);
}

int main(void) {
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(test_path_round_trip),
                cmocka_unit_test(test_path_examples),
                cmocka_unit_test(test_path_rejects),
                cmocka_unit_test(test_state_names),
                cmocka_unit_test(test_registry),
        };
        return cmocka_run_group_tests(tests, NULL, NULL);
}
