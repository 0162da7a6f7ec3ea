/* Guest-agent JSON: command documents and strict reply parsers (see agent.h for the contract). */
#include <errno.h>
#include <inttypes.h>
#include <json-c/json.h>
#include <stdarg.h>
#include <stdio.h>

#include "agent.h"
#include "text.h"

const char AGENT_COMMAND_INFO[] = "{\"execute\":\"guest-info\"}";
const char AGENT_COMMAND_GET_USERS[] = "{\"execute\":\"guest-get-users\"}";
const char AGENT_COMMAND_GET_OSINFO[] = "{\"execute\":\"guest-get-osinfo\"}";

static void json_object_putp(json_object **o) {
        if (*o)
                json_object_put(*o);
}
#define _cleanup_json_ _cleanup_(json_object_putp)

char *agent_sanitize(const char *text, size_t max) {
        return text_sanitize(text, max, TEXT_ESCAPE_CONTROL);
}

const char *guest_os_kind_to_string(GuestOsKind kind) {
        switch (kind) {
        case GUEST_OS_LINUX:
                return "linux";
        case GUEST_OS_WINDOWS:
                return "windows";
        default:
                return "unknown";
        }
}

static int set_error(char **ret_error, int r, const char *format, ...) _printf_(3, 4);
static int set_error(char **ret_error, int r, const char *format, ...) {
        va_list ap;

        if (ret_error) {
                free(*ret_error);
                *ret_error = NULL;
                va_start(ap, format);
                if (vasprintf(ret_error, format, ap) < 0)
                        *ret_error = NULL;
                va_end(ap);
        }
        return r;
}

/* Parses a whole reply and returns its "return" member, which must be of the given type. */
static int parse_return(const char *reply, json_type type, const char *what, json_object **ret_root,
                        json_object **ret_value, char **ret_error) {
        _cleanup_json_ json_object *root = NULL;
        json_tokener *tok;
        json_object *value, *error;
        size_t len;

        if (!reply)
                return set_error(ret_error, -EBADMSG, "%s: no reply from the guest agent", what);
        len = strnlen(reply, AGENT_REPLY_MAX + 1);
        if (len > AGENT_REPLY_MAX)
                return set_error(ret_error, -E2BIG, "%s: guest agent reply larger than %u bytes", what,
                                 AGENT_REPLY_MAX);

        tok = json_tokener_new_ex(AGENT_JSON_DEPTH);
        if (!tok)
                return -ENOMEM;
        root = json_tokener_parse_ex(tok, reply, (int) len);
        if (!root || json_tokener_get_error(tok) != json_tokener_success || tok->char_offset != (int) len) {
                json_tokener_free(tok);
                return set_error(ret_error, -EBADMSG, "%s: guest agent reply is not valid JSON", what);
        }
        json_tokener_free(tok);

        if (!json_object_is_type(root, json_type_object))
                return set_error(ret_error, -EBADMSG, "%s: guest agent reply is not a JSON object", what);

        if (json_object_object_get_ex(root, "error", &error)) {
                json_object *desc;
                _cleanup_free_ char *clean = NULL;

                if (json_object_is_type(error, json_type_object) &&
                    json_object_object_get_ex(error, "desc", &desc) && json_object_is_type(desc, json_type_string))
                        clean = agent_sanitize(json_object_get_string(desc), 200);
                return set_error(ret_error, -EREMOTEIO, "%s: guest agent error: %s", what,
                                 clean ?: "(no description)");
        }

        if (!json_object_object_get_ex(root, "return", &value) || !json_object_is_type(value, type))
                return set_error(ret_error, -EBADMSG, "%s: guest agent reply has no \"return\" of type %s",
                                 what, json_type_to_name(type));

        *ret_value = value;
        *ret_root = TAKE_PTR(root);
        return 0;
}

static const char *get_string(json_object *o, const char *key) {
        json_object *v;

        if (!json_object_object_get_ex(o, key, &v) || !json_object_is_type(v, json_type_string))
                return NULL;
        return json_object_get_string(v);
}

