/* One task's record: its fields as a state file's JSON text, and the strict parser of that text
 * (see task-record.h). */
#include <errno.h>
#include <inttypes.h>
#include <json-c/json.h>
#include <stdio.h>

#include "task-record.h"
#include "text.h"

#define TASK_STATE_VERSION 1

void task_record_done(TaskRecord *rec) {
        free(rec->vm_name);
        free(rec->description);
        free(rec->error_message);
        *rec = (TaskRecord) {};
}

static const char *os_to_string(GuestOsKind os) {
        return os == GUEST_OS_WINDOWS ? "windows" : os == GUEST_OS_LINUX ? "linux" : "unknown";
}

static const char *kind_to_string(TaskKind kind) {
        return kind == TASK_KIND_LOCK ? "lock" : "logoff";
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
                r = r ?: add(o, "kind", json_object_new_string(kind_to_string(rec->resume.kind)));
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

int task_record_fail(char **ret_error, const char *format, ...) {
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
                return task_record_fail(ret_error, "'%s' is missing or not an integer", key);
        /* json-c keeps numbers above INT64_MAX as unsigned; get_int64 would clamp them into range. */
        errno = 0;
        int64_t x = json_object_get_int64(v);
        if (errno != 0 || x < min || x > max || json_object_get_uint64(v) != (uint64_t) x)
                return task_record_fail(ret_error, "'%s' is out of range", key);
        *ret = x;
        return 0;
}

static int get_bool(json_object *o, const char *key, bool *ret, char **ret_error) {
        json_object *v;

        if (!json_object_object_get_ex(o, key, &v) || !json_object_is_type(v, json_type_boolean))
                return task_record_fail(ret_error, "'%s' is missing or not a boolean", key);
        *ret = json_object_get_boolean(v);
        return 0;
}

/* A string of at most max bytes, valid UTF-8, without a NUL inside. */
static int get_string(json_object *o, const char *key, size_t max, const char **ret, char **ret_error) {
        json_object *v;
        const char *s;

        if (!json_object_object_get_ex(o, key, &v) || !json_object_is_type(v, json_type_string))
                return task_record_fail(ret_error, "'%s' is missing or not a string", key);
        s = json_object_get_string(v);
        if ((size_t) json_object_get_string_len(v) != strlen(s) || strlen(s) > max || !text_is_valid_utf8(s))
                return task_record_fail(ret_error, "'%s' is too long, holds a NUL or is not valid UTF-8", key);
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
        "kind", "os", "guest_pid", "program_exited", "relogin_expected", "deadline_usec", "notice", "grace_sec", NULL,
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
                return task_record_fail(ret_error, "'state' is neither running nor finished");
        rec->complete = keys == finished_keys;

        size_t n_keys = 0;
        json_object_object_foreach(o, key, value) {
                (void) value;
                if (!key_known(keys, key))
                        return task_record_fail(ret_error, "unknown key '%.64s'", key);
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
                return task_record_fail(ret_error, "'vm_uuid' is not a UUID");
        strcpy(rec->vm_uuid, s);
        r = get_string(o, "vm_name", TEXT_NAME_MAX, &s, ret_error);
        if (r < 0)
                return r;
        if (!*s)
                return task_record_fail(ret_error, "'vm_name' is empty");
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
                        return task_record_fail(ret_error, "'error' is not an error of the table");
                r = get_string(o, "message", TEXT_MESSAGE_MAX, &s, ret_error);
                if (r < 0)
                        return r;
                if ((rec->error == VPC_OK) != (*s == 0))
                        return task_record_fail(ret_error, "'message' does not go with 'error'");
                /* Sent again as the task's ErrorMessage: through the boundary like any other. */
                if (*s && !(rec->error_message = text_sanitize(s, TEXT_MESSAGE_MAX, TEXT_ESCAPE_CONTROL)))
                        return -ENOMEM;
                r = get_int(o, "finished_usec", 0, INT64_MAX, &x, ret_error);
                if (r < 0)
                        return r;
                rec->finished_usec = (uint64_t) x;
                return 0;
        }

        /* Absent in the files of a daemon that saved Logoffs only. */
        if (json_object_object_get_ex(o, "kind", NULL)) {
                r = get_string(o, "kind", 16, &s, ret_error);
                if (r < 0)
                        return r;
                if (streq_ptr(s, "logoff"))
                        rec->resume.kind = TASK_KIND_LOGOFF;
                else if (streq_ptr(s, "lock"))
                        rec->resume.kind = TASK_KIND_LOCK;
                else
                        return task_record_fail(ret_error, "'kind' is neither logoff nor lock");
        }
        r = get_string(o, "os", 16, &s, ret_error);
        if (r < 0)
                return r;
        if (streq_ptr(s, "linux"))
                rec->resume.os = GUEST_OS_LINUX;
        else if (streq_ptr(s, "windows"))
                rec->resume.os = GUEST_OS_WINDOWS;
        else
                return task_record_fail(ret_error, "'os' is neither linux nor windows");
        /* guest-exec pids are what the guest says; qemu-ga's are positive ints. */
        r = get_int(o, "guest_pid", 0, INT32_MAX, &x, ret_error);
        if (r < 0)
                return r;
        rec->resume.guest_pid = x;
        r = get_bool(o, "program_exited", &rec->resume.program_exited, ret_error);
        if (r < 0)
                return r;
        if (rec->resume.program_exited && rec->resume.guest_pid == 0)
                return task_record_fail(ret_error, "'program_exited' without a 'guest_pid'");
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
                return task_record_fail(ret_error, "larger than %u bytes", TASK_STATE_FILE_MAX);
        if (memchr(text, 0, size))
                return task_record_fail(ret_error, "holds a NUL byte");
        tok = json_tokener_new_ex(8);
        if (!tok)
                return -ENOMEM;
        json_tokener_set_flags(tok, JSON_TOKENER_STRICT | JSON_TOKENER_VALIDATE_UTF8);
        o = json_tokener_parse_ex(tok, text, (int) size);
        used = json_tokener_get_parse_end(tok);
        r = json_tokener_get_error(tok) == json_tokener_success ? 0 : -EBADMSG;
        if (r < 0)
                (void) task_record_fail(ret_error, "not JSON: %s",
                                        json_tokener_get_error(tok) == json_tokener_continue ?
                                        "truncated" : json_tokener_error_desc(json_tokener_get_error(tok)));
        json_tokener_free(tok);
        if (r < 0) {
                json_object_put(o);
                return r;
        }
        for (; used < size; used++)
                if (!strchr(" \t\r\n", text[used])) {
                        json_object_put(o);
                        return task_record_fail(ret_error, "text after the JSON object");
                }
        if (!json_object_is_type(o, json_type_object)) {
                json_object_put(o);
                return task_record_fail(ret_error, "not a JSON object");
        }
        r = parse_object(o, &rec, ret_error);
        json_object_put(o);
        if (r < 0)
                return r;
        *ret = rec;
        rec = (TaskRecord) {};
        return 0;
}
