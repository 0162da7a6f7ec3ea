/* Operations (service/operation.c): the first call parked on an empty slot makes the operation, the
 * others join it; finishing answers each parked call once, in order, and empties the slot, even when
 * an answer parks a call on a new operation in the same slot; a detached operation (its domain gone)
 * still answers its calls and leaves the slot alone; the answers name the VM from the operation's own
 * copy. The messages are built on a bus over one end of a socketpair that nobody serves: nothing is
 * sent. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>
#include <string.h>
#include <sys/socket.h>

#include "operation.h"

typedef struct Answers {
        sd_bus_message *seen[8];
        uid_t uids[8];
        size_t n;
        Operation **repark_slot;        /* when set, the first answer parks a call here again */
        sd_bus_message *repark_call;
} Answers;

static const BusRequestKind kind = { .event = AUDIT_LOGOFF_REQUEST, .refusal = "cannot test" };

static int park(Operation **slot, sd_bus_message *call, uid_t uid, Operation **ret) {
        return operation_park(slot, &(BusRequest) { .kind = &kind, .call = call, .creds = { .uid = uid },
                                                     .vm_name = "vm", .vm_uuid = "uuid" }, ret);
}

static void record(const BusRequest *req, void *userdata) {
        Answers *a = userdata;

        assert_true(a->n < 8);
        assert_ptr_equal(req->kind, &kind);
        a->seen[a->n] = req->call;
        a->uids[a->n] = req->creds.uid;
        a->n++;
        if (a->repark_slot && a->n == 1) {
                Operation *o;
                assert_int_equal(park(a->repark_slot, a->repark_call, 7, &o), 1);
                a->repark_slot = NULL;
        }
}

static sd_bus_message *new_call(sd_bus *bus) {
        sd_bus_message *m = NULL;

        assert_int_equal(sd_bus_message_new_method_call(bus, &m, "org.vpc", "/org/vpc/GuestOS/vm",
                                                        "org.vpc.GuestOS", "Logoff"), 0);
        return m;
}

static sd_bus *new_bus(void) {
        sd_bus *bus = NULL;
        int fds[2];

        /* The peer end stays open (and unread) for the test's life: the bus only writes its greeting. */
        assert_int_equal(socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, fds), 0);
        assert_int_equal(sd_bus_new(&bus), 0);
        assert_int_equal(sd_bus_set_fd(bus, fds[0], fds[0]), 0);
        assert_int_equal(sd_bus_set_anonymous(bus, 1), 0);
        assert_true(sd_bus_start(bus) >= 0);
        return bus;
}

static void test_park_join_finish(void **state) {
        sd_bus *bus = new_bus();
        sd_bus_message *c[3] = { new_call(bus), new_call(bus), new_call(bus) };
        Operation *slot = NULL, *o = NULL, *joined = NULL;
        Answers a = {};

        assert_int_equal(park(&slot, c[0], 1, &o), 1);
        assert_ptr_equal(slot, o);
        assert_int_equal(park(&slot, c[1], 2, &joined), 0);
        assert_ptr_equal(joined, o);
        assert_int_equal(park(&slot, c[2], 3, NULL), 0);

        operation_finish(o, record, &a);
        assert_null(slot);
        assert_int_equal(a.n, 3);
        for (size_t i = 0; i < 3; i++) {
                assert_ptr_equal(a.seen[i], c[i]);
                assert_int_equal(a.uids[i], i + 1);
                sd_bus_message_unref(c[i]);
        }
        sd_bus_close_unref(bus);
}

static void test_answer_parks_again(void **state) {
        sd_bus *bus = new_bus();
        sd_bus_message *first = new_call(bus), *again = new_call(bus);
        Operation *slot = NULL, *o = NULL;
        Answers a = { .repark_slot = &slot, .repark_call = again };
        Answers b = {};

        assert_int_equal(park(&slot, first, 1, &o), 1);
        operation_finish(o, record, &a);
        /* The new operation made from inside the answer keeps the slot. */
        assert_non_null(slot);
        assert_ptr_not_equal(slot, o);
        operation_finish(slot, record, &b);
        assert_null(slot);
        assert_int_equal(b.n, 1);
        assert_ptr_equal(b.seen[0], again);
        assert_int_equal(b.uids[0], 7);
        sd_bus_message_unref(first);
        sd_bus_message_unref(again);
        sd_bus_close_unref(bus);
}

static void test_detached(void **state) {
        sd_bus *bus = new_bus();
        sd_bus_message *c = new_call(bus);
        Operation *slot = NULL, *o = NULL, *other = NULL;
        Answers a = {};

        assert_int_equal(park(&slot, c, 1, &o), 1);
        operation_detach(o);
        assert_null(slot);
        /* The slot may be used again at once; the detached operation must not clear it later. */
        assert_int_equal(park(&slot, c, 2, &other), 1);
        operation_finish(o, record, &a);
        assert_ptr_equal(slot, other);
        assert_int_equal(a.n, 1);
        assert_int_equal(a.uids[0], 1);
        operation_finish(other, record, &a);
        assert_null(slot);
        assert_int_equal(a.n, 2);
        sd_bus_message_unref(c);
        sd_bus_close_unref(bus);
}

static void check_names(const BusRequest *req, void *userdata) {
        assert_string_equal(req->vm_name, "web 01");
        assert_string_equal(req->vm_uuid, "0c7b2a36-1ab4-4bd4-9ad6-2f2f7dd8a5a1");
        (*(size_t *) userdata)++;
}

/* The domain may be gone when its calls are answered: the answer still names its VM. */
static void test_names_outlive_domain(void **state) {
        sd_bus *bus = new_bus();
        sd_bus_message *c = new_call(bus);
        char name[] = "web 01", uuid[] = "0c7b2a36-1ab4-4bd4-9ad6-2f2f7dd8a5a1";
        Operation *slot = NULL, *o = NULL;
        size_t answered = 0;

        assert_int_equal(operation_park(&slot, &(BusRequest) { .kind = &kind, .call = c, .vm_name = name,
                                                               .vm_uuid = uuid }, &o), 1);
        memset(name, 'x', sizeof(name) - 1);
        memset(uuid, 'x', sizeof(uuid) - 1);
        operation_finish(o, check_names, &answered);
        assert_int_equal(answered, 1);
        sd_bus_message_unref(c);
        sd_bus_close_unref(bus);
}

int main(void) {
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(test_park_join_finish),
                cmocka_unit_test(test_answer_parks_again),
                cmocka_unit_test(test_detached),
                cmocka_unit_test(test_names_outlive_domain),
        };
        return cmocka_run_group_tests(tests, NULL, NULL);
}
