/* Intrusive doubly linked lists (after systemd's list.h, with a tail pointer so appending is O(1)):
 * an item carries LIST_FIELDS(Type, name) for each list it can be in, a list is a
 * field of type LIST_HEAD(Type). An item that is in no list has both its pointers NULL. */
#pragma once

#include <stddef.h>

#define LIST_FIELDS(type, name) type *name##_prev, *name##_next

#define LIST_HEAD(type) struct { type *first, *last; }

#define LIST_IS_EMPTY(head) (!(head).first)

#define LIST_INSERT_AFTER(name, head, after, item)                                      \
        do {                                                                            \
                typeof(item) _item = (item), _after = (after);                          \
                _item->name##_prev = _after;                                            \
                _item->name##_next = _after ? _after->name##_next : (head).first;       \
                if (_item->name##_next)                                                 \
                        _item->name##_next->name##_prev = _item;                        \
                else                                                                    \
                        (head).last = _item;                                            \
                if (_after)                                                             \
                        _after->name##_next = _item;                                    \
                else                                                                    \
                        (head).first = _item;                                           \
        } while (0)

#define LIST_APPEND(name, head, item) LIST_INSERT_AFTER(name, head, (head).last, item)

#define LIST_PREPEND(name, head, item) LIST_INSERT_AFTER(name, head, (typeof(item)) NULL, item)

#define LIST_REMOVE(name, head, item)                                                   \
        do {                                                                            \
                typeof(item) _item = (item);                                            \
                if (_item->name##_prev)                                                 \
                        _item->name##_prev->name##_next = _item->name##_next;           \
                else                                                                    \
                        (head).first = _item->name##_next;                              \
                if (_item->name##_next)                                                 \
                        _item->name##_next->name##_prev = _item->name##_prev;           \
                else                                                                    \
                        (head).last = _item->name##_prev;                               \
                _item->name##_prev = _item->name##_next = NULL;                         \
        } while (0)

/* i may not be removed while it is the cursor; see LIST_FOREACH_SAFE. */
#define LIST_FOREACH(name, i, head) for (typeof((head).first) i = (head).first; i; i = i->name##_next)

/* i may be removed (and freed) in the body. */
#define LIST_FOREACH_SAFE(name, i, head)                                                \
        for (typeof((head).first) i = (head).first, _next_##i = i ? i->name##_next : NULL; i; \
             i = _next_##i, _next_##i = i ? i->name##_next : NULL)
