/* See operation.h. */
#include <errno.h>

#include "operation.h"

typedef struct ParkedCall ParkedCall;
struct ParkedCall {
        ParkedCall *next;
        sd_bus_message *call;
        CallerCreds creds;
};

struct Operation {
        Operation **slot;
        ParkedCall *first, *last;
};

int operation_park(Operation **slot, sd_bus_message *call, const CallerCreds *creds, Operation **ret) {
        Operation *o = *slot;
        ParkedCall *p;
        bool created = false;

        if (!o) {
                o = calloc(1, sizeof(*o));
                if (!o)
                        return -ENOMEM;
                o->slot = slot;
                created = true;
        }
        p = calloc(1, sizeof(*p));
        if (!p) {
                if (created)
                        free(o);
                return -ENOMEM;
        }
        p->call = sd_bus_message_ref(call);
        p->creds = *creds;
        if (o->last)
                o->last->next = p;
        else
                o->first = p;
        o->last = p;
        *slot = o;
        if (ret)
                *ret = o;
        return created;
}

void operation_finish(Operation *o, operation_answer_t answer, void *userdata) {
        ParkedCall *p = o->first;

        if (o->slot && *o->slot == o)
                *o->slot = NULL;
        free(o);
        while (p) {
                ParkedCall *next = p->next;

                answer(p->call, &p->creds, userdata);
                sd_bus_message_unref(p->call);
                free(p);
                p = next;
        }
}

void operation_detach(Operation *o) {
        if (o && o->slot && *o->slot == o)
                *o->slot = NULL;
        if (o)
                o->slot = NULL;
}
