/* Who is logged on in a guest, asked of its agent on an agent worker: guest-info (the agent must
 * offer guest-get-users), then guest-get-users. One query per domain at a time (operation.c, on
 * the domain's UsersState, d->users): requests that come while one is in flight join it and get its answer, so a
 * flood of ListUsers holds one agent worker per domain, not one per request. */
#pragma once

#include <stddef.h>

#include "agent-json.h"
#include "bus-request.h"
#include "vpc-guestosd.h"

/* What every request parked on a query hears. */
typedef struct UsersAnswer {
        VpcError error;
        const char *message;            /* when error != VPC_OK */
        const AgentUser *users;
        size_t n_users;
} UsersAnswer;

typedef void (*users_answer_t)(const BusRequest *req, const UsersAnswer *answer);

/* Parks req (authorized) on d's query, starting one if none is in flight; answer() runs once for
 * it, on the event loop, with the query's outcome (or why none could be made). */
void users_query(Manager *m, Domain *d, const BusRequest *req, users_answer_t answer);
