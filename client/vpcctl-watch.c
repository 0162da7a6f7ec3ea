/* Following tasks to their end for logoff, wait and cancel: one item per VM or task, a progress bar
 * each on a terminal (redrawn in place) or plain progress lines otherwise, JSON at the end, and the
 * worst outcome as the exit status. Signals say when to look again; properties say what is true. */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/ioctl.h>
#include <time.h>
#include <unistd.h>

#include "vpcctl-watch.h"

void watch_done(Watch *w) {
        for (size_t i = 0; i < w->n; i++) {
                free(w->items[i].label);
                free(w->items[i].guest);
                free(w->items[i].error_name);
                free(w->items[i].error_message);
                task_done(&w->items[i].task);
        }
        free(w->items);
        *w = (Watch) {};
}

Item *watch_add(Watch *w, const char *label) {
        Item *n = realloc(w->items, (w->n + 1) * sizeof(Item));
        if (!n)
                return NULL;
        w->items = n;
        n = &w->items[w->n++];
        *n = (Item) { .label = strdup(label) };
        return n;
}

static void item_fail(Item *it, const char *name, const char *message) {
        free(it->error_name);
        free(it->error_message);
        it->error_name = strdup(name ?: "org.vpc.Error.Exception");
        it->error_message = strdup(strempty(message));
}

void item_fail_bus(Item *it, const sd_bus_error *e, int r) {
        if (sd_bus_error_is_set(e))
                item_fail(it, e->name, e->message);
        else
                item_fail(it, exit_status_from_errno(r) == VPCCTL_EXIT_UNREACHABLE ?
                          "org.freedesktop.DBus.Error.Disconnected" : "org.vpc.Error.Exception", strerror_english(r));
}

static bool item_pending(const Item *it) {
        return it->task.path && !it->task.complete && !it->error_name;
}

const char *item_error_name(const Item *it) {
        if (it->error_name)
                return it->error_name;
        if (it->task.complete && it->task.error_name && *it->task.error_name)
                return it->task.error_name;
        return NULL;
}

static const char *item_error_message(const Item *it) {
        return it->error_name ? it->error_message : it->task.error_message;
}

static int item_status(const Item *it) {
        if (item_error_name(it))
                return exit_status_from_error_name(item_error_name(it));
        if (it->task.path && !it->task.complete)
                return VPCCTL_EXIT_STILL_RUNNING;
        return VPCCTL_EXIT_OK;
}

static int watch_status(const Watch *w) {
        int s = VPCCTL_EXIT_OK;
        for (size_t i = 0; i < w->n; i++)
                s = exit_status_worse(s, item_status(&w->items[i]));
        return s;
}

static unsigned terminal_columns(void) {
        struct winsize ws = {};
        if (ioctl(STDOUT_FILENO, TIOCGWINSZ, &ws) < 0 || ws.ws_col < 20)
                return 80;
        return ws.ws_col;
}

static const char *success_words(const Item *it) {
        if (streq_ptr(it->task.description, "Lock"))
                return _("locked");
        return streq_ptr(it->task.description, "Logoff") ? _("logged off") : _("done");
}

/* One line for an item: its bar while running, its outcome when done. */
static char *item_line(const Item *it, size_t label_width, unsigned columns, bool final) {
        _cleanup_free_ char *label = NULL, *text = NULL, *raw = NULL, *shown = display_escape(it->label);
        char *line = NULL;
        size_t w = utf8_width(strempty(shown)), pad = label_width > w ? label_width - w : 0;
        int r;

        if (asprintf(&label, "%s%*s", strempty(shown), (int) pad, "") < 0)
                return NULL;
        if (item_error_name(it)) {
                raw = error_text(item_error_name(it), item_error_message(it));
                text = display_escape(raw);
                r = asprintf(&line, "%s  %s: %s", label,
                             streq_ptr(item_error_name(it), "org.vpc.Error.Cancelled") ? _("cancelled") : _("failed"),
                             strempty(text));
        } else if (it->task.complete)
                r = asprintf(&line, "%s  %s (%s)", label, success_words(it), it->task.path);
        else if (!it->task.path)
                r = asprintf(&line, _("%s  starting"), label);
        else if (final)
                r = asprintf(&line, _("%s  still running at %u%%: %s (vpcctl wait %s)"), label, it->task.percent,
                             it->task.path, it->task.path + strlen(VPC_TASK_PREFIX));
        else {
                char bar[64];
                unsigned width = columns > label_width + 30 ? columns - (unsigned) label_width - 30 : 10;
                width = width > 40 ? 40 : width;
                unsigned filled = it->task.percent * width / 100;
                for (unsigned i = 0; i < width; i++)
                        bar[i] = i < filled ? '#' : '-';
                bar[width] = 0;
                r = asprintf(&line, "%s  [%s] %3u%%  %s", label, bar, it->task.percent, it->task.path);
        }
        if (r < 0)
                return NULL;
        /* While lines are redrawn in place none may wrap, or the cursor arithmetic breaks. */
        if (!final) {
                size_t n = 0;
                for (char *p = line; *p; p++)
                        if ((((unsigned char) *p & 0xC0) != 0x80) && ++n >= columns) {
                                *p = 0;
                                break;
                        }
        }
        return line;
}

