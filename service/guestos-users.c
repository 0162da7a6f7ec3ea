/* GuestOS.ListUsers() (see guestos-users.h): authorize, hand the request to the domain's users
 * query (users-query.c), answer. */
#include <errno.h>

#include "bus-request.h"
#include "guestos-users.h"
#include "users-query.h"

static const BusRequestKind list_users_kind = {
        .event = AUDIT_LIST_USERS_REQUEST,
        .action = "org.vpc.guestos.list-users",
        .refusal = "cannot list the users of",
};

static int list_users_reply(sd_bus_message *call, const AgentUser *users, size_t n) {
        _cleanup_(sd_bus_message_unrefp) sd_bus_message *reply = NULL;
        int r;

        if (sd_bus_message_get_expect_reply(call) == 0)
                return 0;
        r = sd_bus_message_new_method_return(call, &reply);
        if (r >= 0)
                r = sd_bus_message_open_container(reply, 'a', "(sst)");
        for (size_t i = 0; r >= 0 && i < n; i++)
                r = sd_bus_message_append(reply, "(sst)", users[i].user, users[i].domain, users[i].login_usec);
        if (r >= 0)
                r = sd_bus_message_close_container(reply);
        if (r >= 0)
                r = sd_bus_send(NULL, reply, NULL);
        return r < 0 ? vpc_reply_fallback(call, r) : r;
}

static void answer_request(const BusRequest *req, const UsersAnswer *a) {
        if (a->error != VPC_OK) {
                bus_request_refuse(req, a->error, a->message);
                return;
        }
        bus_request_audit(req, VPC_OK, NULL);
        (void) list_users_reply(req->call, a->users, a->n_users);
}

int guestos_method_list_users(sd_bus_message *call, void *userdata, sd_bus_error *error) {
        Domain *d = userdata;
        Manager *m = d->manager;
        BusRequest req = { .kind = &list_users_kind, .call = call, .vm_name = d->name, .vm_uuid = d->uuid };
        int r;

        /* Authorization comes before any libvirt work. */
        r = bus_request_authorize(m->authorizer, &req, UID_INVALID);
        if (r < 0)
                return r;
        if (r == 0)
                return 1;

        users_query(m, d, &req, answer_request);
        return 1;
}
