/* How vpcctl turns D-Bus errors into exit statuses and words: every failure shows the HRESULT and
 * the D-Bus error name, with the service's message as received (busctl drops AccessDenied's). */
#include <errno.h>
#include <locale.h>
#include <stdio.h>
#include <string.h>

#include "errors.h"
#include "vpcctl.h"

/* What vpcctl does with each outcome of the service's own error table (service/errors.table, the
 * one table of names and HRESULTs): the exit status of vpcctl(1) comes with the table
 * (service_exit_statuses), the hint shown once is vpcctl's. */
typedef struct ErrorClass {
        int exit_status;
        const char *hint;
} ErrorClass;

#include "vpcctl-error-exits.h"

static const char *const service_error_hints[_VPC_ERROR_MAX] = {
        [VPC_ERROR_ACCESS_DENIED] =
          N_("polkit did not allow this (actions org.vpc.guestos.logoff, org.vpc.task.cancel); see vpcctl(1), AUTHORIZATION"),
        [VPC_ERROR_INTERACTIVE_AUTHORIZATION_REQUIRED] =
          N_("authentication is needed: run vpcctl on a terminal without --no-ask-password"),
        [VPC_ERROR_TIMEOUT] = N_("the guest agent or the guest did not answer in time"),
        [VPC_ERROR_ADDITIONS_FEATURE_NOT_AVAILABLE] =
          N_("the guest needs the QEMU guest agent (qemu-ga) running and an org.qemu.guest_agent.0 channel"),
        [VPC_ERROR_VM_UNKNOWN] = N_("'vpcctl list' shows the VMs"),
};

/* The bus's own errors a client meets, which the service never sends (no HRESULT). */
typedef struct BusErrorClass {
        const char *name;
        ErrorClass class;
} BusErrorClass;

#define HINT_NOT_RUNNING N_("is vpc-guestosd running? (systemctl status vpc-guestosd)")

static const BusErrorClass bus_error_classes[] = {
        { "org.freedesktop.DBus.Error.UnknownObject", { VPCCTL_EXIT_UNKNOWN,
          N_("'vpcctl tasks' shows the tasks; finished ones go after the service's --task-retention") } },
        { "org.freedesktop.DBus.Error.UnknownInterface", { VPCCTL_EXIT_UNKNOWN, NULL } },
        { "org.freedesktop.DBus.Error.ServiceUnknown", { VPCCTL_EXIT_UNREACHABLE, HINT_NOT_RUNNING } },
        { "org.freedesktop.DBus.Error.NameHasNoOwner", { VPCCTL_EXIT_UNREACHABLE, HINT_NOT_RUNNING } },
        { "org.freedesktop.DBus.Error.NoReply", { VPCCTL_EXIT_UNREACHABLE, NULL } },
        { "org.freedesktop.DBus.Error.Disconnected", { VPCCTL_EXIT_UNREACHABLE, NULL } },
        { "org.freedesktop.DBus.Error.NoServer", { VPCCTL_EXIT_UNREACHABLE, NULL } },
        { "org.freedesktop.DBus.Error.FileNotFound", { VPCCTL_EXIT_UNREACHABLE, NULL } },
};

static int errno_from_system_error(const char *name) {
        static const struct { const char *name; int e; } names[] = {
                { "ENOENT", ENOENT }, { "ECONNREFUSED", ECONNREFUSED }, { "ECONNRESET", ECONNRESET },
                { "ENOTCONN", ENOTCONN }, { "EHOSTUNREACH", EHOSTUNREACH }, { "ENETUNREACH", ENETUNREACH },
                { "ETIMEDOUT", ETIMEDOUT }, { "EPIPE", EPIPE }, { "ENXIO", ENXIO }, { "EACCES", EACCES },
                { "EPERM", EPERM },
        };
        const char *n = name + strlen("System.Error.");
        for (size_t i = 0; i < ELEMENTSOF(names); i++)
                if (streq_ptr(names[i].name, n))
                        return names[i].e;
        return 0;
}

static bool error_class(const char *name, ErrorClass *ret) {
        VpcError e;

        if (!name)
                return false;
        if (vpc_error_lookup(name, &e)) {
                *ret = (ErrorClass) { service_exit_statuses[e], service_error_hints[e] };
                return true;
        }
        for (size_t i = 0; i < ELEMENTSOF(bus_error_classes); i++)
                if (streq_ptr(bus_error_classes[i].name, name)) {
                        *ret = bus_error_classes[i].class;
                        return true;
                }
        return false;
}

/* sd-bus names errors of its own (a dead SSH transport, a refused socket) System.Error.E<NAME>. */
static bool startswith_system_error(const char *name) {
        return strncmp(name, "System.Error.", strlen("System.Error.")) == 0;
}

int exit_status_from_error_name(const char *name) {
        ErrorClass c;

        if (!name || !*name)
                return VPCCTL_EXIT_OK;
        if (startswith_system_error(name)) {
                int e = errno_from_system_error(name);
                return e > 0 ? exit_status_from_errno(-e) : VPCCTL_EXIT_FAILED;
        }
        return error_class(name, &c) ? c.exit_status : VPCCTL_EXIT_FAILED;
}

uint32_t hresult_from_error_name(const char *name) {
        VpcError e;

        return vpc_error_lookup(name, &e) ? vpc_error_hresult(e) : 0;
}

/* With several VMs vpcctl exits with the worst outcome: unreachable, then unexpected failures, then
 * the others by number (a denial outranks a timeout outranks "nobody was logged on"). */
