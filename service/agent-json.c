/* Guest-agent JSON: command documents and strict reply parsers (see agent-json.h for the contract). */
#include <errno.h>
#include <inttypes.h>
#include <json-c/json.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>

#include "agent-json.h"
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

void agent_excerpt(const uint8_t *data, size_t n, char *buf, size_t max) {
        size_t len = 0;

        for (size_t i = 0; i < n && len < max; i++) {
                uint8_t c = data[i];

                if (c == '\n' || c == '\r' || c == '\t') {
                        /* One space for a run of line breaks, none at the start. */
                        if (len > 0 && buf[len - 1] != ' ')
                                buf[len++] = ' ';
                } else
                        buf[len++] = (c >= 0x20 && c < 0x7f) ? (char) c : '?';
        }
        while (len > 0 && buf[len - 1] == ' ')
                len--;
        buf[len] = 0;
}

const char *agent_exec_status_to_string(const AgentExecStatus *st, GuestOsKind os, char *buf, size_t size) {
        if (!st->exited)
                snprintf(buf, size, "still running");
        else if (st->signalled && os == GUEST_OS_WINDOWS)
                /* qemu-ga's "signal" on Windows is the process's NTSTATUS, e.g. 0xC000013A. */
                snprintf(buf, size, "NTSTATUS 0x%08" PRIX32, (uint32_t) st->signal);
        else if (st->signalled)
                snprintf(buf, size, "signal %" PRId64, st->signal);
        else if (st->exit_code < 0 || st->exit_code > 255)
                snprintf(buf, size, "exit status 0x%08" PRIX32, (uint32_t) st->exit_code);
        else
                snprintf(buf, size, "exit status %" PRId64, st->exit_code);
        return buf;
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

/* A name from the guest: a JSON string of 1..AGENT_NAME_MAX bytes (0.. for a domain) without an
 * embedded NUL, which json-c would decode from "\u0000" and C would silently cut the name at. Bytes
 * are otherwise taken as they come (UTF-8 from json-c's \u decoding, U+FFFD where qemu-ga could not
 * convert a Windows name): they are only compared, and sanitized wherever they are shown. */
static const char *get_name(json_object *o, const char *key, bool allow_empty, bool *ret_present) {
        json_object *v;
        const char *s;
        size_t n;

        *ret_present = json_object_object_get_ex(o, key, &v);
        if (!*ret_present || !json_object_is_type(v, json_type_string))
                return NULL;
        s = json_object_get_string(v);
        n = (size_t) json_object_get_string_len(v);
        if (n > AGENT_NAME_MAX || strnlen(s, n + 1) != n || (n == 0 && !allow_empty))
                return NULL;
        return s;
}

/* guest-get-users' return: an array of at most AGENT_USERS_MAX entries (root owns it). */
static int parse_user_array(const char *reply, json_object **root, json_object **ret_list, size_t *ret_n,
                            char **ret_error) {
        int r;

        r = parse_return(reply, json_type_array, "guest-get-users", root, ret_list, ret_error);
        if (r < 0)
                return r;
        *ret_n = json_object_array_length(*ret_list);
        if (*ret_n > AGENT_USERS_MAX)
                return set_error(ret_error, -E2BIG, "guest-get-users: more than %u users", AGENT_USERS_MAX);
        return 0;
}

/* One entry of guest-get-users, checked: the user name (1.. bytes), the domain (NULL when absent;
 * Windows qemu-ga always sends the session's, "" for none, Linux qemu-ga none) and login-time (NULL
 * when absent; seconds since the epoch, a float from qemu-ga, an integer from others, negative from
 * Windows qemu-ga for a session whose LogonTime is 0). */
static int parse_user_entry(json_object *u, const char **ret_user, const char **ret_domain, json_object **ret_login,
                            char **ret_error) {
        json_object *login = NULL;
        bool present;

        if (!json_object_is_type(u, json_type_object))
                return set_error(ret_error, -EBADMSG, "guest-get-users: entry is not an object");
        *ret_user = get_name(u, "user", false, &present);
        if (!*ret_user)
                return set_error(ret_error, -EBADMSG, "guest-get-users: entry without a valid user name");
        *ret_domain = get_name(u, "domain", true, &present);
        if (present && !*ret_domain)
                return set_error(ret_error, -EBADMSG, "guest-get-users: invalid domain name");
        if (json_object_object_get_ex(u, "login-time", &login) &&
            !(json_object_is_type(login, json_type_int) ||
              (json_object_is_type(login, json_type_double) && isfinite(json_object_get_double(login)))))
                return set_error(ret_error, -EBADMSG, "guest-get-users: login-time is not a number");
        if (ret_login)
                *ret_login = login;
        return 0;
}

int agent_parse_users(const char *reply, char ***ret_users, char **ret_error) {
        _cleanup_json_ json_object *root = NULL;
        _cleanup_strv_free_ char **users = NULL;
        json_object *list;
        size_t n, n_users = 0;
        int r;

        r = parse_user_array(reply, &root, &list, &n, ret_error);
        if (r < 0)
                return r;

        users = calloc(n + 1, sizeof(char *));
        if (!users)
                return -ENOMEM;

        for (size_t i = 0; i < n; i++) {
                const char *user, *domain;
                bool seen = false;
                char *id;

                r = parse_user_entry(json_object_array_get_idx(list, i), &user, &domain, NULL, ret_error);
                if (r < 0)
                        return r;

                /* Windows users are only unique together with their domain: CORP\alice and
                 * AzureAD\alice are two users. */
                if (domain && domain[0] ? asprintf(&id, "%s\\%s", domain, user) < 0 : !(id = strdup(user)))
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

void agent_users_free(AgentUser *users, size_t n) {
        for (size_t i = 0; users && i < n; i++) {
                free(users[i].user);
                free(users[i].domain);
        }
        free(users);
}

/* Seconds since the epoch (a float from qemu-ga, an integer from others) to µs; the agent may send
 * anything, so out of range is clamped: before the epoch (Windows' LogonTime 0) reads as unknown. */
static uint64_t login_time_usec(json_object *v) {
        double seconds = json_object_is_type(v, json_type_int) ? (double) json_object_get_int64(v)
                                                               : json_object_get_double(v);

        if (!(seconds > 0))
                return 0;
        if (seconds >= (double) (UINT64_MAX / USEC_PER_SEC))
                return UINT64_MAX / USEC_PER_SEC * USEC_PER_SEC;
        return (uint64_t) (seconds * (double) USEC_PER_SEC);
}

int agent_parse_user_list(const char *reply, AgentUser **ret_users, size_t *ret_n, char **ret_error) {
        _cleanup_json_ json_object *root = NULL;
        AgentUser *users;
        json_object *list;
        size_t n;
        int r;

        r = parse_user_array(reply, &root, &list, &n, ret_error);
        if (r < 0)
                return r;

        users = calloc(n + 1, sizeof(AgentUser));
        if (!users)
                return -ENOMEM;
        for (size_t i = 0; i < n; i++) {
                const char *user, *domain;
                json_object *login;

                /* The same checks as agent_parse_users(): a list one reader accepts, the other does. */
                r = parse_user_entry(json_object_array_get_idx(list, i), &user, &domain, &login, ret_error);
                if (r >= 0) {
                        users[i].user = agent_sanitize(user, AGENT_NAME_MAX * 4);
                        users[i].domain = agent_sanitize(domain, AGENT_NAME_MAX * 4);
                        users[i].login_usec = login ? login_time_usec(login) : 0;
                        if (!users[i].user || !users[i].domain)
                                r = -ENOMEM;
                }
                if (r < 0) {
                        agent_users_free(users, n);
                        return r;
                }
        }
        *ret_users = users;
        *ret_n = n;
        return 0;
}

int agent_parse_os_name(const char *reply, char **ret_name, char **ret_error) {
        _cleanup_json_ json_object *root = NULL;
        json_object *info;
        const char *name;
        char *clean;
        int r;

        r = parse_return(reply, json_type_object, "guest-get-osinfo", &root, &info, ret_error);
        if (r < 0)
                return r;
        name = get_string(info, "pretty-name");
        if (!name || !*name)
                name = get_string(info, "name");
        clean = agent_sanitize(name, AGENT_OS_NAME_MAX);
        if (!clean)
                return -ENOMEM;
        *ret_name = clean;
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

/* Decodes standard base64 (qemu-ga's g_base64_encode) into buf, at most max bytes kept; the rest
 * is checked but dropped. -EBADMSG for anything that is not base64. */
static int base64_decode_prefix(const char *in, size_t len, uint8_t *buf, size_t max, size_t *ret_n) {
        uint32_t acc = 0;
        size_t n = 0, bits = 0, pad = 0;

        if (len % 4 != 0)
                return -EBADMSG;
        for (size_t i = 0; i < len; i++) {
                char c = in[i];
                int v;

                if (c == '=') {
                        /* Padding only at the end, at most two. */
                        if (++pad > 2 || i < len - 2)
                                return -EBADMSG;
                        continue;
                }
                if (pad > 0)
                        return -EBADMSG;
                if (c >= 'A' && c <= 'Z')
                        v = c - 'A';
                else if (c >= 'a' && c <= 'z')
                        v = c - 'a' + 26;
                else if (c >= '0' && c <= '9')
                        v = c - '0' + 52;
                else if (c == '+')
                        v = 62;
                else if (c == '/')
                        v = 63;
                else
                        return -EBADMSG;
                acc = (acc << 6) | (uint32_t) v;
                bits += 6;
                if (bits >= 8) {
                        bits -= 8;
                        if (n < max)
                                buf[n++] = (uint8_t) (acc >> bits);
                        acc &= (1U << bits) - 1;
                }
        }
        *ret_n = n;
        return 0;
}

static int get_output(json_object *result, const char *data_key, const char *truncated_key, char *excerpt,
                      bool *ret_truncated) {
        uint8_t buf[AGENT_EXCERPT_MAX];
        json_object *v;
        size_t n = 0;
        int r;

        excerpt[0] = 0;
        *ret_truncated = false;
        if (json_object_object_get_ex(result, truncated_key, &v)) {
                if (!json_object_is_type(v, json_type_boolean))
                        return -EBADMSG;
                *ret_truncated = json_object_get_boolean(v);
        }
        if (!json_object_object_get_ex(result, data_key, &v))
                return 0;
        if (!json_object_is_type(v, json_type_string))
                return -EBADMSG;
        r = base64_decode_prefix(json_object_get_string(v), (size_t) json_object_get_string_len(v), buf,
                                 sizeof(buf), &n);
        if (r < 0)
                return r;
        agent_excerpt(buf, n, excerpt, AGENT_EXCERPT_MAX);
        return 0;
}

/* An exit code or signal: a JSON integer in [INT32_MIN, UINT32_MAX] (see AgentExecStatus). */
static int get_status_value(json_object *o, const char *key, int64_t *ret) {
        int64_t v;
        int r;

        r = get_int(o, key, &v);
        if (r < 0)
                return r;
        if (v < INT32_MIN || v > (int64_t) UINT32_MAX)
                return -ERANGE;
        *ret = v;
        return 0;
}

int agent_parse_exec_status(const char *reply, AgentExecStatus *ret, char **ret_error) {
        _cleanup_json_ json_object *root = NULL;
        json_object *result, *exited;
        AgentExecStatus status = {};
        int r;

        r = parse_return(reply, json_type_object, "guest-exec-status", &root, &result, ret_error);
        if (r < 0)
                return r;
        if (!json_object_object_get_ex(result, "exited", &exited) || !json_object_is_type(exited, json_type_boolean))
                return set_error(ret_error, -EBADMSG, "guest-exec-status: reply without \"exited\"");

        status.exited = json_object_get_boolean(exited);
        if (status.exited) {
                bool has_signal = json_object_object_get_ex(result, "signal", NULL);

                if (has_signal) {
                        if (get_status_value(result, "signal", &status.signal) < 0)
                                return set_error(ret_error, -EBADMSG, "guest-exec-status: invalid signal");
                        status.signalled = true;
                } else if (get_status_value(result, "exitcode", &status.exit_code) < 0)
                        return set_error(ret_error, -EBADMSG, "guest-exec-status: exited without a valid exitcode");
        }
        if (get_output(result, "out-data", "out-truncated", status.out, &status.out_truncated) < 0 ||
            get_output(result, "err-data", "err-truncated", status.err, &status.err_truncated) < 0)
                return set_error(ret_error, -EBADMSG, "guest-exec-status: invalid out-data, err-data or *-truncated");

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
