/* The list helper (service/list.h): append, prepend and insert keep both directions and the tail in
 * step; removal of the first, a middle and the last item relinks its neighbours and clears the
 * item; an item can be in two lists at once; LIST_FOREACH_SAFE survives freeing the cursor. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>
#include <stdlib.h>

#include "list.h"

typedef struct Item Item;
struct Item {
        int value;
        LIST_FIELDS(Item, queue);
        LIST_FIELDS(Item, other);
};

typedef LIST_HEAD(Item) Queue;

/* Both directions read the same order as expect. */
static void assert_order(Queue *q, const int *expect, size_t n) {
        size_t i = 0;

        LIST_FOREACH(queue, it, *q) {
                assert_true(i < n);
                assert_int_equal(it->value, expect[i]);
                if (i == 0)
                        assert_null(it->queue_prev);
                i++;
        }
        assert_int_equal(i, n);
        for (Item *it = q->last; it; it = it->queue_prev) {
                assert_true(i > 0);
                assert_int_equal(it->value, expect[--i]);
        }
        assert_int_equal(i, 0);
        assert_true(n == 0 ? !q->first && !q->last : q->first->value == expect[0] && q->last->value == expect[n - 1]);
}

static void test_insert_remove(void **state) {
        Item a = { .value = 1 }, b = { .value = 2 }, c = { .value = 3 }, d = { .value = 4 };
        Queue head = {};
        Queue *q = &head;

        assert_true(LIST_IS_EMPTY(head));
        LIST_APPEND(queue, head, &b);
        LIST_PREPEND(queue, head, &a);
        LIST_APPEND(queue, head, &d);
        LIST_INSERT_AFTER(queue, head, &b, &c);
        assert_order(q, (int[]) { 1, 2, 3, 4 }, 4);

        LIST_REMOVE(queue, head, &c);   /* a middle one */
        assert_null(c.queue_prev);
        assert_null(c.queue_next);
        assert_order(q, (int[]) { 1, 2, 4 }, 3);
        LIST_REMOVE(queue, head, &a);   /* the first */
        assert_order(q, (int[]) { 2, 4 }, 2);
        LIST_REMOVE(queue, head, &d);   /* the last */
        assert_order(q, (int[]) { 2 }, 1);
        LIST_REMOVE(queue, head, &b);
        assert_order(q, NULL, 0);
        assert_true(LIST_IS_EMPTY(head));
}

static void test_two_lists(void **state) {
        Item a = { .value = 1 }, b = { .value = 2 };
        Queue q = {};
        Queue o = {};

        LIST_APPEND(queue, q, &a);
        LIST_APPEND(queue, q, &b);
        LIST_APPEND(other, o, &b);
        LIST_APPEND(other, o, &a);
        LIST_REMOVE(queue, q, &a);
        assert_order(&q, (int[]) { 2 }, 1);
        assert_ptr_equal(o.first, &b);
        assert_ptr_equal(o.last, &a);
        assert_ptr_equal(b.other_next, &a);
}

static void test_foreach_safe_frees(void **state) {
        Queue q = {};
        int n = 0;

        for (int i = 0; i < 5; i++) {
                Item *it = calloc(1, sizeof(*it));

                assert_non_null(it);
                it->value = i;
                LIST_APPEND(queue, q, it);
        }
        LIST_FOREACH_SAFE(queue, it, q) {
                assert_int_equal(it->value, n++);
                LIST_REMOVE(queue, q, it);
                free(it);
        }
        assert_int_equal(n, 5);
        assert_true(LIST_IS_EMPTY(q));
}

int main(void) {
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(test_insert_remove),
                cmocka_unit_test(test_two_lists),
                cmocka_unit_test(test_foreach_safe_frees),
        };
        return cmocka_run_group_tests(tests, NULL, NULL);
}
