/* org.vpc.Task at /org/vpc/Task/<n>: the properties, WaitForCompletion and Cancel of the tasks of a
 * TaskRegistry (task.h), served by a fallback vtable and a node enumerator. */
#pragma once

#include "bus-object.h"
#include "task.h"

/* userdata: the TaskRegistry. */
extern const BusObjectImplementation task_object;
extern const sd_bus_vtable task_vtable[];
