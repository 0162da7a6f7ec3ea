/* Interactive authorization the way systemctl and machinectl do it: on a terminal, run polkit's
 * text agent (pkttyagent) for the duration of a privileged call, so polkit can ask for a password.
 * Invoked as systemd does: the agent registers for the caller's login session (polkit 122 matches a
 * system-bus-name subject to session agents only; it rejects agents scoped to a bus name). */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <sys/wait.h>
#include <unistd.h>

#include "vpcctl.h"

#ifndef PKTTYAGENT
#define PKTTYAGENT "/usr/bin/pkttyagent"
#endif

static pid_t agent_pid = 0;

void polkit_agent_open_if_enabled(void) {
        _cleanup_close_ int notify_read = -1;
        int pipefd[2];

        /* No agent when nobody can answer it, when it could not help (root needs no polkit here; a
         * remote host's polkit cannot reach a local agent), or when asked not to. */
        if (!arg.ask_password || agent_pid > 0 || arg.host)
                return;
        if (geteuid() == 0 || !isatty(STDIN_FILENO))
                return;
        if (access(PKTTYAGENT, X_OK) < 0)
                return;
        if (pipe2(pipefd, O_CLOEXEC) < 0)
                return;
        notify_read = pipefd[0];

        pid_t pid = fork();
        if (pid < 0) {
                close(pipefd[1]);
                return;
        }
        if (pid == 0) {
                char fd_text[16];

                /* The notify fd must survive exec; the agent closes it once it is registered. */
                if (fcntl(pipefd[1], F_SETFD, 0) < 0)
                        _exit(127);
                snprintf(fd_text, sizeof fd_text, "%d", pipefd[1]);
                execl(PKTTYAGENT, PKTTYAGENT, "--notify-fd", fd_text, "--fallback", (char *) NULL);
                _exit(127);
        }
        close(pipefd[1]);
        agent_pid = pid;

        /* Wait (briefly) until the agent is registered, or the call would race it. */
        struct pollfd p = { .fd = notify_read, .events = POLLIN };
        (void) poll(&p, 1, 5000);
}

void polkit_agent_close(void) {
        if (agent_pid <= 0)
                return;
        (void) kill(agent_pid, SIGTERM);
        while (waitpid(agent_pid, NULL, 0) < 0 && errno == EINTR)
                ;
        agent_pid = 0;
}
