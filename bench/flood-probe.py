#!/usr/bin/python3
"""bench/flood-probe.py REQUEST: one caller's calls, one at a time on one connection, until its stdin
closes; prints "ready" once connected, then one JSON line: [start (CLOCK_MONOTONIC, s), latency
(s), error name or "ok"] per call. Run by vpcbench/flood.py beside a flooding caller, as root or as
a test user."""

import json
import select
import sys
import time

import dbus

req = json.loads(sys.argv[1])
conn = dbus.SystemBus()
samples = []
print("ready", flush=True)      # connected: the caller's clock of "unloaded" starts now
while not select.select([sys.stdin], [], [], 0)[0]:
    msg = dbus.lowlevel.MethodCallMessage("org.vpc", req["path"], req["interface"], req["method"])
    if req.get("signature"):
        msg.append(*req["args"], signature=req["signature"])
    t0 = time.monotonic()
    try:
        conn.send_message_with_reply_and_block(msg, 120)
        name = "ok"
    except dbus.exceptions.DBusException as e:
        name = e.get_dbus_name()
    samples.append((t0, time.monotonic() - t0, name))
    time.sleep(req.get("pause", 0.005))
print(json.dumps(samples))
