/* The task state files (see task-state.h). */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <json-c/json.h>
#include <stdio.h>
#include <sys/stat.h>

#include "log.h"
#include "task-state.h"
#include "text.h"

#define TASK_STATE_VERSION 1
#define TASK_FILE_PREFIX "task-"
#define NEXT_ID_FILE "next-id"
#define DEFAULT_RUNTIME_DIRECTORY "/run/vpc-guestosd"

void task_record_done(TaskRecord *rec) {
        free(rec->vm_name);
        free(rec->description);
        free(rec->error_message);
        *rec = (TaskRecord) {};
}

static const char *os_to_string(GuestOsKind os) {
        return os == GUEST_OS_WINDOWS ? "windows" : os == GUEST_OS_LINUX ? "linux" : "unknown";
}

static int add(json_object *o, const char *key, json_object *v) {
        if (!v || json_object_object_add(o, key, v) < 0) {
                json_object_put(v);
                return -ENOMEM;
        }
        return 0;
}

int task_record_format(const TaskRecord *rec, char **ret) {
        json_object *o = json_object_new_object();
        const char *text;
        int r = 0;

        if (!o)
                return -ENOMEM;
        r = r ?: add(o, "version", json_object_new_int(TASK_STATE_VERSION));
        r = r ?: add(o, "id", json_object_new_int64((int64_t) rec->id));
        r = r ?: add(o, "vm_uuid", json_object_new_string(rec->vm_uuid));
        r = r ?: add(o, "vm_name", json_object_new_string(strempty(rec->vm_name)));
        r = r ?: add(o, "description", json_object_new_string(strempty(rec->description)));
        r = r ?: add(o, "owner", json_object_new_int64(rec->owner));
        r = r ?: add(o, "started_usec", json_object_new_int64((int64_t) rec->started_usec));
        r = r ?: add(o, "percent", json_object_new_int((int) rec->percent));
        r = r ?: add(o, "state", json_object_new_string(rec->complete ? "finished" : "running"));
        if (rec->complete) {
                r = r ?: add(o, "error", json_object_new_string(vpc_error_name(rec->error)));
                r = r ?: add(o, "message", json_object_new_string(strempty(rec->error_message)));
                r = r ?: add(o, "finished_usec", json_object_new_int64((int64_t) rec->finished_usec));
        } else {
                r = r ?: add(o, "os", json_object_new_string(os_to_string(rec->resume.os)));
                r = r ?: add(o, "guest_pid", json_object_new_int64(rec->resume.guest_pid));
                r = r ?: add(o, "program_exited", json_object_new_boolean(rec->resume.program_exited));
                r = r ?: add(o, "relogin_expected", json_object_new_boolean(rec->resume.relogin_expected));
                r = r ?: add(o, "deadline_usec", json_object_new_int64((int64_t) rec->resume.deadline_usec));
                if (rec->resume.notice[0] || rec->resume.grace_sec > 0) {
                        r = r ?: add(o, "notice", json_object_new_string(rec->resume.notice));
                        r = r ?: add(o, "grace_sec", json_object_new_int64(rec->resume.grace_sec));
                }
        }
        if (r < 0) {
                json_object_put(o);
                return r;
        }
        text = json_object_to_json_string_ext(o, JSON_C_TO_STRING_PLAIN);
        *ret = text ? malloc(strlen(text) + 2) : NULL;
        if (*ret)
                sprintf(*ret, "%s\n", text);
        json_object_put(o);
        return *ret ? 0 : -ENOMEM;
}

/* --- the strict parser --- */

static int fail(char **ret_error, const char *format, ...) _printf_(2, 3);
static int fail(char **ret_error, const char *format, ...) {
        va_list ap;

        va_start(ap, format);
        if (vasprintf(ret_error, format, ap) < 0)
                *ret_error = NULL;
        va_end(ap);
        return -EBADMSG;
}

