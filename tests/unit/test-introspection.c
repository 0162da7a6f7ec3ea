/* the introspection/ XML files is the interface contract; this proves the daemon's vtables say exactly the
 * same. sd-bus introspects the real vtables over a socketpair (no bus daemon needed), and each
 * <interface> element is compared with the file's, whitespace and comments aside. The integration
 * suite compares the running daemon's Introspect as well. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>
#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <sys/socket.h>

#include "manager-dbus.h"
#include "task-dbus.h"
#include "guestos.h"

static sd_bus *server;
static volatile int server_stop;

static void *server_main(void *p) {
        while (!server_stop) {
                int r = sd_bus_process(server, NULL);
                if (r < 0)
                        break;
                if (r == 0)
                        (void) sd_bus_wait(server, 50 * 1000);
        }
        return NULL;
}

static char *read_file(const char *path) {
        FILE *f = fopen(path, "re");
        char *s = NULL;
        size_t n = 0;

        assert_non_null(f);
        assert_true(getdelim(&s, &n, 0, f) > 0);
        fclose(f);
        return s;
}

/* The files' Qt type names for qdbusxml2cpp: an sd-bus vtable can only carry the annotations its
 * flags stand for, so the live XML never has them. */
#define QT_ANNOTATION "<annotation name=\"org.qtproject."

/* Drops comments, Qt annotations and the white space between tags, so only the structure is
 * compared. */
static char *normalize(const char *xml) {
        char *out = calloc(strlen(xml) + 1, 1), *o = out;
        const char *p = xml;

        assert_non_null(out);
        while (*p) {
                if (strncmp(p, "<!--", 4) == 0) {
                        const char *end = strstr(p, "-->");
                        assert_non_null(end);
                        p = end + 3;
                        continue;
                }
                if (strncmp(p, QT_ANNOTATION, strlen(QT_ANNOTATION)) == 0) {
                        const char *end = strstr(p, "/>");
                        assert_non_null(end);
                        p = end + 2;
                        continue;
                }
                if (*p == '\n' || *p == ' ' || *p == '\t') {
                        const char *q = p;
                        while (*q == '\n' || *q == ' ' || *q == '\t')
                                q++;
                        /* Keep a single space inside a tag, drop it between tags. */
                        if (o > out && o[-1] != '>' && *q != '<' && *q != '/' && *q != '>')
                                *o++ = ' ';
                        p = q;
                        continue;
                }
                *o++ = *p++;
        }
        return out;
}

static char *extract_interface(const char *xml, const char *name) {
        char open_tag[128];
        const char *start, *end;

        snprintf(open_tag, sizeof(open_tag), "<interface name=\"%s\">", name);
        start = strstr(xml, open_tag);
        if (!start)
                return NULL;
        end = strstr(start, "</interface>");
        assert_non_null(end);
        return strndup(start, (size_t) (end - start) + strlen("</interface>"));
}

static void compare(sd_bus *client, const char *path, const char *interface, const char *file) {
        sd_bus_error error = SD_BUS_ERROR_NULL;
        sd_bus_message *reply = NULL;
        const char *live;
        char *file_path, *file_xml, *live_iface, *file_iface, *a, *b;

        assert_int_equal(sd_bus_call_method(client, NULL, path, "org.freedesktop.DBus.Introspectable", "Introspect",
                                            &error, &reply, ""), 1);
        assert_int_equal(sd_bus_message_read(reply, "s", &live), 1);

        assert_true(asprintf(&file_path, "%s/%s", INTROSPECTION_DIR, file) > 0);
        file_xml = read_file(file_path);

        a = normalize(live);
        b = normalize(file_xml);
        live_iface = extract_interface(a, interface);
        file_iface = extract_interface(b, interface);
        assert_non_null(live_iface);
        if (!file_iface)
                fail_msg("%s has no <interface name=\"%s\">", file, interface);
        if (strcmp(live_iface, file_iface) != 0) {
                size_t at = 0;

                while (live_iface[at] == file_iface[at])
                        at++;
                at = at > 40 ? at - 40 : 0;
                fail_msg("%s differs from the live %s:\nlive: ...%.160s\nfile: ...%.160s", file, interface,
                         live_iface + at, file_iface + at);
        }

        free(a), free(b), free(live_iface), free(file_iface), free(file_xml), free(file_path);
        sd_bus_message_unref(reply);
}

static void test_interfaces_match_files(void **state) {
        Manager m = {};
        Domain d = {};
        Task t = {};
        sd_bus *client = NULL;
        sd_id128_t id;
        pthread_t thread;
        int fds[2];

        assert_int_equal(socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, fds), 0);
        assert_int_equal(sd_id128_randomize(&id), 0);

        assert_int_equal(sd_bus_new(&server), 0);
        assert_int_equal(sd_bus_set_fd(server, fds[0], fds[0]), 0);
        assert_int_equal(sd_bus_set_server(server, 1, id), 0);
        assert_int_equal(sd_bus_set_anonymous(server, 1), 0);
        assert_int_equal(sd_bus_start(server), 0);
        assert_true(sd_bus_add_object_vtable(server, NULL, "/org/vpc", "org.vpc.Manager", manager_vtable, &m) >= 0);
        assert_true(sd_bus_add_object_vtable(server, NULL, "/org/vpc/GuestOS/vm", "org.vpc.GuestOS", guestos_vtable, &d) >= 0);
        assert_true(sd_bus_add_object_vtable(server, NULL, "/org/vpc/Task/1", "org.vpc.Task", task_vtable, &t) >= 0);
        assert_int_equal(pthread_create(&thread, NULL, server_main, NULL), 0);

        assert_int_equal(sd_bus_new(&client), 0);
        assert_int_equal(sd_bus_set_fd(client, fds[1], fds[1]), 0);
        assert_int_equal(sd_bus_set_anonymous(client, 1), 0);
        assert_int_equal(sd_bus_start(client), 0);

        compare(client, "/org/vpc", "org.vpc.Manager", "org.vpc.Manager.xml");
        compare(client, "/org/vpc/GuestOS/vm", "org.vpc.GuestOS", "org.vpc.GuestOS.xml");
        compare(client, "/org/vpc/Task/1", "org.vpc.Task", "org.vpc.Task.xml");

        server_stop = 1;
        pthread_join(thread, NULL);
        sd_bus_flush_close_unref(client);
        sd_bus_flush_close_unref(server);
}

int main(void) {
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(test_interfaces_match_files),
        };
        return cmocka_run_group_tests(tests, NULL, NULL);
}
