"""A minimal remote-console client for the tests: RFB (VNC) 3.8 over the UNIX socket that
with-env --vnc gives a guest (tests/lib/guest.sh). handshake() does what a viewer does up to the
point where QEMU reports the client as initialized (ProtocolVersion, security type None,
SecurityResult, ClientInit, ServerInit) and keeps the connection open until close(); bare() only
connects, the way a port probe does, and sends nothing."""

import socket
import struct


class RfbError(RuntimeError):
    pass


def _recv_exactly(sock, n):
    data = b""
    while len(data) < n:
        chunk = sock.recv(n - len(data))
        if not chunk:
            raise RfbError(f"the server closed the connection after {len(data)} of {n} bytes")
        data += chunk
    return data


class Client:
    def __init__(self, path, timeout=30):
        self.sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        self.sock.settimeout(timeout)
        self.sock.connect(path)
        self.name = None

    def handshake(self):
        """RFB 3.8 up to ServerInit; returns the desktop name the server sent."""
        version = _recv_exactly(self.sock, 12)
        if not version.startswith(b"RFB "):
            raise RfbError(f"not an RFB server: {version!r}")
        self.sock.sendall(b"RFB 003.008\n")
        n = _recv_exactly(self.sock, 1)[0]
        if n == 0:
            length = struct.unpack(">I", _recv_exactly(self.sock, 4))[0]
            raise RfbError(f"refused: {_recv_exactly(self.sock, length)!r}")
        types = _recv_exactly(self.sock, n)
        if 1 not in types:
            raise RfbError(f"security type None not offered: {list(types)}")
        self.sock.sendall(bytes([1]))
        result = struct.unpack(">I", _recv_exactly(self.sock, 4))[0]
        if result != 0:
            raise RfbError(f"SecurityResult {result}")
        self.sock.sendall(bytes([1]))                  # ClientInit: shared desktop
        header = _recv_exactly(self.sock, 24)           # width, height, pixel format, name length
        length = struct.unpack(">I", header[20:24])[0]
        self.name = _recv_exactly(self.sock, min(length, 4096)).decode(errors="replace")
        return self.name

    def close(self):
        self.sock.close()


def handshake(path):
    """A client that passed its handshake, still connected."""
    c = Client(path)
    c.handshake()
    return c


def bare(path):
    """A connection that never says anything."""
    return Client(path)
