/* Who is logged on in a VM's guest: `vpcctl users VM` (a table, -q names only, --json), and the
 * Agent/OS/Users lines of `vpcctl status`, from GuestOS.ListUsers(), AgentConnected and OSName. */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "vpcctl.h"

void guest_users_free(GuestUser *users, size_t n) {
        for (size_t i = 0; users && i < n; i++) {
                free(users[i].user);
                free(users[i].domain);
        }
        free(users);
}

int guest_users_read(sd_bus *bus, const char *path, bool interactive, GuestUser **ret, size_t *ret_n,
                     sd_bus_error *error) {
        _cleanup_(sd_bus_message_unrefp) sd_bus_message *call = NULL, *reply = NULL;
        GuestUser *users = NULL;
        size_t n = 0;
        const char *user, *domain;
        uint64_t login;
        int r;

        r = sd_bus_message_new_method_call(bus, &call, VPC_BUS_NAME, path, "org.vpc.GuestOS", "ListUsers");
        if (r < 0)
                return r;
        /* status must not ask for a password to show a line; `users` may, like logoff. */
        r = sd_bus_message_set_allow_interactive_authorization(call, interactive);
        if (r < 0)
                return r;
        r = sd_bus_call(bus, call, 0, error, &reply);
        if (r < 0)
                return r;
        r = sd_bus_message_enter_container(reply, 'a', "(sst)");
        while (r >= 0 && (r = sd_bus_message_read(reply, "(sst)", &user, &domain, &login)) > 0) {
                GuestUser *grown = realloc(users, (n + 1) * sizeof(GuestUser));
                if (!grown) {
                        r = -ENOMEM;
                        break;
                }
                users = grown;
                users[n] = (GuestUser) { .user = strdup(user), .domain = strdup(domain), .login_usec = login };
                if (!users[n].user || !users[n].domain)
                        r = -ENOMEM;
                n++;
        }
        if (r >= 0)
                r = sd_bus_message_exit_container(reply);
        if (r < 0) {
                guest_users_free(users, n);
                return r;
        }
        *ret = users;
        *ret_n = n;
        return 0;
}

/* "2026-12-01 21:30:05 UTC" in the local time zone, "-" when the guest gave none. */
static const char *format_login(uint64_t usec, char *buf, size_t size) {
        time_t t = (time_t) (usec / USEC_PER_SEC);
        struct tm tm;

        if (usec == 0 || !localtime_r(&t, &tm) || strftime(buf, size, "%Y-%m-%d %H:%M:%S %Z", &tm) == 0)
                return "-";
        return buf;
}

/* DOMAIN\user for a Windows session with a domain, else the user. */
static char *user_label(const GuestUser *u) {
        char *s;

        if (u->domain && *u->domain)
                return asprintf(&s, "%s\\%s", u->domain, u->user) < 0 ? NULL : s;
        return strdup(strempty(u->user));
}

json_object *guest_users_to_json(const GuestUser *users, size_t n) {
        json_object *a = json_object_new_array();

        for (size_t i = 0; i < n; i++) {
                json_object *o = json_object_new_object();
                json_object_object_add(o, "user", json_object_new_string(strempty(users[i].user)));
                json_object_object_add(o, "domain", json_object_new_string(strempty(users[i].domain)));
                json_object_object_add(o, "login_usec", json_object_new_int64((int64_t) users[i].login_usec));
                json_object_array_add(a, o);
        }
        return a;
}

