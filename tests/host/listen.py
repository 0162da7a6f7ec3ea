#!/usr/bin/python3
"""listen.py LOG READY PATH... — stands in for the UNIX sockets that a host's systemd holds for its
stopped libvirt daemons (libvirtd.socket, virtqemud.socket, ...: a connection would start the
daemon) and for the URIs a host's environment names. Listens on every PATH; each connection is
accepted, logged to LOG with the connecting process's pid and command line (SO_PEERCRED), and
closed. The host test fails if LOG is not empty: something of the test environment reached for
the host's libvirt. Touches READY once every socket listens; runs until killed."""

import os
import selectors
import socket
import struct
import sys

log_path, ready, paths = sys.argv[1], sys.argv[2], sys.argv[3:]
sel = selectors.DefaultSelector()
for path in paths:
    s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    s.bind(path)
    s.listen(16)
    sel.register(s, selectors.EVENT_READ, path)
open(ready, "w").close()

while True:
    for key, _ in sel.select():
        conn, _ = key.fileobj.accept()
        pid, uid, _ = struct.unpack("3i", conn.getsockopt(socket.SOL_SOCKET, socket.SO_PEERCRED, 12))
        try:
            with open(f"/proc/{pid}/cmdline", "rb") as f:
                cmd = f.read().replace(b"\0", b" ").decode(errors="replace").strip()
        except OSError:
            cmd = "?"
        conn.close()
        with open(log_path, "a") as f:
            f.write(f"{key.data}: pid {pid} uid {uid}: {cmd}\n")