static int get_int(json_object *o, const char *key, int64_t min, int64_t max, int64_t *ret, char **ret_error) {
        json_object *v;

        if (!json_object_object_get_ex(o, key, &v) || !json_object_is_type(v, json_type_int))
                return fail(ret_error, "'%s' is missing or not an integer", key);
        /* json-c keeps numbers above INT64_MAX as unsigned; get_int64 would clamp them into range. */
        errno = 0;
        int64_t x = json_object_get_int64(v);
        if (errno != 0 || x < min || x > max || json_object_get_uint64(v) != (uint64_t) x)
                return fail(ret_error, "'%s' is out of range", key);
        *ret = x;
        return 0;
}

static int get_bool(json_object *o, const char *key, bool *ret, char **ret_error) {
        json_object *v;

        if (!json_object_object_get_ex(o, key, &v) || !json_object_is_type(v, json_type_boolean))
                return fail(ret_error, "'%s' is missing or not a boolean", key);
        *ret = json_object_get_boolean(v);
        return 0;
}

/* A string of at most max bytes, valid UTF-8, without a NUL inside. */
static int get_string(json_object *o, const char *key, size_t max, const char **ret, char **ret_error) {
        json_object *v;
        const char *s;

        if (!json_object_object_get_ex(o, key, &v) || !json_object_is_type(v, json_type_string))
                return fail(ret_error, "'%s' is missing or not a string", key);
        s = json_object_get_string(v);
        if ((size_t) json_object_get_string_len(v) != strlen(s) || strlen(s) > max || !text_is_valid_utf8(s))
                return fail(ret_error, "'%s' is too long, holds a NUL or is not valid UTF-8", key);
        *ret = s;
        return 0;
}

static bool uuid_is_valid(const char *s) {
        if (strlen(s) != UUID_STRING_MAX - 1)
                return false;
        for (size_t i = 0; s[i]; i++) {
                bool dash = i == 8 || i == 13 || i == 18 || i == 23;
                if (dash ? s[i] != '-' : !strchr("0123456789abcdef", s[i]))
                        return false;
        }
        return true;
}

static const char *const running_keys[] = {
        "version", "id", "vm_uuid", "vm_name", "description", "owner", "started_usec", "percent", "state",
        "os", "guest_pid", "program_exited", "relogin_expected", "deadline_usec", "notice", "grace_sec", NULL,
};
static const char *const finished_keys[] = {
        "version", "id", "vm_uuid", "vm_name", "description", "owner", "started_usec", "percent", "state",
        "error", "message", "finished_usec", NULL,
};

static bool key_known(const char *const *keys, const char *key) {
        for (; *keys; keys++)
                if (streq_ptr(*keys, key))
                        return true;
        return false;
}

