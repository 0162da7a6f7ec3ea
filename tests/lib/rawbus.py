"""A D-Bus method call marshalled by hand on a connection of its own, for what a binding refuses to
send: an a{sv} with a key twice, a string that is not UTF-8. The bus address is
DBUS_SYSTEM_BUS_ADDRESS (a unix path); the caller is the process's own uid (AUTH EXTERNAL)."""

import os
import socket
import struct


def pad(b, n):
    return b + b"\0" * (-len(b) % n)


def string(v):
    """A marshalled string or object path (v: bytes, any bytes)."""
    return struct.pack("<I", len(v)) + v + b"\0"


def with_asv(prefix, entries):
    """A body of `prefix` (marshalled arguments before it) and then an a{sv} of the (key, variant
    signature, marshalled value) entries, in order, duplicates kept."""
    body = pad(prefix, 4)
    length_at = len(body)
    body = pad(body + struct.pack("<I", 0), 8)
    start = len(body)
    for key, sig, value in entries:
        body = pad(body, 8)
        entry = string(key.encode()) + bytes([len(sig)]) + sig.encode() + b"\0"
        body += pad(entry, 4) + value
    return body[:length_at] + struct.pack("<I", len(body) - start) + body[length_at + 4:]


def _header_field(code, sig, value):
    return bytes([code, 1]) + sig.encode() + b"\0" + value


def _message(serial, path, iface, member, dest, sig, body):
    parts = [_header_field(1, "o", string(path.encode())), _header_field(3, "s", string(member.encode())),
             _header_field(6, "s", string(dest.encode()))]
    if iface:
        parts.append(_header_field(2, "s", string(iface.encode())))
    if sig:
        parts.append(_header_field(8, "g", bytes([len(sig)]) + sig.encode() + b"\0"))
    # Each field on 8 bytes; the array's length leaves out the padding after the last.
    fields = b"".join(pad(f, 8) for f in parts[:-1]) + parts[-1]
    head = b"l" + bytes([1, 0, 1]) + struct.pack("<III", len(body), serial, len(fields))
    return pad(head + fields, 8) + body


def call(dest, path, iface, member, sig, body, answered, timeout=10):
    """Authenticates, says Hello, sends the call and reads until answered(bytes read) is true:
    returns those bytes, "disconnected" when the bus closed the connection, "no auth", or what came
    before the timeout."""
    addr = os.environ["DBUS_SYSTEM_BUS_ADDRESS"]
    s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    s.settimeout(timeout)
    s.connect(addr.split("path=", 1)[1].split(",", 1)[0])
    got = b""
    try:
        s.sendall(b"\0AUTH EXTERNAL " + str(os.getuid()).encode().hex().encode() + b"\r\n")
        if not s.recv(4096).startswith(b"OK"):
            return "no auth"
        s.sendall(b"BEGIN\r\n")
        s.sendall(_message(1, "/org/freedesktop/DBus", "org.freedesktop.DBus", "Hello", "org.freedesktop.DBus", "", b""))
        s.sendall(_message(2, path, iface, member, dest, sig, body))
        while True:
            chunk = s.recv(65536)
            if not chunk:
                return "disconnected"
            got += chunk
            if answered(got):
                return got
    except socket.timeout:
        return got
    finally:
        s.close()
