/* See operation.h. */
#include <errno.h>

#include "operation.h"

typedef struct ParkedCall ParkedCall;

struct ParkedCall {
        ParkedCall *next;
        BusRequest request;     /* holds a reference on its call; its VM strings are the operation's */
        char *options;          /* request.options' copy */
};

struct Operation {
        Operation **slot;
        ParkedCall *first, *last;
        char *vm_name;
        char *vm_uuid;
};

static Operation *operation_free(Operation *o) {
        if (!o)
                return NULL;
        free(o->vm_name);
        free(o->vm_uuid);
        free(o);
        return NULL;
}
DEFINE_TRIVIAL_CLEANUP_FUNC(Operation *, operation_free);

static int operation_new(Operation **slot, const BusRequest *req, Operation **ret) {
        _cleanup_(operation_freep) Operation *o = calloc(1, sizeof(*o));

        if (!o)
                return -ENOMEM;
        o->vm_name = strdup(strempty(req->vm_name));
        o->vm_uuid = strdup(strempty(req->vm_uuid));
        if (!o->vm_name || !o->vm_uuid)
                return -ENOMEM;
        o->slot = slot;
        *ret = TAKE_PTR(o);
        return 0;
}

int operation_park(Operation **slot, const BusRequest *req, Operation **ret) {
        _cleanup_(operation_freep) Operation *created = NULL;
        Operation *o = *slot;
        ParkedCall *p;
        int r;

        if (!o) {
                r = operation_new(slot, req, &created);
                if (r < 0)
                        return r;
                o = created;
        }
        p = calloc(1, sizeof(*p));
        if (!p)
                return -ENOMEM;
        if (req->options && !(p->options = strdup(req->options))) {
                free(p);
                return -ENOMEM;
        }
        p->request = (BusRequest) {
                .kind = req->kind,
                .call = sd_bus_message_ref(req->call),
                .creds = req->creds,
                .vm_name = o->vm_name,
                .vm_uuid = o->vm_uuid,
                .options = p->options,
        };
        if (o->last)
                o->last->next = p;
        else
                o->first = p;
        o->last = p;
        *slot = o;
        if (ret)
                *ret = o;
        return !!TAKE_PTR(created);
}

void operation_finish(Operation *o, operation_answer_t answer, void *userdata) {
        _cleanup_(operation_freep) Operation *gone = o;
        ParkedCall *p = o->first;

        if (o->slot && *o->slot == o)
                *o->slot = NULL;
        o->first = o->last = NULL;
        o->slot = NULL;
        while (p) {
                ParkedCall *next = p->next;

                answer(&p->request, userdata);
                sd_bus_message_unref(p->request.call);
                free(p->options);
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