int agent_parse_info(const char *reply, AgentInfo *ret, char **ret_error) {
        _cleanup_json_ json_object *root = NULL;
        json_object *info, *commands;
        AgentInfo result = {};
        size_t n;
        int r;

        r = parse_return(reply, json_type_object, "guest-info", &root, &info, ret_error);
        if (r < 0)
                return r;
        if (!json_object_object_get_ex(info, "supported_commands", &commands) ||
            !json_object_is_type(commands, json_type_array))
                return set_error(ret_error, -EBADMSG, "guest-info: no supported_commands array");

        n = json_object_array_length(commands);
        if (n > AGENT_COMMANDS_MAX)
                return set_error(ret_error, -E2BIG, "guest-info: more than %u commands", AGENT_COMMANDS_MAX);

        for (size_t i = 0; i < n; i++) {
                json_object *c = json_object_array_get_idx(commands, i), *enabled;
                const char *name;

                if (!json_object_is_type(c, json_type_object))
                        return set_error(ret_error, -EBADMSG, "guest-info: command entry is not an object");
                name = get_string(c, "name");
                if (!name || !json_object_object_get_ex(c, "enabled", &enabled) ||
                    !json_object_is_type(enabled, json_type_boolean))
                        return set_error(ret_error, -EBADMSG, "guest-info: command entry lacks name or enabled");
                if (!json_object_get_boolean(enabled))
                        continue;

                if (streq_ptr(name, "guest-exec"))
                        result.has_exec = true;
                else if (streq_ptr(name, "guest-exec-status"))
                        result.has_exec_status = true;
                else if (streq_ptr(name, "guest-get-users"))
                        result.has_get_users = true;
                else if (streq_ptr(name, "guest-get-osinfo"))
                        result.has_get_osinfo = true;
        }

        *ret = result;
        return 0;
}

static bool name_is_valid(const char *s) {
        size_t n = strnlen(s, AGENT_NAME_MAX + 1);

        return n > 0 && n <= AGENT_NAME_MAX;
}

int agent_parse_users(const char *reply, char ***ret_users, char **ret_error) {
        _cleanup_json_ json_object *root = NULL;
        _cleanup_strv_free_ char **users = NULL;
        json_object *list;
        size_t n, n_users = 0;
        int r;

        r = parse_return(reply, json_type_array, "guest-get-users", &root, &list, ret_error);
        if (r < 0)
                return r;

        n = json_object_array_length(list);
        if (n > AGENT_USERS_MAX)
                return set_error(ret_error, -E2BIG, "guest-get-users: more than %u users", AGENT_USERS_MAX);

        users = calloc(n + 1, sizeof(char *));
        if (!users)
                return -ENOMEM;

        for (size_t i = 0; i < n; i++) {
                json_object *u = json_object_array_get_idx(list, i);
                const char *user, *domain;
                char *id;
                bool seen = false;

                if (!json_object_is_type(u, json_type_object))
                        return set_error(ret_error, -EBADMSG, "guest-get-users: entry is not an object");
                user = get_string(u, "user");
                if (!user || !name_is_valid(user))
                        return set_error(ret_error, -EBADMSG, "guest-get-users: entry without a valid user name");
                domain = get_string(u, "domain");
                if (json_object_object_get_ex(u, "domain", NULL) && (!domain || !name_is_valid(domain)))
                        return set_error(ret_error, -EBADMSG, "guest-get-users: invalid domain name");

                /* Windows users are only unique together with their domain. */
                if (domain ? asprintf(&id, "%s\\%s", domain, user) < 0 : !(id = strdup(user)))
                        return -ENOMEM;

                for (size_t j = 0; j < n_users; j++)
                        if (streq_ptr(users[j], id))
                                seen = true;
                if (seen)
                        free(id);
                else
                        users[n_users++] = id;
        }

        *ret_users = TAKE_PTR(users);
        return 0;
}