static int exit_status_rank(int s) {
        if (s == VPCCTL_EXIT_UNREACHABLE)
                return 1000;
        if (s == VPCCTL_EXIT_FAILED || s == VPCCTL_EXIT_USAGE)
                return 999;
        return s;
}

int exit_status_worse(int a, int b) {
        return exit_status_rank(b) > exit_status_rank(a) ? b : a;
}

int exit_status_from_errno(int r) {
        switch (-r) {
        case ENOENT: case ECONNREFUSED: case ECONNRESET: case ENOTCONN: case EHOSTDOWN:
        case EHOSTUNREACH: case ENETUNREACH: case ETIMEDOUT: case EPIPE: case ENXIO:
        case ESRCH: case ECHILD:
                return VPCCTL_EXIT_UNREACHABLE;
        case EACCES: case EPERM:
                return VPCCTL_EXIT_ACCESS_DENIED;
        default:
                return VPCCTL_EXIT_FAILED;
        }
}

/* "0xHHHHHHHH: message [error.Name]": the service's messages already start with the HRESULT; for the
 * bus's own errors vpcctl adds the table's HRESULT when there is one. */
char *error_text(const char *name, const char *message) {
        uint32_t h = hresult_from_error_name(name);
        char *s = NULL;
        int r;

        message = message && *message ? message : _("(no message)");
        if (h != 0 && strncmp(message, "0x", 2) != 0)
                r = asprintf(&s, "0x%08X: %s [%s]", h, message, strempty(name));
        else
                r = asprintf(&s, "%s [%s]", message, strempty(name));
        return r < 0 ? NULL : s;
}

static bool hint_seen(const char *hint) {
        static const char *shown[ELEMENTSOF(service_error_hints) + ELEMENTSOF(bus_error_classes)];
        size_t i;

        for (i = 0; i < ELEMENTSOF(shown) && shown[i]; i++)
                if (streq_ptr(shown[i], hint))
                        return true;
        if (i < ELEMENTSOF(shown))
                shown[i] = hint;
        return false;
}

void print_failure(const char *what, const char *name, const char *message) {
        ErrorClass c;
        _cleanup_free_ char *text = error_text(name, message);
        _cleanup_free_ char *what_shown = display_escape(what), *text_shown = display_escape(text ?: message);

        fprintf(stderr, "vpcctl: %s: %s\n", strempty(what_shown), strempty(text_shown));
        /* Each hint once per run: --all may fail the same way on many VMs. */
        if (error_class(name, &c) && c.hint && !arg.quiet && !hint_seen(c.hint))
                fprintf(stderr, _("vpcctl: hint: %s\n"), _(c.hint));
}

const char *strerror_english(int r) {
        static locale_t c_locale = (locale_t) 0;

        if (c_locale == (locale_t) 0)
                c_locale = newlocale(LC_ALL_MASK, "C", (locale_t) 0);
        return c_locale != (locale_t) 0 ? strerror_l(r < 0 ? -r : r, c_locale) : strerror(r < 0 ? -r : r);
}

json_object *json_hresult(uint32_t h) {
        char buf[16];

        snprintf(buf, sizeof buf, "0x%08X", h);
        return json_object_new_string(buf);
}

void json_print(json_object *o) {
        puts(json_object_to_json_string_ext(o, JSON_C_TO_STRING_PLAIN | JSON_C_TO_STRING_NOSLASHESCAPE));
        fflush(stdout);
}

/* Reports a failed call or connection (stderr, and a JSON error object with --json), and returns
 * the exit status of its class. */
int report_bus_error(const char *what, const sd_bus_error *e, int r) {
        const char *name = e && sd_bus_error_is_set(e) ? e->name : NULL;
        const char *message = e && sd_bus_error_is_set(e) ? e->message : NULL;
        int status = name && !startswith_system_error(name) ? exit_status_from_error_name(name) : exit_status_from_errno(r);
        _cleanup_free_ char *errno_text = NULL;

        if (!name && asprintf(&errno_text, "%s", strerror(r < 0 ? -r : r)) < 0)
                errno_text = NULL;
        if (name)
                print_failure(what, name, message);
        else {
                _cleanup_free_ char *what_shown = display_escape(what);
                fprintf(stderr, "vpcctl: %s: %s\n", strempty(what_shown), strempty(errno_text));
        }
        if ((!name || startswith_system_error(name)) && status == VPCCTL_EXIT_UNREACHABLE && !arg.quiet)
                fprintf(stderr, _("vpcctl: hint: %s\n"), arg.host ?
                        _("check that 'ssh HOST systemd-stdio-bridge' works, and that vpc-guestosd runs there") :
                        _("is the bus there, and vpc-guestosd running? (systemctl status vpc-guestosd)"));

        if (arg.json) {
                json_object *o = json_object_new_object();
                uint32_t h = hresult_from_error_name(name);

                json_object_object_add(o, "error_name", json_object_new_string(name ?: ""));
                json_object_object_add(o, "error_code", json_object_new_int64(h));
                json_object_object_add(o, "hresult", json_hresult(h));
                json_object_object_add(o, "error_message",
                                       json_object_new_string(name ? strempty(message) : strerror_english(r)));
                json_object_object_add(o, "exit_status", json_object_new_int(status));
                json_object *top = json_object_new_object();
                json_object_object_add(top, "error", o);
                json_print(top);
                json_object_put(top);
        }
        return status;
}