static void render_bars(Watch *w, bool final) {
        unsigned columns = terminal_columns();
        size_t lw = 0;

        for (size_t i = 0; i < w->n; i++) {
                _cleanup_free_ char *shown = display_escape(w->items[i].label);
                size_t width = utf8_width(strempty(shown));
                lw = width > lw ? width : lw;
        }
        /* Back to the first line; the final lines may wrap, so clear all below before them. */
        if (w->lines_drawn > 0)
                printf("\033[%uA%s", w->lines_drawn, final ? "\r\033[J" : "");
        for (size_t i = 0; i < w->n; i++) {
                _cleanup_free_ char *line = item_line(&w->items[i], lw, columns, final);
                printf("\r\033[K%s\n", strempty(line));
        }
        w->lines_drawn = w->n;
        fflush(stdout);
}

/* Plain lines for logs and pipes: one when a task starts, one per progress step, one at the end
 * (failures on stderr with the HRESULT and the error name). */
static void render_plain(Watch *w, bool final) {
        for (size_t i = 0; i < w->n; i++) {
                Item *it = &w->items[i];
                _cleanup_free_ char *label = display_escape(it->label);

                if (it->reported)
                        continue;
                if (it->task.path && !it->announced && !arg.quiet && !arg.json) {
                        printf(_("%s: task %s\n"), strempty(label), it->task.path);
                        it->announced = true;
                }
                if (item_error_name(it)) {
                        if (!(arg.json && arg.quiet))
                                print_failure(it->label, item_error_name(it), item_error_message(it));
                        it->reported = true;
                } else if (it->task.complete) {
                        if (!arg.quiet && !arg.json)
                                printf(_("%s: %s (%s, 100%%)\n"), strempty(label), success_words(it), it->task.path);
                        it->reported = true;
                } else if (it->task.path && final) {
                        fprintf(stderr, _("vpcctl: %s: still running at %u%%: %s (vpcctl wait %s)\n"), strempty(label),
                                it->task.percent, it->task.path, it->task.path + strlen(VPC_TASK_PREFIX));
                        it->reported = true;
                } else if (it->task.path && it->task.percent != it->shown_percent && !arg.quiet && !arg.json) {
                        printf("%s: %u%%\n", strempty(label), it->task.percent);
                        it->shown_percent = it->task.percent;
                }
        }
        fflush(stdout);
}

static void render(Watch *w, bool final) {
        if (w->bars)
                render_bars(w, final);
        else
                render_plain(w, final);
}

static void print_json(const Watch *w, bool with_task) {
        json_object *top = json_object_new_object(), *a = json_object_new_array();

        for (size_t i = 0; i < w->n; i++) {
                const Item *it = &w->items[i];
                json_object *o = json_object_new_object();
                const char *name = item_error_name(it);
                uint32_t code = it->error_name ? hresult_from_error_name(name) : it->task.error_code;

                json_object_object_add(o, "vm", json_object_new_string(it->label));
                json_object_object_add(o, "guest", it->guest ? json_object_new_string(it->guest) : NULL);
                json_object_object_add(o, "task", it->task.path ? json_object_new_string(it->task.path) : NULL);
                json_object_object_add(o, "complete", json_object_new_boolean(it->task.complete || it->error_name));
                json_object_object_add(o, "percent", json_object_new_int(it->task.percent));
                json_object_object_add(o, "error_code", json_object_new_int64(code));
                json_object_object_add(o, "hresult", json_hresult(code));
                json_object_object_add(o, "error_name", json_object_new_string(strempty(name)));
                json_object_object_add(o, "error_message", json_object_new_string(name ? strempty(item_error_message(it)) : ""));
                json_object_object_add(o, "exit_status", json_object_new_int(item_status(it)));
                if (with_task && it->task.path)
                        json_object_object_add(o, "details", task_to_json(&it->task, it->label));
                json_object_array_add(a, o);
        }
        json_object_object_add(top, "results", a);
        json_object_object_add(top, "exit_status", json_object_new_int(watch_status(w)));
        json_print(top);
        json_object_put(top);
}

static int on_task_signal(sd_bus_message *m, void *userdata, sd_bus_error *ret_error) {
        Watch *w = userdata;
        const char *path = sd_bus_message_get_path(m);

        for (size_t i = 0; i < w->n; i++)
                if (streq_ptr(w->items[i].task.path, path))
                        w->dirty = true;
        return 0;
}

/* The name has no owner (or lost it during the call): the service is restarting, or stopped. */
static bool service_gone(const sd_bus_error *e) {
        return sd_bus_error_has_names(e, "org.freedesktop.DBus.Error.ServiceUnknown",
                                      "org.freedesktop.DBus.Error.NameHasNoOwner",
                                      "org.freedesktop.DBus.Error.NoReply");
}

/* How long a task is followed while org.vpc is away before it counts as not reachable. */
#define SERVICE_RETURN_USEC (30 * USEC_PER_SEC)

