/* The state directory: the task records' files in it, written atomically, and all of them loaded
 * at start (see task-store.h). */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <sys/stat.h>

#include "log.h"
#include "task-store.h"

#define TASK_FILE_PREFIX "task-"
#define NEXT_ID_FILE "next-id"
#define DEFAULT_RUNTIME_DIRECTORY "/run/vpc-guestosd"

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
                return task_record_fail(ret_error, "cannot open: %s", strerror(errno));
        if (fstat(fd, &st) < 0)
                return task_record_fail(ret_error, "cannot stat: %s", strerror(errno));
        if (!S_ISREG(st.st_mode))
                return task_record_fail(ret_error, "not a regular file");
        if (st.st_uid != geteuid())
                return task_record_fail(ret_error, "owned by uid %u, not the daemon's", (unsigned) st.st_uid);
        if (st.st_mode & 0022)
                return task_record_fail(ret_error, "writable by others (mode %04o)", (unsigned) (st.st_mode & 07777));
        if (st.st_nlink != 1)
                return task_record_fail(ret_error, "has %u links", (unsigned) st.st_nlink);
        if (st.st_size > (off_t) TASK_STATE_FILE_MAX)
                return task_record_fail(ret_error, "larger than %u bytes", TASK_STATE_FILE_MAX);
        text = malloc(TASK_STATE_FILE_MAX + 2);
        if (!text)
                return -ENOMEM;
        /* One byte more than allowed, to see a file that grew since fstat. */
        n = read(fd, text, TASK_STATE_FILE_MAX + 1);
        if (n < 0)
                return task_record_fail(ret_error, "cannot read: %s", strerror(errno));
        if ((size_t) n > TASK_STATE_FILE_MAX)
                return task_record_fail(ret_error, "larger than %u bytes", TASK_STATE_FILE_MAX);
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
