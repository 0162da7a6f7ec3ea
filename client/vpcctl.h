/* vpcctl's shared declarations: command-line settings, the exit status of each error class, the
 * records it reads from org.vpc's objects, and the verbs. vpcctl speaks only the public D-Bus API. */
#pragma once

#include <libintl.h>
#include <stdbool.h>
#include <stdint.h>
#include <json-c/json.h>
#include <systemd/sd-bus.h>

#include "util.h"

/* vpcctl's own words go through gettext (domain vpcctl, po/); the service's error messages, D-Bus
 * names, --json and -q output stay as they are. */
#define _(s) gettext(s)
#define N_(s) (s)
/* A word that needs a context to translate ("none" tasks, "none" users), as gettext.h's pgettext. */
#define C_(context, s) pgettext_aux(context "\004" s, s)
static inline const char *pgettext_aux(const char *id_in_context, const char *id) {
        const char *t = gettext(id_in_context);

        return t == id_in_context ? id : t;
}

#define VPC_BUS_NAME "org.vpc"
#define VPC_MANAGER_PATH "/org/vpc"
#define VPC_TASK_PREFIX "/org/vpc/Task/"
#define VPC_GUEST_PREFIX "/org/vpc/GuestOS/"

/* Documented in vpcctl(1), EXIT STATUS. Keep the two in step. */
typedef enum VpcctlExit {
        VPCCTL_EXIT_OK = 0,
        VPCCTL_EXIT_FAILED = 1,            /* org.vpc.Error.Exception or anything unexpected */
        VPCCTL_EXIT_USAGE = 2,
        VPCCTL_EXIT_NO_LOGON_SESSION = 3,  /* nobody was logged on */
        VPCCTL_EXIT_VM_NOT_RUNNING = 4,
        VPCCTL_EXIT_NO_GUEST_AGENT = 5,    /* AdditionsFeatureNotAvailable */
        VPCCTL_EXIT_UNKNOWN = 6,           /* no such VM or task */
        VPCCTL_EXIT_CANCELLED = 7,
        VPCCTL_EXIT_TIMEOUT = 8,           /* the service's Timeout */
        VPCCTL_EXIT_STILL_RUNNING = 9,     /* vpcctl's own --timeout passed */
        VPCCTL_EXIT_ACCESS_DENIED = 10,
        VPCCTL_EXIT_UNREACHABLE = 11,      /* no bus, or no org.vpc on it */
} VpcctlExit;

typedef struct Settings {
        bool json;
        bool quiet;
        bool wait;
        bool ask_password;
        bool all;
        bool legend;
        uint64_t timeout_usec;          /* 0: none */
        const char *host;
        const char *address;
        const char *console_disconnect; /* set-policy --console-disconnect */
        int64_t delay_sec;              /* set-policy --delay; -1: keep the VM's */
        const char *message;            /* logoff --message (LogoffWithOptions' Message) */
        int64_t grace_sec;              /* logoff --grace; -1: none given */
} Settings;

extern Settings arg;

typedef struct Guest {
        char *path;
        char *name;
        char *uuid;
        char *state;
        /* The console-disconnect policy; has_console is false with a service that lacks it. */
        bool has_console;
        char *console_policy;
        char *console_message;          /* "" or NULL: none */
        uint32_t console_delay_sec;
        uint32_t console_clients;
        bool agent_connected;
        char *os_name;
} Guest;

/* One entry of GuestOS.ListUsers(). */
typedef struct GuestUser {
        char *user;
        char *domain;
        uint64_t login_usec;
} GuestUser;

/* An org.vpc.Task object as vpcctl read it (the service's own task is service/task.h's Task). */
typedef struct TaskRecord {
        char *path;
        char *description;
        char *target;
        uint32_t owner;
        bool complete;
        uint32_t percent;
        uint32_t error_code;
        char *error_name;
        char *error_message;
        uint64_t started_usec;
        uint64_t finished_usec;
} TaskRecord;

