/* The Manager (see manager.h): owns the daemon's state (vpc-guestosd.h), keeps the domain registry in
 * step with libvirt, and registers every bus object once. */
#include <errno.h>
#include <inttypes.h>

#include "console-metadata.h"
#include "console-policy.h"
#include "guestos-osname.h"
#include "guestos.h"
#include "hypervisor-events-agent.h"
#include "hypervisor-events-graphics.h"
#include "hypervisor-events-metadata.h"
#include "lock-task.h"
#include "log.h"
#include "logoff-task.h"
#include "manager-dbus.h"
#include "manager.h"
#include "task-dbus.h"

/* --- domains, kept in step with libvirt --- */

/* Our metadata element as the console policy reads it: no element is none, and so is one we cannot
 * parse (said so: whoever can edit the domain wrote it). */
static void metadata_console_policy(const char *name, const char *xml, ConsolePolicy *ret) {
        *ret = (ConsolePolicy) { .action = CONSOLE_DISCONNECT_NONE, .delay_sec = CONSOLE_DELAY_DEFAULT_SEC };
        if (xml && console_policy_parse(xml, ret) < 0)
                log_warning("domain '%s': ignoring its console policy metadata, which is not a <policy/> "
                            "element of org.vpc(5) (an action, delay='0..%u', a message)", strempty(name),
                            CONSOLE_DELAY_MAX_SEC);
}

static void domain_publish(Manager *m, Domain *d) {
        /* Before the name is taken nobody can be watching: the initial list is not announced. */
        if (m->announced)
                (void) sd_bus_emit_object_added(m->bus, d->path);
}

static int on_name_acquired(sd_bus_message *reply, void *userdata, sd_bus_error *ret_error) {
        Manager *m = userdata;
        const sd_bus_error *e = sd_bus_message_get_error(reply);
        uint32_t code = 0;

        if (e) {
                log_error("cannot own %s: %s", BUS_NAME, e->message ?: e->name);
                return sd_event_exit(m->event, -EACCES);
        }
        /* RequestName answers with a code, not an error, when someone else has the name. */
        if (sd_bus_message_read(reply, "u", &code) < 0 || (code != 1 && code != 4)) {
                log_error("cannot own %s: another process has it", BUS_NAME);
                return sd_event_exit(m->event, -EADDRINUSE);
        }
        log_info("serving %s for %s, %zu domain(s)", BUS_NAME, m->options.uri, m->domains.n_domains);
        return 0;
}

static void manager_announce(Manager *m) {
        int r;

        if (m->announced)
                return;
        m->announced = true;
        r = sd_bus_request_name_async(m->bus, NULL, BUS_NAME, 0, on_name_acquired, m);
        if (r < 0) {
                log_error("cannot request %s: %s", BUS_NAME, strerror(-r));
                (void) sd_event_exit(m->event, r);
        }
}

/* why: what told us, for the log (an object vanishing is otherwise seen only on the bus). */
static void domain_drop(Manager *m, Domain *d, const char *why) {
        log_info("domain '%s' (%s) removed: %s", d->name, d->uuid, why);
        if (logoff_task_running(d)) {
                d->state = DOMAIN_STATE_SHUTOFF;
                logoff_task_domain_stopped(d);
        }
        if (lock_task_running(d)) {
                d->state = DOMAIN_STATE_SHUTOFF;
                lock_task_domain_stopped(d);
        }
        /* InterfacesRemoved lists the interfaces, so it goes out while the object is still found. */
        (void) sd_bus_emit_object_removed(m->bus, d->path);
        domain_registry_remove(&m->domains, d);
        domain_free(d);
}

static void domain_set_state(Manager *m, Domain *d, DomainState state) {
        if (d->state == state)
                return;
        d->state = state;
        guestos_emit_state_changed(m, d);
        console_policy_domain_state(m, d);
        if (state != DOMAIN_STATE_RUNNING)
                logoff_task_domain_stopped(d);
        if (state != DOMAIN_STATE_RUNNING)
                lock_task_domain_stopped(d);
        if (state != DOMAIN_STATE_RUNNING && state != DOMAIN_STATE_PAUSED)
                guestos_osname_domain_stopped(m, d);
}

/* A refresh read the agent's state too (a domain that just started): it counts as an event would. */
static void domain_set_agent(Manager *m, Domain *d, const DomainInfo *info) {
        if (info->agent_known && info->agent_connected != guestos_osname_agent_connected(d))
                guestos_osname_set_agent_connected(m, d, info->agent_connected);
}

