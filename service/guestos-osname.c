/* GuestOS.AgentConnected and GuestOS.OSName (see guestos-osname.h). */
#include <errno.h>

#include "agent-json.h"
#include "guestos-osname.h"
#include "hypervisor-agent.h"
#include "log.h"
#include "logoff-state.h"

/* A guest decides how often its agent connects; one whose every answer makes it reconnect (a
 * broken or hostile agent: libvirt drops an agent that sent garbage, and it comes back) would
 * otherwise have us ask it again each time. So two reads of a domain are this far apart at least;
 * a connection in between is read when the interval is over. */
#define OS_NAME_READ_INTERVAL_USEC (5 * USEC_PER_SEC)
/* ... and after reads that got no usable answer, twice as far for each, up to 5 min 20 s: an agent
 * that is dropped for every answer (a FAKE one in fault-agent sends 100 MiB) would otherwise be
 * dropped again at once each time it comes back, and nobody else could reach it. */
#define OS_NAME_BACKOFF_MAX 6U

/* OSName reads share the agent workers with the callers' Logoff and ListUsers: at start-up or after
 * a reconnection every running VM's agent "connects" at once, and a read each of them at once would
 * hold the workers (a silent agent for --agent-timeout) while callers wait: one at a time, the rest
 * in turn. */
#define OS_NAME_READS_MAX 1U
/* ... nor does a read take the last agent worker a caller could use (behind a silent agent, the
 * caller would wait one more agent timeout): it is tried again this much later. */
#define OS_NAME_RETRY_USEC (1 * USEC_PER_SEC)

/* A domain's guest agent as GuestOS shows it: this file's state of the domain, which the domain
 * owns (d->guest_agent) and frees with it. NULL until the agent was first seen. */
typedef struct GuestAgentState {
        DomainFeature feature;  /* first: the domain frees the state through it */
        bool connected;
        char *os_name;          /* NULL while unknown */
        bool reading;           /* a guest-get-osinfo in flight */
        bool reread;            /* the agent reconnected while a read was in flight */
        bool wanted;            /* waits for its turn: OS_NAME_READS_MAX are in flight */
        unsigned seq;           /* which read counts: older answers are dropped */
        uint64_t read_usec;     /* CLOCK_MONOTONIC start of the last read, 0 for none */
        unsigned failures;      /* reads in a row that got no usable answer */
        sd_event_source *timer; /* a read put off to keep the interval between two */
} GuestAgentState;

static void state_free(DomainFeature *f) {
        GuestAgentState *s = (GuestAgentState *) f;

        free(s->os_name);
        (void) sd_event_source_disable_unref(s->timer);
        free(s);
}

static GuestAgentState *state_of(const Domain *d) {
        return (GuestAgentState *) d->guest_agent;
}

static GuestAgentState *state_get(Domain *d) {
        GuestAgentState *s;

        if (d->guest_agent)
                return state_of(d);
        s = calloc(1, sizeof(*s));
        if (!s)
                return NULL;
        s->feature.free = state_free;
        d->guest_agent = &s->feature;
        return s;
}

bool guestos_osname_agent_connected(const Domain *d) {
        return d->guest_agent && state_of(d)->connected;
}

const char *guestos_osname_name(const Domain *d) {
        return d->guest_agent ? strempty(state_of(d)->os_name) : "";
}

static void emit(Manager *m, Domain *d, bool agent, bool os) {
        if (!m->announced)
                return;         /* before the name is taken nobody can be watching */
        if (agent && os)
                (void) sd_bus_emit_properties_changed(m->bus, d->path, "org.vpc.GuestOS", "AgentConnected", "OSName", NULL);
        else if (agent)
                (void) sd_bus_emit_properties_changed(m->bus, d->path, "org.vpc.GuestOS", "AgentConnected", NULL);
        else if (os)
                (void) sd_bus_emit_properties_changed(m->bus, d->path, "org.vpc.GuestOS", "OSName", NULL);
}

/* The domain may be gone (or replaced) when the answer comes: it is found again by UUID. */
typedef struct OsNameRead {
        Manager *manager;
        char uuid[UUID_STRING_MAX];
        unsigned seq;
} OsNameRead;

static uint64_t read_interval(const GuestAgentState *s) {
        return OS_NAME_READ_INTERVAL_USEC << (s->failures < OS_NAME_BACKOFF_MAX ? s->failures : OS_NAME_BACKOFF_MAX);
}

static void read_os_name(Manager *m, Domain *d);

static void find_wanted(Domain *d, void *userdata) {
        Domain **found = userdata;

        if (!*found && d->guest_agent && state_of(d)->wanted)
                *found = d;
}

/* The next domains whose read waited for its turn. */
static void read_wanted(Manager *m) {
        while (m->os_name_reads < OS_NAME_READS_MAX) {
                Domain *d = NULL;

                domain_registry_foreach(&m->domains, find_wanted, &d);
                if (!d)
                        return;
                state_of(d)->wanted = false;
                if (state_of(d)->connected)
                        read_os_name(m, d);
        }
}