typedef struct Inventory {
        Guest *guests;
        size_t n_guests;
        TaskRecord *tasks;
        size_t n_tasks;
} Inventory;

/* vpcctl-objects.c: reading org.vpc's objects. */
int inventory_read(sd_bus *bus, Inventory *ret, sd_bus_error *error);
void inventory_done(Inventory *inv);
const Guest *inventory_guest(const Inventory *inv, const char *path);
int task_read(sd_bus *bus, const char *path, TaskRecord *t, sd_bus_error *error);
int guest_read(sd_bus *bus, const char *path, Guest *g, sd_bus_error *error);
/* Reads an a{sv} of org.vpc.GuestOS into g, or of org.vpc.Task into t. */
int properties_read(sd_bus_message *m, Guest *g, TaskRecord *t);
/* Reads one object of GetManagedObjects or InterfacesAdded (o a{sa{sv}}): f gets each interface
 * with m at its a{sv}, reads it and returns 1, or returns 0 to have it skipped (< 0: an error). */
typedef int (*ObjectInterfaceFunc)(sd_bus_message *m, const char *path, const char *iface, void *userdata);
int object_interfaces_read(sd_bus_message *m, ObjectInterfaceFunc f, void *userdata);
void task_done(TaskRecord *t);
void guest_done(Guest *g);
json_object *guest_to_json(const Guest *g);
json_object *task_to_json(const TaskRecord *t, const char *target_name);
char *task_path_from_arg(const char *s);


/* vpcctl-users.c: GuestOS.ListUsers(); interactive: polkit may ask for a password. */
int guest_users_read(sd_bus *bus, const char *path, bool interactive, GuestUser **ret, size_t *ret_n,
                     sd_bus_error *error);
void guest_users_free(GuestUser *users, size_t n);
json_object *guest_users_to_json(const GuestUser *users, size_t n);
/* status's Agent, OS and Users lines (ListUsers without a password prompt; a failure is a line). */
void guest_status_print(sd_bus *bus, const Guest *g);

/* vpcctl-escape.c: service text made safe for a terminal (controls, invalid UTF-8, bidi overrides
 * escaped); a new string, NULL only without memory. Text output only: --json stays exact. */
char *display_escape(const char *s);
/* vpcctl-escape.c too: the display width by code points (good enough for names in a table, and
 * locale-independent); status's "     State: " label, right-aligned whatever its language, "" for a
 * continuation line. */
size_t utf8_width(const char *s);
void print_status_label(const char *label);

/* vpcctl-errors.c: error classes, exit statuses and how failures are shown. */
int exit_status_from_error_name(const char *name);
uint32_t hresult_from_error_name(const char *name);
int exit_status_worse(int a, int b);
int exit_status_from_errno(int r);
char *error_text(const char *name, const char *message);
void print_failure(const char *what, const char *name, const char *message);
int report_bus_error(const char *what, const sd_bus_error *e, int r);
/* strerror() in English whatever the locale: for messages that --json prints, which stay English
 * like the service's. */
const char *strerror_english(int r);
void json_print(json_object *o);
json_object *json_hresult(uint32_t h);

/* vpcctl-polkit-agent.c: pkttyagent for interactive authorization. */
void polkit_agent_open_if_enabled(void);
void polkit_agent_close(void);

/* The verbs. Each returns an exit status. */
int verb_list(sd_bus *bus, int argc, char **argv);
int verb_status(sd_bus *bus, int argc, char **argv);
int verb_tasks(sd_bus *bus, int argc, char **argv);
int verb_logoff(sd_bus *bus, int argc, char **argv);
int verb_lock(sd_bus *bus, int argc, char **argv);
int verb_wait(sd_bus *bus, int argc, char **argv);
int verb_cancel(sd_bus *bus, int argc, char **argv);
int verb_monitor(sd_bus *bus, int argc, char **argv);
int verb_set_policy(sd_bus *bus, int argc, char **argv);
int verb_users(sd_bus *bus, int argc, char **argv);
