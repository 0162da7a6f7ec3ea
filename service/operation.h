/* An operation: one libvirt job in flight for a domain on behalf of the bus calls parked on it (as
 * machined's operation.c). Concurrent calls that need the same job join the one in flight instead
 * of starting their own, so a domain never has more than one such job at a time and a flood queues
 * one job per domain, not one per call. When the job is done, each parked call is answered once. */
#pragma once

#include "bus-request.h"

typedef struct Operation Operation;

/* Parks the request (its call, kind and caller, for the answer and the audit) on the operation in
 * *slot, or on a new one stored there, which keeps its own copy of the VM's name and UUID: the domain
 * may be gone when the calls are answered. Returns 1 when the operation is new (the caller starts
 * its job), 0 when the call joined the one in flight, < 0 on failure (the call is not parked). */
int operation_park(Operation **slot, const BusRequest *req, Operation **ret);

/* The job is done, or could not be started: the operation leaves its slot, answer() is called once
 * for each parked call, in the order they came, and the operation is freed. answer() may start a
 * new operation in the same slot. */
typedef void (*operation_answer_t)(const BusRequest *req, void *userdata);
void operation_finish(Operation *o, operation_answer_t answer, void *userdata);

/* The slot's owner goes away (a domain undefined while its job runs): the operation finishes
 * without it. */
void operation_detach(Operation *o);
