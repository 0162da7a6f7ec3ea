/* org.vpc.Task on the bus (see task-dbus.h): properties, WaitForCompletion as a deferred reply,
 * Cancel behind polkit, and the object lookup and node enumerator. */
#include <errno.h>
#include <search.h>
#include <stdio.h>

#include "bus-request.h"
#include "log.h"
#include "task-dbus.h"

static int method_wait_for_completion(sd_bus_message *call, void *userdata, sd_bus_error *error) {
        Task *t = userdata;
        TaskRegistry *reg = t->registry;
        Caller *caller;
        int32_t timeout_ms;
        int r;

        r = sd_bus_message_read(call, "i", &timeout_ms);
        if (r < 0)
                return r;
        if (timeout_ms < -1)
                return vpc_error_set(error, VPC_ERROR_INVALID_ARGS,
                                     "timeout must be -1 (forever), 0 (poll) or a positive number of ms");
        if (t->complete || timeout_ms == 0)
                return vpc_reply_return(call, "b", t->complete);

        r = caller_get(reg->callers, sd_bus_message_get_sender(call), &caller);
        if (r < 0)
                return r;
        if (reg->n_waiters >= reg->options.max_waiters ||
            caller_count(caller, CALLER_LINK_WAITER) >= reg->options.max_waiters_per_sender)
                return vpc_error_set(error, VPC_ERROR_LIMITS_EXCEEDED, "too many WaitForCompletion calls pending");

        r = task_park_waiter(t, call, caller, timeout_ms > 0 ? (uint64_t) timeout_ms * USEC_PER_MSEC : USEC_INFINITY);
        if (r < 0)
                return r;
        return 1;
}

/* --- Cancel --- */

static const BusRequestKind cancel_kind = {
        .event = AUDIT_CANCEL_REQUEST,
        .action = "org.vpc.task.cancel",
        .refusal = "cannot cancel the task on",
};

static int method_cancel(sd_bus_message *call, void *userdata, sd_bus_error *error) {
        _cleanup_free_ char *message = NULL;
        Task *t = userdata;
        BusRequest req = { .kind = &cancel_kind, .call = call, .vm_name = t->vm_name, .vm_uuid = t->vm_uuid,
                           .task_path = t->path };
        int r;

        /* The task's owner may cancel it without asking polkit. */
        r = bus_request_authorize(t->registry->authorizer, &req, t->owner);
        if (r < 0)
                return r;
        if (r == 0)
                return 1;

        bus_request_audit(&req, VPC_OK, NULL);
        /* Cancelling a finished task changes nothing and is not an error. */
        if (!t->complete && asprintf(&message, "cancelled by uid %u", (unsigned) req.creds.uid) >= 0)
                task_complete(t, VPC_ERROR_CANCELLED, message);
        return vpc_reply_return(call, NULL);
}

/* --- properties --- */

static int property_get(sd_bus *bus, const char *path, const char *interface, const char *property,
                        sd_bus_message *reply, void *userdata, sd_bus_error *error) {
        Task *t = userdata;

        if (streq_ptr(property, "Description"))
                return sd_bus_message_append(reply, "s", strempty(t->description));
        if (streq_ptr(property, "Target"))
                return sd_bus_message_append(reply, "o", t->target_path);
        if (streq_ptr(property, "Owner"))
                return sd_bus_message_append(reply, "u", (uint32_t) t->owner);
        if (streq_ptr(property, "IsComplete"))
                return sd_bus_message_append(reply, "b", t->complete);
        if (streq_ptr(property, "PercentCompleted"))
                return sd_bus_message_append(reply, "u", t->percent);
        if (streq_ptr(property, "ErrorCode"))
                return sd_bus_message_append(reply, "u", vpc_error_hresult(t->error));
        if (streq_ptr(property, "ErrorName"))
                return sd_bus_message_append(reply, "s", t->error == VPC_OK ? "" : vpc_error_name(t->error));
        if (streq_ptr(property, "ErrorMessage"))
                return sd_bus_message_append(reply, "s", strempty(t->error_message));
        if (streq_ptr(property, "StartedUSec"))
                return sd_bus_message_append(reply, "t", t->started_usec);
        if (streq_ptr(property, "FinishedUSec"))
                return sd_bus_message_append(reply, "t", t->finished_usec);
        return -EINVAL;
}

