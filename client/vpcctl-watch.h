/* Following tasks to their end: one item per VM (or task), their progress drawn as bars on a
 * terminal or as plain lines otherwise, JSON at the end, and the worst outcome as exit status. */
#pragma once

#include "vpcctl.h"

typedef struct Item {
        char *label;            /* the VM, as the user named it or as the service calls it */
        char *guest;            /* its GuestOS path, once known */
        TaskRecord task;        /* task.path is set once a task exists */
        char *error_name;       /* a call that failed before any task existed, or a lost task */
        char *error_message;
        bool already_complete;  /* cancel: the task had ended before Cancel() */
        bool announced;
        bool reported;
        uint32_t shown_percent;
        uint64_t lost_usec;     /* CLOCK_MONOTONIC: org.vpc left the bus while the task ran, or 0 */
} Item;

typedef struct Watch {
        Item *items;
        size_t n;
        bool bars;              /* progress bars on a terminal */
        bool dirty;             /* a task signalled: read it again */
        unsigned lines_drawn;
} Watch;

void watch_done(Watch *w);
Item *watch_add(Watch *w, const char *label);
/* Records a call that failed before any task existed. */
void item_fail_bus(Item *it, const sd_bus_error *e, int r);
/* The error the item ended with, or NULL. */
const char *item_error_name(const Item *it);
/* Subscribes to the tasks' signals; call before any task is created, so none is missed. */
int watch_subscribe(sd_bus *bus, Watch *w);
/* Follows the tasks (unless --no-wait), prints the outcome, returns the exit status. */
int watch_finish(sd_bus *bus, Watch *w, bool with_task);