/* Adds or updates the domain described by info; a rename is a removal and an addition. */
static void domain_upsert(Manager *m, const DomainInfo *info) {
        Domain *d = domain_registry_find_by_uuid(&m->domains, info->uuid);
        int r;

        if (d && !streq_ptr(d->name, info->name)) {
                domain_drop(m, d, "renamed");
                d = NULL;
        }
        if (!d) {
                /* A name reused by another UUID (undefine + define raced): the new one wins. */
                Domain *other = domain_registry_find_by_name(&m->domains, info->name);
                if (other)
                        domain_drop(m, other, "its name now belongs to another UUID");

                r = domain_new(info->name, info->uuid, info->state, &d);
                if (r >= 0) {
                        d->manager = m;
                        r = domain_registry_add(&m->domains, d);
                        if (r < 0)
                                d = domain_free(d);
                }
                if (r < 0) {
                        log_error("cannot add domain '%s': %s", info->name, strerror(-r));
                        return;
                }
                d->generation = m->generation;
                if (info->metadata_known) {
                        ConsolePolicy p;

                        metadata_console_policy(d->name, info->metadata, &p);
                        console_policy_init(d, &p);
                }
                domain_publish(m, d);
                domain_set_agent(m, d, info);
                return;
        }
        d->generation = m->generation;
        domain_set_state(m, d, info->state);
        if (info->metadata_known) {
                ConsolePolicy p;

                metadata_console_policy(d->name, info->metadata, &p);
                console_policy_apply(m, d, &p);
        }
        domain_set_agent(m, d, info);
}

/* The running tasks the previous run left are taken up by their engines once libvirt's list is in. */
static void adopt_restored(Manager *m) {
        for (size_t i = 0; i < m->n_restored; i++) {
                if (m->restored[i]->resume.kind == TASK_KIND_LOCK)
                        lock_task_adopt(m, m->restored[i]);
                else
                        logoff_task_adopt(m, m->restored[i]);
                task_unref(m->restored[i]);
        }
        free(m->restored);
        m->restored = NULL;
        m->n_restored = 0;
}

static void on_connected(const DomainInfo *domains, size_t n, void *userdata) {
        Manager *m = userdata;
        _cleanup_free_ Domain **all = NULL;
        size_t n_all;

        m->generation++;
        for (size_t i = 0; i < n; i++)
                domain_upsert(m, &domains[i]);

        /* Whatever this connection did not list is gone. */
        if (domain_registry_snapshot(&m->domains, &all, &n_all) < 0)
                return;
        for (size_t i = 0; i < n_all; i++)
                if (all[i]->generation != m->generation)
                        domain_drop(m, all[i], "not listed by libvirt after a (re)connection");
        adopt_restored(m);
        manager_announce(m);
}

static void on_disconnected(void *userdata) {
        /* The objects stay with their last known state until the reconnection resyncs them. A first
         * attempt that failed still takes the name: the daemon answers while it retries. */
        console_policy_reset_all(userdata);
        manager_announce(userdata);
}

static void on_graphics(const char *uuid, int phase, const char *address, void *userdata) {
        console_policy_event(userdata, uuid, phase, address);
}

static void on_domain_changed(const char *uuid, const DomainInfo *info, void *userdata) {
        Manager *m = userdata;
        Domain *d;

        if (info) {
                domain_upsert(m, info);
                return;
        }
        d = domain_registry_find_by_uuid(&m->domains, uuid);
        if (d)
                domain_drop(m, d, "libvirt says it no longer exists");
}

static void on_metadata(const char *uuid, const char *xml, void *userdata) {
        Manager *m = userdata;
        Domain *d = domain_registry_find_by_uuid(&m->domains, uuid);
        ConsolePolicy p;

        if (!d)
                return;
        metadata_console_policy(d->name, xml, &p);
        console_policy_apply(m, d, &p);
}

static void on_agent_channel(const char *uuid, bool connected, void *userdata) {
        Manager *m = userdata;
        Domain *d = domain_registry_find_by_uuid(&m->domains, uuid);

        if (d)
                guestos_osname_set_agent_connected(m, d, connected);
}

/* What libvirt tells beyond the lifecycle: the guest agents coming and going (AgentConnected, the
 * OS name), the remote consoles and our metadata (the console-disconnect policy). */
static const HypervisorEventSource *const hypervisor_event_sources[] = {
        &hypervisor_agent_events,
        &hypervisor_graphics_events,
        &hypervisor_metadata_events,
        NULL,
};

static const HypervisorSubscriber hypervisor_subscriber = {
        .connected = on_connected,
        .disconnected = on_disconnected,
        .domain_changed = on_domain_changed,
        .agent_channel = on_agent_channel,
        .graphics = on_graphics,
        .metadata = on_metadata,
        .metadata_uri = CONSOLE_METADATA_URI,
        .event_sources = hypervisor_event_sources,
};

/* --- life --- */

static void on_task_record(const TaskRecord *rec, void *userdata) {
        Manager *m = userdata;
        Task *t, **n;
        int r;

        /* Each engine restores its own; a finished task needs none, any takes it. */
        if (!rec->complete && rec->resume.kind == TASK_KIND_LOCK)
                r = lock_task_restore(m, rec, &t);
        else
                r = logoff_task_restore(m, rec, &t);
        if (r == -ESTALE) {
                /* Its retention passed while the daemon was down. */
                (void) task_store_delete(&m->store, rec->id);
                return;
        }
        if (r < 0) {
                log_warning("cannot restore task %" PRIu64 ": %s", rec->id, strerror(-r));
                return;
        }
        if (t->complete)
                return;
        n = realloc(m->restored, (m->n_restored + 1) * sizeof(Task *));
        if (!n) {
                task_complete(t, VPC_ERROR_EXCEPTION, "out of memory while restoring the task");
                return;
        }
        m->restored = n;
        m->restored[m->n_restored++] = task_ref(t);
}