static bool service_gone_too_long(Item *it) {
        uint64_t now = now_usec(CLOCK_MONOTONIC);

        if (it->lost_usec == 0)
                it->lost_usec = now;
        return now - it->lost_usec >= SERVICE_RETURN_USEC;
}

/* Signals only say "look again"; the properties read from org.vpc itself are what counts, so a
 * signal from anyone else can at most cause an extra read. */
static void refresh(sd_bus *bus, Watch *w) {
        for (size_t i = 0; i < w->n; i++) {
                _cleanup_(sd_bus_error_free) sd_bus_error error = SD_BUS_ERROR_NULL;
                Item *it = &w->items[i];
                int r;

                if (!item_pending(it))
                        continue;
                r = task_read(bus, it->task.path, &it->task, &error);
                if (r >= 0)
                        it->lost_usec = 0;
                else if (service_gone(&error) && !service_gone_too_long(it)) {
                        /* A restart of the service: its tasks come back at the same paths. */
                        continue;
                } else {
                        _cleanup_free_ char *msg = NULL;
                        if (asprintf(&msg, "lost track of %s before it completed: %s", it->task.path,
                                     sd_bus_error_is_set(&error) ? error.message : strerror_english(r)) < 0)
                                msg = NULL;
                        item_fail(it, sd_bus_error_is_set(&error) ? error.name : "org.freedesktop.DBus.Error.Disconnected",
                                  msg);
                }
        }
        w->dirty = false;
}

static bool watch_pending(const Watch *w) {
        for (size_t i = 0; i < w->n; i++)
                if (item_pending(&w->items[i]))
                        return true;
        return false;
}

/* Follows every task until it ends or --timeout passes. A lost connection or a vanished task ends
 * that item with an error rather than waiting forever; a poll every second backs up the signals. */
static void watch_run(sd_bus *bus, Watch *w) {
        uint64_t deadline = arg.timeout_usec ? now_usec(CLOCK_MONOTONIC) + arg.timeout_usec : USEC_INFINITY;
        uint64_t next_poll = 0;

        refresh(bus, w);
        render(w, false);
        while (watch_pending(w)) {
                uint64_t now = now_usec(CLOCK_MONOTONIC);
                int r;

                if (now >= deadline)
                        break;
                r = sd_bus_process(bus, NULL);
                if (r < 0) {
                        for (size_t i = 0; i < w->n; i++)
                                if (item_pending(&w->items[i]))
                                        item_fail(&w->items[i], "org.freedesktop.DBus.Error.Disconnected",
                                                  "the bus connection was lost while waiting");
                        break;
                }
                if (r > 0)
                        continue;
                if (w->dirty || now >= next_poll) {
                        refresh(bus, w);
                        render(w, false);
                        next_poll = now + USEC_PER_SEC;
                        continue;
                }
                uint64_t until = next_poll < deadline ? next_poll : deadline;
                (void) sd_bus_wait(bus, until > now ? until - now : 0);
        }
        render(w, true);
}

static int on_name_owner_changed(sd_bus_message *m, void *userdata, sd_bus_error *ret_error) {
        /* org.vpc came back after a restart (or left): read the tasks again at once. */
        ((Watch *) userdata)->dirty = true;
        return 0;
}

int watch_subscribe(sd_bus *bus, Watch *w) {
        int r;

        /* Before any task exists, so no signal of a quick task is missed. */
        r = sd_bus_add_match(bus, NULL, "type='signal',path_namespace='/org/vpc/Task'", on_task_signal, w);
        if (r < 0)
                return r;
        return sd_bus_add_match(bus, NULL,
                                "type='signal',sender='org.freedesktop.DBus',interface='org.freedesktop.DBus',"
                                "member='NameOwnerChanged',arg0='org.vpc'", on_name_owner_changed, w);
}

int watch_finish(sd_bus *bus, Watch *w, bool with_task) {
        w->bars = arg.wait && !arg.json && !arg.quiet && isatty(STDOUT_FILENO);
        if (arg.wait)
                watch_run(bus, w);
        else if (!arg.json)
                for (size_t i = 0; i < w->n; i++) {
                        Item *it = &w->items[i];
                        if (it->error_name)
                                print_failure(it->label, it->error_name, it->error_message);
                        else if (!arg.quiet) {
                                _cleanup_free_ char *label = display_escape(it->label);
                                printf(_("%s: task %s\n"), strempty(label), it->task.path);
                        }
                }
        if (arg.json) {
                print_json(w, with_task);
                if (!arg.wait && !arg.quiet)
                        for (size_t i = 0; i < w->n; i++)
                                if (w->items[i].error_name)
                                        print_failure(w->items[i].label, w->items[i].error_name,
                                                      w->items[i].error_message);
        }
        if (arg.wait)
                return watch_status(w);
        /* --no-wait: a started task is success; only the calls that failed count. */
        int s = VPCCTL_EXIT_OK;
        for (size_t i = 0; i < w->n; i++)
                if (w->items[i].error_name)
                        s = exit_status_worse(s, item_status(&w->items[i]));
        return s;
}