void guest_status_print(sd_bus *bus, const Guest *g) {
        _cleanup_(sd_bus_error_free) sd_bus_error error = SD_BUS_ERROR_NULL;
        _cleanup_free_ char *os = display_escape(g->os_name);
        GuestUser *users = NULL;
        size_t n = 0;
        char when[64];
        int r;

        print_status_label(_("Agent"));
        puts(g->agent_connected ? _("connected") : _("not connected"));
        /* TRANSLATORS: the guest's operating system, a label of status. */
        print_status_label(_("OS"));
        puts(os && *os ? os : "-");
        if (!g->agent_connected) {
                print_status_label(_("Users"));
                puts("-");
                return;
        }
        r = guest_users_read(bus, g->path, false, &users, &n, &error);
        if (r < 0) {
                /* A line of the status, not its failure: say why, keep the exit status. */
                _cleanup_free_ char *text = error_text(error.name, error.message), *shown = display_escape(text);
                print_status_label(_("Users"));
                printf(_("unknown (%s)\n"), strempty(shown));
                return;
        }
        for (size_t i = 0; i < n; i++) {
                _cleanup_free_ char *label = user_label(&users[i]), *shown = display_escape(label);
                print_status_label(i == 0 ? _("Users") : "");
                /* TRANSLATORS: a user and the time of their logon. */
                printf(_("%s since %s\n"), strempty(shown), format_login(users[i].login_usec, when, sizeof(when)));
        }
        if (n == 0) {
                print_status_label(_("Users"));
                puts(C_("users", "none"));
        }
        guest_users_free(users, n);
}

int verb_users(sd_bus *bus, int argc, char **argv) {
        _cleanup_(sd_bus_error_free) sd_bus_error error = SD_BUS_ERROR_NULL;
        _cleanup_(sd_bus_message_unrefp) sd_bus_message *reply = NULL;
        _cleanup_free_ char *what = NULL;
        GuestUser *users = NULL;
        const char *path;
        size_t n = 0;
        char when[64];
        int r;

        if (argc != 2) {
                fputs(_("vpcctl: users takes one VM name or UUID\n"), stderr);
                return VPCCTL_EXIT_USAGE;
        }
        if (asprintf(&what, _("cannot list the users of '%s'"), argv[1]) < 0)
                return VPCCTL_EXIT_FAILED;
        r = sd_bus_call_method(bus, VPC_BUS_NAME, VPC_MANAGER_PATH, "org.vpc.Manager", "GetGuestOS",
                               &error, &reply, "s", argv[1]);
        if (r >= 0)
                r = sd_bus_message_read(reply, "o", &path);
        if (r < 0)
                return report_bus_error(what, &error, r);

        polkit_agent_open_if_enabled();
        r = guest_users_read(bus, path, arg.ask_password, &users, &n, &error);
        polkit_agent_close();
        if (r < 0)
                return report_bus_error(what, &error, r);

        if (arg.json) {
                json_object *a = guest_users_to_json(users, n);
                json_print(a);
                json_object_put(a);
        } else if (arg.quiet) {
                for (size_t i = 0; i < n; i++) {
                        _cleanup_free_ char *label = user_label(&users[i]), *shown = display_escape(label);
                        puts(strempty(shown));
                }
        } else {
                /* TRANSLATORS: the column headers of users. */
                const char *h_user = _("USER"), *h_login = _("LOGIN");
                size_t width = utf8_width(h_user);
                for (size_t i = 0; i < n; i++) {
                        _cleanup_free_ char *label = user_label(&users[i]), *shown = display_escape(label);
                        size_t w = utf8_width(strempty(shown));
                        width = w > width ? w : width;
                }
                if (arg.legend)
                        printf("%s%*s  %s\n", h_user, (int) (width - utf8_width(h_user)), "", h_login);
                for (size_t i = 0; i < n; i++) {
                        _cleanup_free_ char *label = user_label(&users[i]), *shown = display_escape(label);
                        fputs(strempty(shown), stdout);
                        for (size_t w = utf8_width(strempty(shown)); w < width + 2; w++)
                                putchar(' ');
                        puts(format_login(users[i].login_usec, when, sizeof(when)));
                }
                if (arg.legend)
                        printf(ngettext("\n%zu user logged on.\n", "\n%zu users logged on.\n", n), n);
        }
        guest_users_free(users, n);
        return VPCCTL_EXIT_OK;
}