static int parse_object(json_object *o, TaskRecord *rec, char **ret_error) {
        const char *s, *state, *const *keys;
        int64_t x;
        int r;

        r = get_int(o, "version", TASK_STATE_VERSION, TASK_STATE_VERSION, &x, ret_error);
        if (r < 0)
                return r;
        r = get_string(o, "state", 16, &state, ret_error);
        if (r < 0)
                return r;
        if (streq_ptr(state, "running"))
                keys = running_keys;
        else if (streq_ptr(state, "finished"))
                keys = finished_keys;
        else
                return fail(ret_error, "'state' is neither running nor finished");
        rec->complete = keys == finished_keys;

        size_t n_keys = 0;
        json_object_object_foreach(o, key, value) {
                (void) value;
                if (!key_known(keys, key))
                        return fail(ret_error, "unknown key '%.64s'", key);
                n_keys++;
        }
        (void) n_keys;

        r = get_int(o, "id", 1, INT64_MAX, &x, ret_error);
        if (r < 0)
                return r;
        rec->id = (uint64_t) x;
        r = get_string(o, "vm_uuid", UUID_STRING_MAX - 1, &s, ret_error);
        if (r < 0)
                return r;
        if (!uuid_is_valid(s))
                return fail(ret_error, "'vm_uuid' is not a UUID");
        strcpy(rec->vm_uuid, s);
        r = get_string(o, "vm_name", TEXT_NAME_MAX, &s, ret_error);
        if (r < 0)
                return r;
        if (!*s)
                return fail(ret_error, "'vm_name' is empty");
        rec->vm_name = strdup(s);
        r = get_string(o, "description", TASK_STATE_DESCRIPTION_MAX, &s, ret_error);
        if (r < 0)
                return r;
        rec->description = strdup(s);
        if (!rec->vm_name || !rec->description)
                return -ENOMEM;
        /* (uid_t) -1 is nobody's. */
        r = get_int(o, "owner", 0, (int64_t) UINT32_MAX - 1, &x, ret_error);
        if (r < 0)
                return r;
        rec->owner = (uid_t) x;
        r = get_int(o, "started_usec", 0, INT64_MAX, &x, ret_error);
        if (r < 0)
                return r;
        rec->started_usec = (uint64_t) x;
        r = get_int(o, "percent", 0, 100, &x, ret_error);
        if (r < 0)
                return r;
        rec->percent = (unsigned) x;

        if (rec->complete) {
                r = get_string(o, "error", 128, &s, ret_error);
                if (r < 0)
                        return r;
                if (!*s)
                        rec->error = VPC_OK;
                else if (!vpc_error_lookup(s, &rec->error))
                        return fail(ret_error, "'error' is not an error of the table");
                r = get_string(o, "message", TEXT_MESSAGE_MAX, &s, ret_error);
                if (r < 0)
                        return r;
                if ((rec->error == VPC_OK) != (*s == 0))
                        return fail(ret_error, "'message' does not go with 'error'");
                /* Sent again as the task's ErrorMessage: through the boundary like any other. */
                if (*s && !(rec->error_message = text_sanitize(s, TEXT_MESSAGE_MAX, TEXT_ESCAPE_CONTROL)))
                        return -ENOMEM;
                r = get_int(o, "finished_usec", 0, INT64_MAX, &x, ret_error);
                if (r < 0)
                        return r;
                rec->finished_usec = (uint64_t) x;
                return 0;
        }

        r = get_string(o, "os", 16, &s, ret_error);
        if (r < 0)
                return r;
        if (streq_ptr(s, "linux"))
                rec->resume.os = GUEST_OS_LINUX;
        else if (streq_ptr(s, "windows"))
                rec->resume.os = GUEST_OS_WINDOWS;
        else
                return fail(ret_error, "'os' is neither linux nor windows");
        /* guest-exec pids are what the guest says; qemu-ga's are positive ints. */
        r = get_int(o, "guest_pid", 0, INT32_MAX, &x, ret_error);
        if (r < 0)
                return r;
        rec->resume.guest_pid = x;
        r = get_bool(o, "program_exited", &rec->resume.program_exited, ret_error);
        if (r < 0)
                return r;
        if (rec->resume.program_exited && rec->resume.guest_pid == 0)
                return fail(ret_error, "'program_exited' without a 'guest_pid'");
        r = get_bool(o, "relogin_expected", &rec->resume.relogin_expected, ret_error);
        if (r < 0)
                return r;
        r = get_int(o, "deadline_usec", 0, INT64_MAX, &x, ret_error);
        if (r < 0)
                return r;
        rec->resume.deadline_usec = (uint64_t) x;
        /* Both or neither. */
        if (!json_object_object_get_ex(o, "notice", NULL) && !json_object_object_get_ex(o, "grace_sec", NULL))
                return 0;
        r = get_string(o, "notice", TASK_STATE_NOTICE_MAX, &s, ret_error);
        if (r < 0)
                return r;
        strcpy(rec->resume.notice, s);
        r = get_int(o, "grace_sec", 0, 3600, &x, ret_error);
        if (r < 0)
                return r;
        rec->resume.grace_sec = (uint32_t) x;
        return 0;
}

