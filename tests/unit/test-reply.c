/* Every call is answered (service/errors.c): over a real sd-bus connection (a socketpair, one end the
 * service, the other a client), a reply that cannot be built (a string that is not UTF-8) still
 * reaches the client, as a plain org.vpc.Error.Exception; an error whose text quotes bytes that are
 * not UTF-8 or control characters arrives with them escaped and bounded; a good reply is untouched. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>
#include <errno.h>
#include <sys/socket.h>
#include <systemd/sd-bus.h>
#include <systemd/sd-id128.h>

#include "bus-pair.h"
#include "errors.h"
#include "text.h"

/* The client calls; the service receives the call (returned by sd_bus_process(), no vtable). */
static sd_bus_message *receive_call(Pair *p, sd_bus_slot **slot, sd_bus_message_handler_t on_reply, void *userdata) {
        _cleanup_(sd_bus_message_unrefp) sd_bus_message *call = NULL;
        sd_bus_message *got = NULL;

        assert_int_equal(sd_bus_message_new_method_call(p->client, &call, NULL, "/org/vpc", "org.vpc.Test", "Call"), 0);
        assert_int_equal(sd_bus_call_async(p->client, slot, call, on_reply, userdata, 5 * 1000 * 1000), 1);
        for (int i = 0; i < 200 && !got; i++) {
                (void) sd_bus_process(p->client, NULL);
                if (sd_bus_process(p->service, &got) < 0)
                        break;
                if (got && !sd_bus_message_is_method_call(got, "org.vpc.Test", "Call"))
                        got = sd_bus_message_unref(got);
                if (!got)
                        (void) sd_bus_wait(p->service, 10 * 1000);
        }
        assert_non_null(got);
        return got;
}

typedef struct Answer {
        bool done;
        char *error_name;
        char *error_message;
        char *value;
} Answer;

static int on_reply(sd_bus_message *m, void *userdata, sd_bus_error *ret_error) {
        Answer *a = userdata;
        const sd_bus_error *e = sd_bus_message_get_error(m);
        const char *s = NULL;

        a->done = true;
        if (e) {
                a->error_name = strdup(e->name);
                a->error_message = strdup(e->message ?: "");
        } else if (sd_bus_message_read(m, "s", &s) > 0)
                a->value = strdup(s);
        return 0;
}

static void wait_answer(Pair *p, Answer *a) {
        for (int i = 0; i < 200 && !a->done; i++) {
                pair_pump(p);
                if (!a->done)
                        (void) sd_bus_wait(p->client, 10 * 1000);
        }
        assert_true(a->done);
}

static void answer_free(Answer *a) {
        free(a->error_name);
        free(a->error_message);
        free(a->value);
}

static void test_unbuildable_reply_becomes_exception(void **state) {
        Pair *p = *state;
        _cleanup_(sd_bus_slot_unrefp) sd_bus_slot *slot = NULL;
        Answer a = {};
        sd_bus_message *call = receive_call(p, &slot, on_reply, &a);

        /* sd-bus refuses to put "\xff" in a message: without the fallback the caller waits forever. */
        assert_int_equal(vpc_reply_return(call, "s", "bad \xff reply"), 0);       /* answered */
        wait_answer(p, &a);
        assert_string_equal(a.error_name, "org.vpc.Error.Exception");
        assert_true(strncmp(a.error_message, "0x80020009: ", 12) == 0);
        sd_bus_message_unref(call);
        answer_free(&a);
}

static void test_error_quoting_bytes_is_escaped(void **state) {
        Pair *p = *state;
        _cleanup_(sd_bus_slot_unrefp) sd_bus_slot *slot = NULL;
        Answer a = {};
        sd_bus_message *call = receive_call(p, &slot, on_reply, &a);

        assert_true(vpc_error_reply(call, VPC_ERROR_VM_UNKNOWN, "no domain '%s'", "\xff\xfe\x1b[31m") >= 0);
        wait_answer(p, &a);
        assert_string_equal(a.error_name, "org.vpc.Error.VmUnknown");
        assert_string_equal(a.error_message, "0xA0040207: no domain '\\xff\\xfe\\x1b[31m'");
        sd_bus_message_unref(call);
        answer_free(&a);
}

static void test_error_is_bounded(void **state) {
        Pair *p = *state;
        _cleanup_(sd_bus_slot_unrefp) sd_bus_slot *slot = NULL;
        _cleanup_free_ char *big = malloc(100000);
        Answer a = {};
        sd_bus_message *call = receive_call(p, &slot, on_reply, &a);

        memset(big, 0xff, 99999);
        big[99999] = 0;
        assert_true(vpc_error_reply(call, VPC_ERROR_EXCEPTION, "guest said %s", big) >= 0);
        wait_answer(p, &a);
        assert_string_equal(a.error_name, "org.vpc.Error.Exception");
        assert_true(strlen(a.error_message) <= TEXT_MESSAGE_MAX);
        assert_true(strncmp(a.error_message, "0x80020009: guest said \\xff", 27) == 0);
        sd_bus_message_unref(call);
        answer_free(&a);
}

static void test_good_reply_untouched(void **state) {
        Pair *p = *state;
        _cleanup_(sd_bus_slot_unrefp) sd_bus_slot *slot = NULL;
        Answer a = {};
        sd_bus_message *call = receive_call(p, &slot, on_reply, &a);

        assert_true(vpc_reply_return(call, "s", "ünïcode-vm") >= 0);
        wait_answer(p, &a);
        assert_null(a.error_name);
        assert_string_equal(a.value, "ünïcode-vm");
        sd_bus_message_unref(call);
        answer_free(&a);
}

int main(void) {
        const struct CMUnitTest tests[] = {
                cmocka_unit_test_setup_teardown(test_unbuildable_reply_becomes_exception, pair_setup, pair_teardown),
                cmocka_unit_test_setup_teardown(test_error_quoting_bytes_is_escaped, pair_setup, pair_teardown),
                cmocka_unit_test_setup_teardown(test_error_is_bounded, pair_setup, pair_teardown),
                cmocka_unit_test_setup_teardown(test_good_reply_untouched, pair_setup, pair_teardown),
        };

        return cmocka_run_group_tests(tests, NULL, NULL);
}