static void on_os_name(const AgentCallResult *result, void *userdata) {
        _cleanup_free_ OsNameRead *rd = userdata;
        _cleanup_free_ char *name = NULL, *error = NULL;
        Manager *m = rd->manager;
        GuestAgentState *s;
        Domain *d;

        m->os_name_reads--;
        if (result->stopping)
                return;
        d = domain_registry_find_by_uuid(&m->domains, rd->uuid);
        s = d ? state_of(d) : NULL;
        if (!s || !s->reading || s->seq != rd->seq) {
                read_wanted(m);
                return;
        }
        s->reading = false;

        if (result->error != VPC_OK) {
                log_debug("domain '%s': no OS name from the guest agent: %s", d->name, strempty(result->message));
                s->failures++;
        } else if (agent_parse_os_name(result->reply, &name, &error) < 0) {
                log_debug("domain '%s': no OS name from the guest agent: %s", d->name, strempty(error));
                s->failures++;
        } else {
                s->failures = 0;
                if (!streq_ptr(strempty(s->os_name), name)) {
                        free(s->os_name);
                        s->os_name = TAKE_PTR(name);
                        emit(m, d, false, true);
                }
        }

        /* The agent went and came back meanwhile: what it says now counts. */
        if (s->reread && s->connected)
                read_os_name(m, d);
        read_wanted(m);
}

static int on_os_name_timer(sd_event_source *s, uint64_t usec, void *userdata) {
        Domain *d = userdata;
        GuestAgentState *st = state_of(d);

        st->timer = sd_event_source_disable_unref(st->timer);
        if (st->connected)
                read_os_name(d->manager, d);
        return 0;
}

/* One read in flight per domain; a connection meanwhile asks for one more after it. */
static void read_os_name(Manager *m, Domain *d) {
        GuestAgentState *s = state_of(d);
        uint64_t now = now_usec(CLOCK_MONOTONIC);
        OsNameRead *rd;
        int r;

        if (s->reading) {
                s->reread = true;
                return;
        }
        if (s->timer)
                return;         /* the timer reads it */
        if (s->read_usec > 0 && now < s->read_usec + read_interval(s)) {
                r = sd_event_add_time(m->event, &s->timer, CLOCK_MONOTONIC,
                                      s->read_usec + read_interval(s), 0, on_os_name_timer, d);
                if (r < 0)
                        log_warning("domain '%s': cannot put off the OS name's read: %s", d->name, strerror(-r));
                return;
        }
        if (m->os_name_reads >= OS_NAME_READS_MAX) {
                s->wanted = true;
                return;
        }
        if (!hypervisor_agent_spare(m->hypervisor)) {
                r = sd_event_add_time_relative(m->event, &s->timer, CLOCK_MONOTONIC, OS_NAME_RETRY_USEC, 0,
                                               on_os_name_timer, d);
                if (r < 0)
                        log_warning("domain '%s': cannot put off the OS name's read: %s", d->name, strerror(-r));
                return;
        }
        s->reread = false;
        rd = calloc(1, sizeof(*rd));
        if (!rd) {
                log_error("domain '%s': cannot read the OS name: %s", d->name, strerror(ENOMEM));
                return;
        }
        rd->manager = m;
        strcpy(rd->uuid, d->uuid);
        rd->seq = ++s->seq;
        r = hypervisor_agent_command(m->hypervisor, d->uuid, AGENT_COMMAND_GET_OSINFO, (int) m->options.agent_timeout_sec,
                                     on_os_name, rd);
        if (r < 0) {
                /* The agent workers are full (a flood): the next connection reads it. */
                log_warning("domain '%s': cannot read the OS name now: %s", d->name, strerror(-r));
                free(rd);
                return;
        }
        s->reading = true;
        s->read_usec = now;
        m->os_name_reads++;
}

void guestos_osname_set_agent_connected(Manager *m, Domain *d, bool connected) {
        GuestAgentState *s = state_get(d);
        bool changed;

        if (!s) {
                log_error("domain '%s': cannot keep its agent's state: %s", d->name, strerror(ENOMEM));
                return;
        }
        changed = s->connected != connected;
        s->connected = connected;
        /* A new agent connection may be a new boot: the next Logoff check reads the OS again. */
        if (changed && connected)
                logoff_state_remember_guest_os(d, GUEST_OS_UNKNOWN, m->generation);
        if (changed)
                emit(m, d, true, false);
        /* The OS name is kept while the agent is away (restarted, upgraded): only a boot changes the
         * OS, and after one the agent connects again and is asked again (an agent dropped for its
         * answers, which comes back at once, is asked less and less often: read_interval()). */
        if (connected)
                read_os_name(m, d);
}

void guestos_osname_domain_stopped(Manager *m, Domain *d) {
        GuestAgentState *s = state_of(d);
        bool agent, os;

        if (!s)
                return;
        agent = s->connected;
        os = s->os_name && *s->os_name;
        s->connected = false;
        free(s->os_name);
        s->os_name = NULL;
        /* A read still in flight is dropped when it lands; the next boot is read at once. */
        s->reading = s->reread = s->wanted = false;
        s->read_usec = 0;
        s->failures = 0;
        s->timer = sd_event_source_disable_unref(s->timer);
        emit(m, d, agent, os);
}
