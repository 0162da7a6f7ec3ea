/* session-leader: logs a user in inside the test guest the way login(1) or sshd do, so the guest has
 * real logon sessions: it writes the USER_PROCESS utmp record, starts the user's session (a new
 * session id, the user's uid and gid, the given command), waits for the session to end and then
 * writes the DEAD_PROCESS record. Built statically on the host; runs as root under busybox init.
 *
 * usage: session-leader USER TTY -- COMMAND [ARGS...]
 * The user is looked up in /etc/passwd by hand: a static glibc has no NSS. */
#define _GNU_SOURCE
#include <errno.h>
#include <grp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/time.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <unistd.h>
#include <utmpx.h>

static int lookup_user(const char *name, uid_t *uid, gid_t *gid) {
        char line[512];
        FILE *f = fopen("/etc/passwd", "re");
        int found = -1;

        if (!f)
                return -1;
        while (fgets(line, sizeof(line), f)) {
                char *fields[7] = {}, *save = NULL, *p = line;
                int n = 0;

                for (char *t; n < 7 && (t = strtok_r(p, ":", &save)); p = NULL)
                        fields[n++] = t;
                if (n >= 4 && strcmp(fields[0], name) == 0) {
                        *uid = (uid_t) strtoul(fields[2], NULL, 10);
                        *gid = (gid_t) strtoul(fields[3], NULL, 10);
                        found = 0;
                        break;
                }
        }
        fclose(f);
        return found;
}

static void write_record(short type, const char *user, const char *tty, pid_t pid) {
        struct utmpx u = {};
        struct timeval tv;

        gettimeofday(&tv, NULL);
        u.ut_type = type;
        u.ut_pid = pid;
        snprintf(u.ut_line, sizeof(u.ut_line), "%s", tty);
        /* ut_id: the tty's last four characters, as login does. It is not NUL-terminated: snprintf
         * would keep only three, and "pts/1", "pts/2" would then share one slot (one record). */
        strncpy(u.ut_id, strlen(tty) > sizeof(u.ut_id) ? tty + strlen(tty) - sizeof(u.ut_id) : tty,
                sizeof(u.ut_id));
        if (type == USER_PROCESS)
                snprintf(u.ut_user, sizeof(u.ut_user), "%s", user);
        snprintf(u.ut_host, sizeof(u.ut_host), "%s", "vpc-test");
        u.ut_tv.tv_sec = (int32_t) tv.tv_sec;
        u.ut_tv.tv_usec = (int32_t) tv.tv_usec;

        setutxent();
        if (!pututxline(&u))
                fprintf(stderr, "session-leader: cannot write utmp: %m\n");
        endutxent();
        updwtmpx("/var/log/wtmp", &u);
}

int main(int argc, char *argv[]) {
        const char *user, *tty;
        uid_t uid;
        gid_t gid;
        pid_t child;
        int status;

        if (argc < 5 || strcmp(argv[3], "--") != 0) {
                fprintf(stderr, "usage: session-leader USER TTY -- COMMAND [ARGS...]\n");
                return 2;
        }
        user = argv[1];
        tty = argv[2];
        if (lookup_user(user, &uid, &gid) < 0) {
                fprintf(stderr, "session-leader: no user %s\n", user);
                return 1;
        }

        child = fork();
        if (child < 0)
                return 1;
        if (child == 0) {
                /* The user's session: its own session id, the user's credentials, the command. */
                if (setsid() < 0 || setgroups(0, NULL) < 0 || setgid(gid) < 0 || setuid(uid) < 0) {
                        fprintf(stderr, "session-leader: cannot become %s: %m\n", user);
                        _exit(1);
                }
                if (chdir("/") < 0)
                        _exit(1);
                execv(argv[4], argv + 4);
                fprintf(stderr, "session-leader: cannot run %s: %m\n", argv[4]);
                _exit(127);
        }

        write_record(USER_PROCESS, user, tty, child);
        while (waitpid(child, &status, 0) < 0 && errno == EINTR)
                ;
        write_record(DEAD_PROCESS, user, tty, child);
        fprintf(stderr, "session-leader: session of %s on %s ended\n", user, tty);
        return 0;
}
