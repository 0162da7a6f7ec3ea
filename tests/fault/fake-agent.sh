#!/bin/sh
# FAKE guest agent, for the fault tests only (tests/fault/agent.py): runs inside a real test guest
# (busybox sh) on the guest-agent port in place of qemu-ga and answers libvirt the way a broken or
# hostile agent would. The host picks the behaviour with the fake's own command, sent through
# `virsh qemu-agent-command`: {"execute":"fake-mode","arguments":{"mode":M,"users":U}}.
#   ok        well-formed replies: guest-info (every command), guest-get-osinfo (Linux),
#             guest-get-users (U, a comma-separated list, or none), guest-exec, guest-exec-status
#   garbage   a reply that is not JSON
#   badshape  valid JSON of the wrong shape ("supported_commands": 5)
#   large     a well-formed 1 MiB reply (above the service's 256 KiB bound, below libvirt's 10 MiB)
#   huge      100 MiB of reply (NUL bytes; above libvirt's 10 MiB bound), then the port is reopened
#   silent    no reply at all to commands (guest-sync is still answered)
#   slow:S    the ok reply, S seconds late
#   hostile-osinfo, hostile-users, hostile-exec (tests/fault/agent-hostile.py): guest-get-osinfo,
#             guest-get-users and guest-exec answer with control characters (C0, C1, bidi override),
#             guest-exec with an error; the one the mode names answers with bytes that are not UTF-8
#             too (0xFF 0xFE, a lone lead byte, an encoded surrogate; guest-exec: controls only, since
#             libvirt quotes its "desc" only from a reply it could parse)
# After garbage and huge the port is closed and reopened: libvirt stops using an agent that sent
# garbage (or too much) until the guest reconnects it.
for p in /sys/class/virtio-ports/*; do
        [ "$(cat "$p/name" 2>/dev/null)" = org.qemu.guest_agent.0 ] || continue
        dev=/dev/$(basename "$p")
        [ -e "$dev" ] || mknod "$dev" c $(tr ':' ' ' <"$p/dev")
done
[ -n "${dev:-}" ] || { echo "fake-agent: no org.qemu.guest_agent.0 port" >/dev/console; exit 1; }

mode=ok users=
reply() { printf '%s\n' "$1" >&3; }

reopen() {
        exec 3>&-
        sleep 1
        # The port opens once at a time; a writer the time limit just killed may still hold it. A
        # failed exec would end this shell, so try in a subshell first.
        until (exec 3<>"$dev") 2>/dev/null; do
                sleep 0.5
        done
        exec 3<>"$dev"
        echo "fake-agent: port reopened" >/dev/console
}

answer_ok() {
        case $1 in
        *'"guest-info"'*)
                c=
                for n in guest-info guest-exec guest-exec-status guest-get-users guest-get-osinfo guest-sync; do
                        c="$c{\"enabled\":true,\"name\":\"$n\",\"success-response\":true},"
                done
                reply "{\"return\":{\"version\":\"fake\",\"supported_commands\":[${c%,}]}}" ;;
        *'"guest-get-osinfo"'*)
                reply '{"return":{"id":"fake","kernel-name":"Linux","name":"Fake"}}' ;;
        *'"guest-get-users"'*)
                u=
                for n in $(echo "$users" | tr ',' ' '); do
                        u="$u{\"user\":\"$n\",\"login-time\":1.0},"
                done
                reply "{\"return\":[${u%,}]}" ;;
        *'"guest-exec-status"'*)
                reply '{"return":{"exited":true,"exitcode":0}}' ;;
        *'"guest-exec"'*)
                reply '{"return":{"pid":4242}}' ;;
        *)
                reply '{"error":{"class":"CommandNotFound","desc":"fake agent: unknown command"}}' ;;
        esac
}

# Bytes that are not UTF-8 (JSON escapes like \u001b are control characters once decoded). libvirt's
# JSON parser refuses a reply with such bytes and quotes it whole in its error, and then stops using
# the agent: after one, the port is reopened as after garbage.
FF=$(printf '\377') FE=$(printf '\376') LEAD=$(printf '\303') SURROGATE=$(printf '\355\240\200')
CONTROLS='\u001b[31m\u001b]0;pwned\u0007\u0085\u009b2J\u202e'
answer_hostile() {
        case $1 in
        *'"guest-get-osinfo"'*)
                if [ "$mode" = hostile-osinfo ]; then
                        reply "{\"return\":{\"id\":\"$FF$FE\",\"kernel-name\":\"Linux\",\"pretty-name\":\"$LEAD($CONTROLS$SURROGATE\"}}"
                        sleep 1
                        reopen
                else
                        reply "{\"return\":{\"id\":\"evil\",\"kernel-name\":\"Linux\",\"pretty-name\":\"Evil $CONTROLS\"}}"
                fi ;;
        *'"guest-get-users"'*)
                if [ "$mode" = hostile-users ]; then
                        reply "{\"return\":[{\"user\":\"$FF${FE}root$CONTROLS\",\"login-time\":1.0},{\"user\":\"$SURROGATE\",\"login-time\":2.0}]}"
                        sleep 1
                        reopen
                else
                        reply "{\"return\":[{\"user\":\"evil$CONTROLS\",\"login-time\":1.0}]}"
                fi ;;
        *'"guest-exec-status"'*)
                answer_ok "$1" ;;
        *'"guest-exec"'*)
                reply "{\"error\":{\"class\":\"GenericError\",\"desc\":\"no exec for you $CONTROLS\"}}" ;;
        *)
                answer_ok "$1" ;;
        esac
}

exec 3<>"$dev"
echo "fake-agent: serving $dev" >/dev/console
while :; do
        if ! read -r line <&3; then
                # End of file: libvirt is not connected to the port (yet); wait for it.
                sleep 0.2
                continue
        fi
        case $line in
        *'"guest-sync-delimited"'*|*'"guest-sync"'*)
                id=$(echo "$line" | sed -n 's/.*"id" *: *\([0-9]*\).*/\1/p')
                case $line in *delimited*) printf '\377' >&3 ;; esac
                reply "{\"return\":${id:-0}}"
                continue ;;
        *'"fake-mode"'*)
                mode=$(echo "$line" | sed -n 's/.*"mode" *: *"\([a-z0-9:-]*\)".*/\1/p')
                users=$(echo "$line" | sed -n 's/.*"users" *: *"\([a-z0-9,]*\)".*/\1/p')
                echo "fake-agent: mode ${mode:-ok} users '$users'" >/dev/console
                reply '{"return":{}}'
                continue ;;
        esac
        case $mode in
        garbage)
                reply 'this is not JSON }{'
                sleep 1
                reopen ;;
        badshape)
                reply '{"return":{"version":"fake","supported_commands":5}}' ;;
        large)
                { printf '{"return":{"version":"'; head -c 1048576 /dev/zero | tr '\0' a; printf '","supported_commands":[]}}\n'; } >&3 ;;
        huge)
                # libvirt gives up at 10 MiB and stops reading: one process (no pipeline left
                # holding the port open) and a time limit keep the fake from blocking forever.
                printf '{"return":"' >&3
                timeout 10 dd if=/dev/zero bs=1048576 count=100 >&3 2>/dev/null
                reopen ;;
        silent)
                : ;;
        slow:*)
                sleep "${mode#slow:}"
                answer_ok "$line" ;;
        hostile-*)
                answer_hostile "$line" ;;
        *)
                answer_ok "$line" ;;
        esac
done