int task_record_parse(const char *text, size_t size, TaskRecord *ret, char **ret_error) {
        _cleanup_(task_record_done) TaskRecord rec = {};
        json_tokener *tok;
        json_object *o;
        size_t used;
        int r;

        *ret_error = NULL;
        if (size > TASK_STATE_FILE_MAX)
                return fail(ret_error, "larger than %u bytes", TASK_STATE_FILE_MAX);
        if (memchr(text, 0, size))
                return fail(ret_error, "holds a NUL byte");
        tok = json_tokener_new_ex(8);
        if (!tok)
                return -ENOMEM;
        json_tokener_set_flags(tok, JSON_TOKENER_STRICT | JSON_TOKENER_VALIDATE_UTF8);
        o = json_tokener_parse_ex(tok, text, (int) size);
        used = json_tokener_get_parse_end(tok);
        r = json_tokener_get_error(tok) == json_tokener_success ? 0 : -EBADMSG;
        if (r < 0)
                (void) fail(ret_error, "not JSON: %s", json_tokener_get_error(tok) == json_tokener_continue ?
                            "truncated" : json_tokener_error_desc(json_tokener_get_error(tok)));
        json_tokener_free(tok);
        if (r < 0) {
                json_object_put(o);
                return r;
        }
        for (; used < size; used++)
                if (!strchr(" \t\r\n", text[used])) {
                        json_object_put(o);
                        return fail(ret_error, "text after the JSON object");
                }
        if (!json_object_is_type(o, json_type_object)) {
                json_object_put(o);
                return fail(ret_error, "not a JSON object");
        }
        r = parse_object(o, &rec, ret_error);
        json_object_put(o);
        if (r < 0)
                return r;
        *ret = rec;
        rec = (TaskRecord) {};
        return 0;
}

/* --- the directory --- */

int task_store_open(TaskStore *s) {
        _cleanup_free_ char *path = NULL;
        const char *env = getenv("RUNTIME_DIRECTORY");
        struct stat st;
        int fd;

        *s = (TaskStore) { .dir_fd = -1 };
        /* systemd may list several directories, colon-separated: ours is the first. */
        path = env && *env ? strndup(env, strcspn(env, ":")) : strdup(DEFAULT_RUNTIME_DIRECTORY);
        if (!path)
                return -ENOMEM;
        fd = open(path, O_RDONLY | O_DIRECTORY | O_CLOEXEC | O_NOFOLLOW);
        if (fd < 0) {
                int r = -errno;
                log_warning("cannot open the runtime directory %s (%s): tasks will not survive a restart", path,
                            strerror(-r));
                return r;
        }
        if (fstat(fd, &st) < 0 || st.st_uid != geteuid() || (st.st_mode & 0022) ||
            faccessat(fd, ".", W_OK, AT_EACCESS) < 0) {
                log_warning("the runtime directory %s is not the daemon's own (owner %u, mode %04o) or not "
                            "writable: tasks will not survive a restart", path, (unsigned) st.st_uid,
                            (unsigned) (st.st_mode & 07777));
                close(fd);
                return -EPERM;
        }
        s->dir_fd = fd;
        s->path = TAKE_PTR(path);
        return 0;
}

void task_store_close(TaskStore *s) {
        if (s->dir_fd >= 0)
                close(s->dir_fd);
        free(s->path);
        *s = (TaskStore) { .dir_fd = -1 };
}

bool task_store_usable(const TaskStore *s) {
        return s && s->dir_fd >= 0;
}

static int write_all(int fd, const char *p, size_t n) {
        while (n > 0) {
                ssize_t k = write(fd, p, n);
                if (k < 0) {
                        if (errno == EINTR)
                                continue;
                        return -errno;
                }
                p += k;
                n -= (size_t) k;
        }
        return 0;
}

static void store_failed(TaskStore *s, const char *what, const char *name, int r) {
        /* Once at warning level: a full or read-only /run would otherwise flood the log. */
        if (!s->failed_logged)
                log_warning("cannot %s %s/%s (%s): tasks may not survive a restart", what, s->path, name, strerror(-r));
        else
                log_debug("cannot %s %s/%s: %s", what, s->path, name, strerror(-r));
        s->failed_logged = true;
}

