/* libFuzzer target for the guest-agent reply parsers: every input goes through each parser of
 * agent-json.h (and agent_sanitize), and the results are checked against the bounds agent-json.h promises. */
#include <assert.h>
#include <errno.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "agent-json.h"
#include "text.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* What text_sanitize() promises: valid UTF-8 without C0/C1 controls or DEL. */
static bool is_printable(const char *s) {
        if (!text_is_valid_utf8(s))
                return false;
        for (const unsigned char *p = (const unsigned char *) s; *p; p++)
                if (*p < 0x20 || *p == 0x7f || (p[0] == 0xC2 && p[1] >= 0x80 && p[1] < 0xA0))
                        return false;
        return true;
}

/* A parser's failure is one of the documented codes, with a printable description. */
static void check_failure(int r, char *error) {
        assert(r == -E2BIG || r == -EBADMSG || r == -EREMOTEIO || r == -ENOMEM);
        if (r != -ENOMEM) {
                assert(error);
                assert(is_printable(error));
        }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
        _cleanup_free_ char *reply = NULL, *clean = NULL;
        int r;

        /* Replies reach the parsers as C strings: libvirt returns them NUL-terminated. */
        reply = malloc(size + 1);
        if (!reply)
                return 0;
        memcpy(reply, data, size);
        reply[size] = 0;

        {
                _cleanup_free_ char *error = NULL;
                AgentInfo info;

                r = agent_parse_info(reply, &info, &error);
                if (r < 0)
                        check_failure(r, error);
        }
        {
                _cleanup_free_ char *error = NULL;
                _cleanup_strv_free_ char **users = NULL;

                r = agent_parse_users(reply, &users, &error);
                if (r < 0)
                        check_failure(r, error);
                else {
                        size_t n = strv_length(users);

                        assert(n <= AGENT_USERS_MAX);
                        for (size_t i = 0; i < n; i++) {
                                size_t len = strlen(users[i]);

                                /* "domain\user", each part 1..AGENT_NAME_MAX bytes */
                                assert(len > 0 && len <= 2 * AGENT_NAME_MAX + 1);
                                for (size_t j = 0; j < i; j++)
                                        assert(strcmp(users[i], users[j]) != 0);
                        }
                }
        }
        {
                _cleanup_free_ char *error = NULL;
                GuestOsKind kind;

                r = agent_parse_osinfo(reply, &kind, &error);
                if (r < 0)
                        check_failure(r, error);
                else
                        assert(kind == GUEST_OS_UNKNOWN || kind == GUEST_OS_LINUX || kind == GUEST_OS_WINDOWS);
        }
        {
                _cleanup_free_ char *error = NULL;
                int64_t pid;

                r = agent_parse_exec(reply, &pid, &error);
                if (r < 0)
                        check_failure(r, error);
                else
                        assert(pid > 0 && pid <= INT32_MAX);
        }
        {
                _cleanup_free_ char *error = NULL;
                AgentExecStatus status;

                r = agent_parse_exec_status(reply, &status, &error);
                if (r < 0)
                        check_failure(r, error);
                else if (status.signalled)
                        assert(status.exited && status.signal >= INT32_MIN && status.signal <= (int64_t) UINT32_MAX);
        }

        clean = agent_sanitize(reply, 200);
        assert(clean);
        assert(strlen(clean) <= 200 && is_printable(clean));
        return 0;
}