int agent_parse_osinfo(const char *reply, GuestOsKind *ret, char **ret_error) {
        _cleanup_json_ json_object *root = NULL;
        json_object *info;
        const char *id, *kernel;
        int r;

        r = parse_return(reply, json_type_object, "guest-get-osinfo", &root, &info, ret_error);
        if (r < 0)
                return r;

        id = get_string(info, "id");
        kernel = get_string(info, "kernel-name");
        if (streq_ptr(id, "mswindows") || (kernel && strncmp(kernel, "Windows", 7) == 0))
                *ret = GUEST_OS_WINDOWS;
        else if (streq_ptr(kernel, "Linux") || (!kernel && id))
                *ret = GUEST_OS_LINUX;
        else
                *ret = GUEST_OS_UNKNOWN;
        return 0;
}

static int get_int(json_object *o, const char *key, int64_t *ret) {
        json_object *v;

        if (!json_object_object_get_ex(o, key, &v) || !json_object_is_type(v, json_type_int))
                return -EBADMSG;
        errno = 0;
        *ret = json_object_get_int64(v);
        return errno ? -EBADMSG : 0;
}

int agent_parse_exec(const char *reply, int64_t *ret_pid, char **ret_error) {
        _cleanup_json_ json_object *root = NULL;
        json_object *result;
        int64_t pid;
        int r;

        r = parse_return(reply, json_type_object, "guest-exec", &root, &result, ret_error);
        if (r < 0)
                return r;
        if (get_int(result, "pid", &pid) < 0 || pid <= 0 || pid > INT32_MAX)
                return set_error(ret_error, -EBADMSG, "guest-exec: reply without a valid pid");

        *ret_pid = pid;
        return 0;
}

int agent_parse_exec_status(const char *reply, AgentExecStatus *ret, char **ret_error) {
        _cleanup_json_ json_object *root = NULL;
        json_object *result, *exited;
        AgentExecStatus status = {};
        int64_t v;
        int r;

        r = parse_return(reply, json_type_object, "guest-exec-status", &root, &result, ret_error);
        if (r < 0)
                return r;
        if (!json_object_object_get_ex(result, "exited", &exited) || !json_object_is_type(exited, json_type_boolean))
                return set_error(ret_error, -EBADMSG, "guest-exec-status: reply without \"exited\"");

        status.exited = json_object_get_boolean(exited);
        if (status.exited) {
                if (get_int(result, "signal", &v) == 0) {
                        if (v < 0 || v > 128)
                                return set_error(ret_error, -EBADMSG, "guest-exec-status: invalid signal");
                        status.signalled = true;
                        status.signal = (int) v;
                } else if (get_int(result, "exitcode", &v) == 0 && v >= INT32_MIN && v <= INT32_MAX)
                        status.exit_code = (int) v;
                else
                        return set_error(ret_error, -EBADMSG, "guest-exec-status: exited without exitcode");
        }

        *ret = status;
        return 0;
}

char *agent_command_exec(const char *path, const char *const *argv) {
        _cleanup_json_ json_object *root = NULL;
        json_object *arguments, *args;
        char *s;

        root = json_object_new_object();
        arguments = json_object_new_object();
        args = json_object_new_array();
        if (!root || !arguments || !args) {
                json_object_put(arguments);
                json_object_put(args);
                return NULL;
        }
        json_object_object_add(root, "execute", json_object_new_string("guest-exec"));
        json_object_object_add(root, "arguments", arguments);
        json_object_object_add(arguments, "path", json_object_new_string(path));
        for (const char *const *a = argv; a && *a; a++)
                json_object_array_add(args, json_object_new_string(*a));
        json_object_object_add(arguments, "arg", args);
        json_object_object_add(arguments, "capture-output", json_object_new_boolean(true));

        s = strdup(json_object_to_json_string_ext(root, JSON_C_TO_STRING_PLAIN));
        return s;
}

char *agent_command_exec_status(int64_t pid) {
        char *s;

        if (asprintf(&s, "{\"execute\":\"guest-exec-status\",\"arguments\":{\"pid\":%" PRId64 "}}", pid) < 0)
                return NULL;
        return s;
}
