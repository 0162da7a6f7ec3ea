#!/usr/bin/python3
"""A flooding D-Bus client for the fault tests: sends `count` calls of one method at once on one
connection (pipelined, no waiting in between), then waits for every answer and prints a JSON
summary: answers by error name ("ok" for a reply), slowest answer, wall time. With exit_after_send it
leaves the bus right after sending, while the calls are still pending (a caller that disconnects).
With sequential, a probe instead: connected, it prints "ready", waits for a line on stdin, then sends
the calls one at a time and adds each one's latency, which then leaves out the start of a Python
process (most of a call's time through vpctest.call() under load)."""

import json
import os
import sys
import time
from collections import Counter

import dbus
from dbus.mainloop.glib import DBusGMainLoop
from gi.repository import GLib

req = json.loads(sys.argv[1])
DBusGMainLoop(set_as_default=True)
conn = dbus.SystemBus()
loop = GLib.MainLoop()
answers = Counter()
slowest = 0.0
pending = req["count"]
start = time.monotonic()


last_answer = 0.0
first_message = None


def answered(name, message=None):
    global pending, slowest, last_answer, first_message
    answers[name] += 1
    first_message = first_message or message
    last_answer = time.monotonic()
    slowest = max(slowest, last_answer - start)
    pending -= 1
    if pending == 0:
        loop.quit()


if req.get("sequential"):
    print("ready", flush=True)
    sys.stdin.readline()
    first_sent = time.monotonic()
    latencies = []
    for _ in range(req["count"]):
        msg = dbus.lowlevel.MethodCallMessage("org.vpc", req["path"], req["interface"], req["method"])
        t0 = time.monotonic()
        try:
            conn.send_message_with_reply_and_block(msg, req.get("timeout", 60))
            answers["ok"] += 1
        except dbus.exceptions.DBusException as e:
            answers[e.get_dbus_name()] += 1
        latencies.append(round(time.monotonic() - t0, 4))
    print(json.dumps({"sent": req["count"], "answers": dict(answers), "latencies": latencies,
                      "first_sent": first_sent}))
    sys.exit(0)

for _ in range(req["count"]):
    conn.call_async("org.vpc", req["path"], req["interface"], req["method"], req.get("signature", ""),
                    req.get("args", []), lambda *a: answered("ok"),
                    lambda e: answered(e.get_dbus_name(), e.get_dbus_message()), timeout=req.get("timeout", 60))
if req.get("exit_after_send"):
    conn.flush()
    print(json.dumps({"sent": req["count"]}))
    sys.stdout.flush()
    os._exit(0)

# All are queued and the first written: a probe started now runs during the flood.
print("flooding", flush=True)
GLib.timeout_add_seconds(int(req.get("timeout", 60)) + 5, loop.quit)
loop.run()
print(json.dumps({"sent": req["count"], "answers": dict(answers), "unanswered": pending,
                  "slowest": round(slowest, 3), "wall": round(time.monotonic() - start, 3),
                  "last_answer": last_answer, "first_message": first_message}))