const sd_bus_vtable task_vtable[] = {
        SD_BUS_VTABLE_START(0),
        SD_BUS_PROPERTY("Description", "s", property_get, 0, SD_BUS_VTABLE_PROPERTY_CONST),
        SD_BUS_PROPERTY("Target", "o", property_get, 0, SD_BUS_VTABLE_PROPERTY_CONST),
        SD_BUS_PROPERTY("Owner", "u", property_get, 0, SD_BUS_VTABLE_PROPERTY_CONST),
        SD_BUS_PROPERTY("IsComplete", "b", property_get, 0, SD_BUS_VTABLE_PROPERTY_EMITS_CHANGE),
        SD_BUS_PROPERTY("PercentCompleted", "u", property_get, 0, SD_BUS_VTABLE_PROPERTY_EMITS_CHANGE),
        SD_BUS_PROPERTY("ErrorCode", "u", property_get, 0, SD_BUS_VTABLE_PROPERTY_EMITS_CHANGE),
        SD_BUS_PROPERTY("ErrorName", "s", property_get, 0, SD_BUS_VTABLE_PROPERTY_EMITS_CHANGE),
        SD_BUS_PROPERTY("ErrorMessage", "s", property_get, 0, SD_BUS_VTABLE_PROPERTY_EMITS_CHANGE),
        SD_BUS_PROPERTY("StartedUSec", "t", property_get, 0, SD_BUS_VTABLE_PROPERTY_EMITS_CHANGE),
        SD_BUS_PROPERTY("FinishedUSec", "t", property_get, 0, SD_BUS_VTABLE_PROPERTY_EMITS_CHANGE),
        SD_BUS_METHOD_WITH_ARGS("WaitForCompletion",
                                SD_BUS_ARGS("i", timeout_ms),
                                SD_BUS_RESULT("b", complete),
                                method_wait_for_completion, SD_BUS_VTABLE_UNPRIVILEGED),
        SD_BUS_METHOD_WITH_ARGS("Cancel", SD_BUS_NO_ARGS, SD_BUS_NO_RESULT, method_cancel,
                                SD_BUS_VTABLE_UNPRIVILEGED),
        SD_BUS_SIGNAL_WITH_ARGS("Progress", SD_BUS_ARGS("u", percent), 0),
        SD_BUS_SIGNAL_WITH_ARGS("Completed",
                                SD_BUS_ARGS("u", error_code, "s", error_name, "s", error_message), 0),
        SD_BUS_VTABLE_END,
};

static int task_object_find(sd_bus *bus, const char *path, const char *interface, void *userdata,
                            void **found, sd_bus_error *error) {
        Task *t = task_find_by_path(userdata, path);

        if (!t || !t->published)
                return 0;
        *found = t;
        return 1;
}

typedef struct NodeList {
        char **nodes;
        size_t n;
        int error;
} NodeList;

static void list_one(const void *node, VISIT which, void *closure) {
        NodeList *l = closure;
        const Task *t = *(Task *const *) node;

        if ((which == postorder || which == leaf) && t->published && l->error == 0) {
                l->nodes[l->n] = strdup(t->path);
                if (l->nodes[l->n])
                        l->n++;
                else
                        l->error = -ENOMEM;
        }
}

static int task_node_enumerator(sd_bus *bus, const char *prefix, void *userdata, char ***nodes,
                                sd_bus_error *error) {
        TaskRegistry *reg = userdata;
        NodeList l = {};

        l.nodes = calloc(reg->n_tasks + 1, sizeof(char *));
        if (!l.nodes)
                return -ENOMEM;
        twalk_r(reg->tasks, list_one, &l);
        if (l.error < 0) {
                strv_free(l.nodes);
                return l.error;
        }
        *nodes = l.nodes;
        return 0;
}

const BusObjectImplementation task_object = {
        .path = TASK_PATH_PREFIX,
        .interface = "org.vpc.Task",
        .vtable = task_vtable,
        .find = task_object_find,
        .node_enumerator = task_node_enumerator,
};