static int store_write(TaskStore *s, const char *name, const char *text) {
        char tmp[] = ".tmp-XXXXXX";
        _cleanup_close_ int fd = -1;
        int r;

        /* mkostempat does not exist: a random name tried until it is free. */
        for (unsigned attempt = 0; fd < 0; attempt++) {
                for (char *p = tmp + 5; *p; p++)
                        *p = "abcdefghijklmnopqrstuvwxyz0123456789"[random() % 36];
                fd = openat(s->dir_fd, tmp, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC | O_NOFOLLOW, 0600);
                if (fd < 0 && (errno != EEXIST || attempt > 16))
                        return -errno;
        }
        r = write_all(fd, text, strlen(text));
        if (r >= 0 && fsync(fd) < 0)
                r = -errno;
        if (r >= 0 && renameat(s->dir_fd, tmp, s->dir_fd, name) < 0)
                r = -errno;
        if (r < 0) {
                (void) unlinkat(s->dir_fd, tmp, 0);
                return r;
        }
        if (fsync(s->dir_fd) < 0)
                return -errno;
        return 0;
}

int task_store_save(TaskStore *s, const TaskRecord *rec) {
        _cleanup_free_ char *text = NULL;
        char name[64];
        int r;

        if (!task_store_usable(s))
                return 0;
        snprintf(name, sizeof(name), TASK_FILE_PREFIX "%" PRIu64, rec->id);
        r = task_record_format(rec, &text);
        if (r >= 0)
                r = store_write(s, name, text);
        if (r < 0)
                store_failed(s, "write", name, r);
        return r;
}

int task_store_delete(TaskStore *s, uint64_t id) {
        char name[64];

        if (!task_store_usable(s))
                return 0;
        snprintf(name, sizeof(name), TASK_FILE_PREFIX "%" PRIu64, id);
        if (unlinkat(s->dir_fd, name, 0) < 0 && errno != ENOENT) {
                int r = -errno;
                store_failed(s, "remove", name, r);
                return r;
        }
        return 0;
}

int task_store_reserve(TaskStore *s, uint64_t id) {
        char text[64];
        uint64_t bound;
        int r;

        if (!task_store_usable(s) || id < s->id_reserved)
                return 0;
        bound = id + TASK_ID_BLOCK;
        snprintf(text, sizeof(text), "%" PRIu64 "\n", bound);
        r = store_write(s, NEXT_ID_FILE, text);
        if (r < 0) {
                store_failed(s, "write", NEXT_ID_FILE, r);
                return r;
        }
        s->id_reserved = bound;
        return 0;
}

int task_store_read_file(int dir_fd, const char *name, char **ret_text, size_t *ret_size, char **ret_error) {
        _cleanup_close_ int fd = -1;
        _cleanup_free_ char *text = NULL;
        struct stat st;
        ssize_t n;

        *ret_error = NULL;
        /* O_NOFOLLOW: a symlink fails with ELOOP; O_NONBLOCK: a FIFO does not hang the start. */
        fd = openat(dir_fd, name, O_RDONLY | O_CLOEXEC | O_NOFOLLOW | O_NOCTTY | O_NONBLOCK);
        if (fd < 0)
                return fail(ret_error, "cannot open: %s", strerror(errno));
        if (fstat(fd, &st) < 0)
                return fail(ret_error, "cannot stat: %s", strerror(errno));
        if (!S_ISREG(st.st_mode))
                return fail(ret_error, "not a regular file");
        if (st.st_uid != geteuid())
                return fail(ret_error, "owned by uid %u, not the daemon's", (unsigned) st.st_uid);
        if (st.st_mode & 0022)
                return fail(ret_error, "writable by others (mode %04o)", (unsigned) (st.st_mode & 07777));
        if (st.st_nlink != 1)
                return fail(ret_error, "has %u links", (unsigned) st.st_nlink);
        if (st.st_size > (off_t) TASK_STATE_FILE_MAX)
                return fail(ret_error, "larger than %u bytes", TASK_STATE_FILE_MAX);
        text = malloc(TASK_STATE_FILE_MAX + 2);
        if (!text)
                return -ENOMEM;
        /* One byte more than allowed, to see a file that grew since fstat. */
        n = read(fd, text, TASK_STATE_FILE_MAX + 1);
        if (n < 0)
                return fail(ret_error, "cannot read: %s", strerror(errno));
        if ((size_t) n > TASK_STATE_FILE_MAX)
                return fail(ret_error, "larger than %u bytes", TASK_STATE_FILE_MAX);
        text[n] = 0;
        *ret_text = TAKE_PTR(text);
        *ret_size = (size_t) n;
        return 0;
}

