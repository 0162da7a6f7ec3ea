/* Starting one task per VM and following them to their end: what vpcctl's logoff and lock share,
 * each giving only the call that starts its task. */
#pragma once

#include "vpcctl-watch.h"

/* The verb's own call on GuestOS path GUEST: its reply holds the task's path ("o"). */
typedef int (*TaskStartCall)(sd_bus *bus, const char *guest, sd_bus_error *error, sd_bus_message **reply);

/* Adds an item for each of the N_NAMES VM names or UUIDs, with its GuestOS path when the service
 * knows it (else the item carries the error). -ENOMEM when an item cannot be added. */
int task_start_add_guests(sd_bus *bus, Watch *w, char **names, int n_names);
/* Starts a task with START on every item's VM, follows them (unless --no-wait), prints the outcome,
 * frees W and returns the exit status. */
int task_start_and_follow(sd_bus *bus, Watch *w, TaskStartCall start);