static int manager_restore_tasks(Manager *m) {
        uint64_t next;
        int r;

        r = task_store_load(&m->store, on_task_record, m, &next);
        if (r < 0) {
                log_warning("cannot read the task state files in %s: %s", m->store.path, strerror(-r));
                return 0;
        }
        if (next - 1 > m->tasks.last_task_id)
                m->tasks.last_task_id = next - 1;
        if (task_store_usable(&m->store))
                log_info("task state in %s: %zu task(s) to take up, %zu finished, next id %" PRIu64, m->store.path,
                         m->n_restored, m->tasks.n_finished, m->tasks.last_task_id + 1);
        return 0;
}

int manager_new(sd_event *event, sd_bus *bus, const ManagerOptions *options, Manager **ret) {
        _cleanup_(manager_freep) Manager *m = NULL;
        int r;

        m = calloc(1, sizeof(*m));
        if (!m)
                return -ENOMEM;
        m->event = sd_event_ref(event);
        m->bus = sd_bus_ref(bus);
        m->options = *options;
        m->store.dir_fd = -1;

        r = caller_registry_new(bus, &m->callers);
        if (r < 0)
                return r;
        r = authorizer_new(event, bus, m->callers, &(AuthorizerLimits) {
                        .timeout_usec = (uint64_t) options->polkit_timeout_sec * USEC_PER_SEC,
                        .max_pending = options->max_pending_auth,
                        .max_pending_per_sender = options->max_pending_auth_per_sender,
                        /* polkitd answers in turn: a check waits for those ahead of it there.
                         * One of a caller at a time: with 2, another caller's Logoff during a
                         * flood of one connection had a p90 1.7x higher (bench flood, held),
                         * and pipelined callers still keep polkitd busy (bench pipelining). */
                        .max_in_flight = 32,
                        .max_in_flight_per_sender = 1,
                }, &m->authorizer);
        if (r < 0)
                return r;

        task_registry_init(&m->tasks, event, bus, m->authorizer, m->callers, &(TaskOptions) {
                        .task_retention_sec = options->task_retention_sec,
                        .max_tasks = options->max_tasks,
                        .max_waiters = options->max_waiters,
                        .max_waiters_per_sender = options->max_waiters_per_sender,
                });
        /* Without the directory the daemon serves all the same; it said why. */
        (void) task_store_open(&m->store);
        m->tasks.store = &m->store;

        r = hypervisor_new(event, options->uri, &(HypervisorLimits) {
                        .agent_threads = options->agent_threads,
                        .agent_queue_max = options->agent_queue_max,
                }, &hypervisor_subscriber, m, &m->hypervisor);
        if (r < 0)
                return r;

        *ret = TAKE_PTR(m);
        return 0;
}

int manager_start(Manager *m) {
        static const BusObjectImplementation *const guarded[] = {
                &manager_object, &guestos_object, &task_object, NULL
        };
        static const BusSignatureGuard guard = { .prefix = MANAGER_PATH, .impls = guarded };
        /* Each object with the userdata its callbacks take. */
        const struct {
                const BusObjectImplementation *impl;
                void *userdata;
        } objects[] = {
                { &manager_object, m },
                { &guestos_object, m },
                { &task_object, &m->tasks },
        };
        int r;

        r = bus_add_signature_guard(m->bus, &guard);
        if (r < 0)
                return r;
        r = sd_bus_add_object_manager(m->bus, NULL, MANAGER_PATH);
        if (r < 0)
                return r;
        for (size_t i = 0; i < ELEMENTSOF(objects); i++) {
                r = bus_add_implementation(m->bus, objects[i].impl, objects[i].userdata);
                if (r < 0)
                        return r;
        }
        r = manager_restore_tasks(m);
        if (r < 0)
                return r;
        return hypervisor_start(m->hypervisor);
}

Manager *manager_free(Manager *m) {
        if (!m)
                return NULL;

        /* Workers first, so no completion arrives for a task that is gone. */
        m->hypervisor = hypervisor_free(m->hypervisor);
        for (size_t i = 0; i < m->n_restored; i++)
                task_unref(m->restored[i]);
        free(m->restored);
        task_remove_all(&m->tasks);
        task_store_close(&m->store);
        m->authorizer = authorizer_free(m->authorizer);
        m->callers = caller_registry_free(m->callers);
        domain_registry_clear(&m->domains);
        sd_bus_unref(m->bus);
        sd_event_unref(m->event);
        free(m);
        return NULL;
}