static int parse_id_name(const char *name, uint64_t *ret) {
        const char *s = name + strlen(TASK_FILE_PREFIX);
        char *end;

        if (strncmp(name, TASK_FILE_PREFIX, strlen(TASK_FILE_PREFIX)) != 0 || s[0] < '1' || s[0] > '9')
                return -EINVAL;
        errno = 0;
        *ret = strtoull(s, &end, 10);
        return errno != 0 || *end != 0 || *ret > INT64_MAX ? -EINVAL : 0;
}

static uint64_t read_next_id(TaskStore *s) {
        _cleanup_free_ char *text = NULL, *error = NULL;
        size_t size;
        char *end;

        if (faccessat(s->dir_fd, NEXT_ID_FILE, F_OK, AT_SYMLINK_NOFOLLOW) < 0)
                return 0;
        if (task_store_read_file(s->dir_fd, NEXT_ID_FILE, &text, &size, &error) < 0) {
                log_warning("skipping %s/%s: %s", s->path, NEXT_ID_FILE, strempty(error));
                return 0;
        }
        errno = 0;
        uint64_t v = strtoull(text, &end, 10);
        if (errno != 0 || end == text || (*end != 0 && !streq_ptr(end, "\n")) || text[0] == '-' || v > INT64_MAX) {
                log_warning("skipping %s/%s: not a number", s->path, NEXT_ID_FILE);
                return 0;
        }
        return v;
}

int task_store_load(TaskStore *s, TaskStoreVisit f, void *userdata, uint64_t *ret_next_id) {
        _cleanup_close_ int fd = -1;
        uint64_t next;
        struct dirent *de;
        DIR *d;

        *ret_next_id = 1;
        if (!task_store_usable(s))
                return 0;
        next = read_next_id(s);
        fd = openat(s->dir_fd, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        if (fd < 0 || !(d = fdopendir(fd)))
                return -errno;
        fd = -1;        /* closedir() closes it */
        while ((de = readdir(d))) {
                _cleanup_free_ char *text = NULL, *error = NULL;
                _cleanup_(task_record_done) TaskRecord rec = {};
                size_t size;
                uint64_t id;
                int r;

                if (de->d_name[0] == '.') {
                        /* A temporary file a crash left behind. */
                        if (strncmp(de->d_name, ".tmp-", 5) == 0)
                                (void) unlinkat(s->dir_fd, de->d_name, 0);
                        continue;
                }
                if (streq_ptr(de->d_name, NEXT_ID_FILE))
                        continue;
                if (parse_id_name(de->d_name, &id) < 0) {
                        log_warning("skipping %s/%s: not a task state file", s->path, de->d_name);
                        continue;
                }
                /* Whatever the file holds, its name's id was handed out. */
                if (id >= next)
                        next = id + 1;
                r = task_store_read_file(s->dir_fd, de->d_name, &text, &size, &error);
                if (r == -ENOMEM) {
                        closedir(d);
                        return r;
                }
                if (r >= 0)
                        r = task_record_parse(text, size, &rec, &error);
                if (r >= 0 && rec.id != id) {
                        r = -EBADMSG;
                        error = strdup("its id is not its name's");
                }
                if (r == -ENOMEM) {
                        closedir(d);
                        return r;
                }
                if (r < 0) {
                        /* Removed (unlink never follows a symlink): read at every start it would be
                         * logged at every start, and its id stays counted above. */
                        log_warning("skipping the task state file %s/%s: %s; removed", s->path, de->d_name,
                                    strempty(error));
                        (void) unlinkat(s->dir_fd, de->d_name, 0);
                        continue;
                }
                f(&rec, userdata);
        }
        closedir(d);
        if (next < 1)
                next = 1;
        s->id_reserved = next;
        *ret_next_id = next;
        return 0;
}
