# The Linux logoff program: linux-logind where systemd-logind manages the sessions, else linux-plain.
# One guest-exec decides and acts (a separate probe would cost a second guest-exec).
linux_logind() {
@LINUX_LOGIND@
}
linux_plain() {
@LINUX_PLAIN@
}
if test -d /run/systemd/system && command -v loginctl >/dev/null; then
  linux_logind
else
  linux_plain
fi
