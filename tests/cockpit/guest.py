#!/usr/bin/python3
"""The Cockpit page in a real browser on a real guest (g1: the busybox TCG guest with the real
qemu-ga, alice and bob logged in), real cockpit-ws and cockpit-bridge, the real daemon, dbus-daemon,
polkitd and libvirtd: the row shows the agent connected, the guest's OS and its users; Log off first
shows who will be logged off, then a progress bar that rises to 100, the outcome in words with its
HRESULT, and the users gone (in the page and in the guest, asked of its own qemu-ga); again, with
nobody left, "nobody was logged on — 0x80070520"; "Log off all running VMs"; a user outside the
rules' group sees 0x80070005 and the guest's users stay; a task kept running by a user who ignores
SIGTERM shows in the task list and Cancel ends it with 0x800704C7; the daemon stopped (SIGTERM, then
SIGKILL) and started again during a Log off that waits for the stubborn user: while it is away the
row and the task list say they wait for the service, when it is back they follow the same task to
its real end (all users logged off — 0x00000000, nobody left), the progress never going back; the
guest destroyed and started again while the page is open (state, agent, OS follow without a reload);
no console errors. The daemon runs with --logoff-timeout 300 (the stubborn user's task runs until it
is cancelled, or the test kills her)."""

import os
import subprocess
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from pagetest import *  # noqa: E402,F403
import vpcguest  # noqa: E402

VM = "g1"
USERS = ["alice", "bob"]
DOCS_SCREENSHOT = os.environ.get("VPC_COCKPIT_DOCS_SCREENSHOT")
ENVCTL = os.path.join(os.environ.get("VPC_SOURCE_ROOT", os.path.join(os.path.dirname(__file__), "..", "..")),
                      "tests", "lib", "envctl")
ENV_DIR = os.environ["VPC_ENV_DIR"]
DAEMON_ARGS = os.environ.get("VPC_DAEMON_ARGS", "").split()
CAROL_UID = 1003


def login(user, tty, stubborn=False):
    argv = ["/etc/vpc-login", user, tty] + (["stubborn"] if stubborn else [])
    rc, _, err = vpcguest.guest_exec(VM, argv)
    if rc != 0:
        raise RuntimeError(f"vpc-login {user} in {VM}: {err}")


def wait_guest_users(want, timeout=60):
    return wait_until(lambda: vpcguest.users(VM) == sorted(want), timeout, 0.2) and vpcguest.users(VM)


def wait_tasks(page, cond, timeout=60):
    """The task list once cond(list) holds (the task objects reach the page through ObjectManager,
    apart from the signals that drive the VM's row), else the list as it is then."""
    return wait_until(lambda: cond(page.tasks()) and page.tasks(), timeout, 0.1) or page.tasks()


def open_confirm(page, selector):
    page.click(selector)
    page.wait("!document.getElementById('vpc-confirm').hidden && !document.getElementById('vpc-confirm-ok').disabled",
              60, "the confirmation, once it knows who is logged on")
    return page.dialog()


def outcome_after(page, selector):
    """Confirms, and waits for the row's final outcome (not 'starting…' nor 'running')."""
    page.evaluate("window.__vpcProgress = []")
    page.click(selector)
    return page.wait_row(VM, "r.outcome !== '' && r.outcome !== 'starting…' && !r.outcome.startsWith('running')",
                         120, "the Log off's outcome")


def body():
    check(wait_guest_users(USERS) == USERS, "the guest starts with alice and bob logged on")
    with open_page(ALLOWED, "allowed user", observe_rows=True) as page:
        allowed(page)

    login("alice", "pts/6")
    login("bob", "pts/7")
    check(wait_guest_users(USERS) == USERS, "alice and bob logged on again (for the denied user)")
    with open_page(DENIED, "denied user") as page:
        denied(page)

    login("carol", "pts/8", stubborn=True)
    check(wait_guest_users(USERS + ["carol"]) == USERS + ["carol"], "alice, bob and stubborn carol are logged on")
    with open_page(ALLOWED, "cancel and restart", observe_rows=True) as page:
        cancel(page)
        t0 = time.monotonic()
        reattach(page)
        print(f"# reattach: {time.monotonic() - t0:.1f} s")
        restart(page)


def allowed(page):
    # OSName is read when the agent connects, off the daemon's loop: wait for it on the bus first.
    wait_until(lambda: get_property(encode_path(VM), "org.vpc.GuestOS", "OSName"), 60, 0.2)
    props = call(encode_path(VM), "org.freedesktop.DBus.Properties", "GetAll", "s", ("org.vpc.GuestOS",)).value
    os_name = props.get("OSName") or "—"
    r = page.wait_row(VM, f"r.agent === 'connected' && r.os === {js(os_name)} && r.users === 'alice, bob'", 60,
                      "g1's row: agent connected, its OS, alice and bob")
    check(r is not None and r["state"] == "running" and not r["disabled"],
          f"the real guest's row: running, agent connected, OS '{os_name}', users alice, bob", page.row(VM))
    check(os_name != "—", "the guest's OSName is known (guest-get-osinfo)", props.get("OSName"))

    # --- Log off: who, then progress, then the outcome ---------------------------------------
    sel = page.row_selector(VM) + " .vpc-vm-logoff"
    d = open_confirm(page, sel)
    check(d["title"] == "Log off every user of g1?" and len(d["items"]) == 1
          and "alice (logged on since" in d["items"][0] and "bob (logged on since" in d["items"][0],
          "before it starts, the confirmation shows who will be logged off: alice and bob (ListUsers)", d)
    r = outcome_after(page, "#vpc-confirm-ok")
    check(r is not None and r["outcome"] == "all users logged off — 0x00000000",
          "the outcome in words: all users logged off — 0x00000000", r)
    progress = [p["value"] for p in page.evaluate("window.__vpcProgress") if p["name"] == VM]
    check(progress and progress[-1] == 100 and progress == sorted(progress),
          "the progress bar rose to 100 (never back)", progress)
    check(r is not None and r["progress_shown"] and r["progress"] == 100, "and stays full at the end", r)
    check(wait_guest_users([]) == [], "the guest's own qemu-ga lists nobody any more", vpcguest.users(VM))
    check(page.wait_row(VM, "r.users === 'nobody'", 60) is not None,
          "the page's users column says nobody", page.row(VM))
    tasks = wait_tasks(page, lambda ts: len(ts) == 1 and ts[0]["outcome"] != "" and not ts[0]["outcome"].startswith("running"))
    check(len(tasks) == 1 and tasks[0]["vm"] == VM and tasks[0]["outcome"] == "all users logged off — 0x00000000"
          and tasks[0]["percent"] == "100 %" and not tasks[0]["cancel_shown"],
          "the task list shows the finished task: g1, 100 %, its outcome, no Cancel", tasks)

    # --- again, with nobody logged on ---------------------------------------------------------
    d = open_confirm(page, sel)
    check(d["items"] == ["nobody is logged on"], "the confirmation says nobody is logged on", d)
    r = outcome_after(page, "#vpc-confirm-ok")
    check(r is not None and r["outcome"] == "nobody was logged on — 0x80070520",
          "the outcome: nobody was logged on — 0x80070520", r)

    # --- Log off all running VMs --------------------------------------------------------------
    login("alice", "pts/4")
    login("bob", "pts/5")
    check(wait_guest_users(USERS) == USERS, "alice and bob logged on again")
    d = open_confirm(page, "#vpc-logoff-all")
    check(d["title"] == "Log off every user of the one running VM?" and len(d["items"]) == 1
          and d["items"][0].startswith("g1: alice (logged on since") and "bob (logged on since" in d["items"][0],
          "'Log off all running VMs' lists g1 and its users alice and bob", d)
    r = outcome_after(page, "#vpc-confirm-ok")
    check(r is not None and r["outcome"] == "all users logged off — 0x00000000",
          "Log off all: g1's users logged off — 0x00000000", r)
    check(wait_guest_users([]) == [], "and the guest lists nobody", vpcguest.users(VM))
    tasks = wait_tasks(page, lambda ts: len(ts) == 3 and not any(t["outcome"].startswith("running") for t in ts))
    check(len(tasks) == 3 and [t["id"] for t in tasks] == ["Logoff #3", "Logoff #2", "Logoff #1"],
          "the task list has the three tasks, newest first", tasks)


def denied(page):
    r = page.wait_row(VM, "r.agent === 'connected' && r.users !== '' && r.users !== 'asking…'", 60)
    check(r is not None and r["users"] == "—", "for the denied user the users column stays '—' (ListUsers denied)", r)
    d = open_confirm(page, page.row_selector(VM) + " .vpc-vm-logoff")
    check(len(d["items"]) == 1 and d["items"][0].startswith("cannot tell who is logged on: not allowed")
          and "0x80070005" in d["items"][0],
          "the confirmation says who is logged on cannot be told: not allowed — 0x80070005", d)
    r = outcome_after(page, "#vpc-confirm-ok")
    check(r is not None and r["outcome"].startswith("not allowed") and r["outcome"].endswith("— 0x80070005")
          and "polkit" in r["detail"],
          "the denied Log off: 'not allowed — 0x80070005' and polkit's reason", r)
    check(vpcguest.users(VM) == USERS, "alice and bob are still logged on in the guest", vpcguest.users(VM))
    tasks = [t["id"] for t in page.tasks()]
    check(tasks == ["Logoff #3", "Logoff #2", "Logoff #1"], "no task was started (the list has the allowed user's three)",
          tasks)


def cancel(page):
    """A Logoff that cannot finish (carol ignores SIGTERM): the task list shows it running, with a
    progress bar short of 100 and Cancel; Cancel ends it with 0x800704C7."""
    d = open_confirm(page, page.row_selector(VM) + " .vpc-vm-logoff")
    check("carol (logged on since" in d["items"][0], "the confirmation names carol too", d)
    page.click("#vpc-confirm-ok")
    r = page.wait_row(VM, "r.outcome.startsWith('running') && r.progress > 0", 120,
                      "the task to run with alice and bob gone")
    check(r is not None and r["progress_shown"] and 0 < r["progress"] < 100,
          "the row shows the running task's progress (alice and bob gone, carol not)", r)
    running = page.wait("""(() => { const r = Array.from(document.querySelectorAll('#vpc-task-rows tr'))
            .find(t => t.dataset.complete === 'false'); return r ? r.dataset.path : null; })()""", 30,
                        "a running task in the task list")
    tasks = {t["path"]: t for t in page.tasks()}
    t = tasks.get(running, {})
    check(t.get("vm") == VM and t.get("cancel_shown") and t.get("outcome", "").startswith("running"),
          "the task list shows it running, for g1, with Cancel", t)
    page.screenshot("cockpit-guest-running.png")
    if DOCS_SCREENSHOT:
        # The light one, then the same moment in the shell's dark theme (NAME-dark.png beside it).
        page.browser.screenshot(DOCS_SCREENSHOT)
        print(f"# docs screenshot: {DOCS_SCREENSHOT}")
        base, ext = os.path.splitext(DOCS_SCREENSHOT)
        page.shell_style("dark")
        page.browser.screenshot(base + "-dark" + ext)
        print(f"# docs screenshot: {base}-dark{ext}")
        page.shell_style("light")
    page.click(f"#vpc-task-rows tr[data-path={js(running)}] .vpc-task-cancel")
    r = page.wait_row(VM, "r.outcome !== '' && !r.outcome.startsWith('running')", 60, "the cancelled outcome")
    check(r is not None and r["outcome"] == "cancelled — 0x800704C7", "Cancel: the row says cancelled — 0x800704C7", r)
    row_sel = f"#vpc-task-rows tr[data-path={js(running)}]"
    t = page.wait(f"""(() => {{ const r = document.querySelector({js(row_sel)});
            return r && r.dataset.complete === 'true' ? r.querySelector('.vpc-task-outcome').textContent : null; }})()""",
                  30, "the task list to show the end")
    check(t == "cancelled — 0x800704C7", "the task list says cancelled — 0x800704C7 too", t)
    check(props_of(running).get("ErrorName") == "org.vpc.Error.Cancelled", "and the task did end Cancelled on the bus")
    check("carol" in vpcguest.users(VM), "carol is still logged on (a cancelled Logoff stops trying)")


def envctl(*args):
    r = subprocess.run([ENVCTL, *args], capture_output=True, text=True, stdin=subprocess.DEVNULL, timeout=120)
    return r.returncode == 0, r.stdout.strip()


def stop_daemon(how):
    """SIGTERM through envctl (as a service manager stops it), or SIGKILL (a crash); True once it
    is gone with the status that says so."""
    if how == "TERM":
        ok, status = envctl("daemon-stop")
        return ok and status == "0"
    with open(os.path.join(ENV_DIR, "daemon.pid")) as f:
        os.kill(int(f.read()), 9)
    status = os.path.join(ENV_DIR, "daemon.status")
    return wait_until(lambda: os.path.exists(status) and open(status).read().strip() == "137", 30, 0.1)


def kill_carol():
    pids = [str(pid) for pid, _ in vpcguest.processes_of(VM, {CAROL_UID})]
    if pids:
        vpcguest.sh(VM, "kill -KILL " + " ".join(pids) + " 2>/dev/null; true")


def reattach(page):
    """A Log off of alice and stubborn carol, and the daemon stopped while it waits for carol, with
    SIGTERM and then with SIGKILL, and started again each time: while it is away the page says so
    (the alert, the row and the task list: waiting for the service, Log off and Cancel disabled),
    when it is back the row follows the same task (the service keeps it at its path), and once
    carol is gone it shows the real end: all users logged off — 0x00000000, nobody left. No reload."""
    login("alice", "pts/9")
    check(wait_guest_users(["alice", "carol"]) == ["alice", "carol"], "alice and stubborn carol are logged on")
    open_confirm(page, page.row_selector(VM) + " .vpc-vm-logoff")
    page.evaluate("window.__vpcProgress = []; window.__vpcNoReload = 21")
    page.click("#vpc-confirm-ok")
    r = page.wait_row(VM, "r.outcome.startsWith('running') && r.progress > 0", 120, "the task to run with alice gone")
    running = page.wait("""(() => { const r = Array.from(document.querySelectorAll('#vpc-task-rows tr'))
            .find(t => t.dataset.complete === 'false'); return r ? r.dataset.path : null; })()""", 30,
                        "the running task in the task list")
    if not check(r is not None and running is not None, "the row and the task list show the task running", page.row(VM)):
        return
    task_sel = f"#vpc-task-rows tr[data-path={js(running)}]"
    percent = r["progress"]
    paths = sorted(t["path"] for t in page.tasks())
    for how in ("TERM", "KILL"):
        if not check(stop_daemon(how), f"{how}: the daemon stopped mid-task"):
            return
        away = page.wait_row(VM, "document.body.dataset.service === 'down' && r.disabled"
                             " && r.outcome.startsWith('waiting for the service')", 30,
                             "the page to show the service away")
        alert = page.evaluate("document.getElementById('vpc-service-alert').hidden ? '' :"
                              " document.getElementById('vpc-service').textContent")
        check(away is not None and alert == "The vpc-guestosd service (org.vpc) is not running."
              and away["outcome"] == f"waiting for the service — {percent} %" and away["progress_shown"],
              f"{how}: while the service is away the page says so: the alert, the row waits for the service"
              f" at {percent} %, Log off disabled", (alert, away or page.row(VM)))
        cancel_disabled = page.evaluate(f"document.querySelector({js(task_sel + ' .vpc-task-cancel')}).disabled")
        outcome = page.evaluate(f"document.querySelector({js(task_sel + ' .vpc-task-outcome')}).textContent")
        check(away is not None and cancel_disabled and outcome == away["outcome"],
              f"{how}: the task list too (its Cancel disabled)", (cancel_disabled, outcome))
        if how == "TERM":
            page.screenshot("cockpit-guest-service-away.png")
        if not check(envctl("daemon-start", *DAEMON_ARGS)[0], f"{how}: the daemon started again"):
            return
        back = page.wait_row(VM, "document.body.dataset.service === 'up' && !r.disabled"
                             " && r.outcome.startsWith('running')", 60, "the page to follow the task again")
        check(back is not None and back["progress"] >= percent
              and page.evaluate("document.getElementById('vpc-service-alert').hidden"),
              f"{how}: the service back, the row follows the running task again (no alert)", back or page.row(VM))
        tasks = page.wait(f"""(() => {{ const r = document.querySelector({js(task_sel)});
                return r && r.dataset.complete === 'false' ? true : null; }})()""", 30, "the task list to have it")
        check(tasks and sorted(t["path"] for t in page.tasks()) == paths,
              f"{how}: the task list has the same task, running, and no other new one", page.tasks())
    kill_carol()
    r = page.wait_row(VM, "r.outcome !== '' && !r.outcome.startsWith('running')", 120, "the task's end")
    check(r is not None and r["outcome"] == "all users logged off — 0x00000000" and r["progress"] == 100,
          "once carol is gone the row shows the task's real end: all users logged off — 0x00000000, 100 %", r)
    done = props_of(running)
    check(done.get("IsComplete") is True and done.get("ErrorCode") == 0 and done.get("ErrorName") == "",
          "the task that ran across both restarts ended with Completed(0) on the bus", done)
    t = page.wait(f"""(() => {{ const r = document.querySelector({js(task_sel)});
            return r && r.dataset.complete === 'true' ? r.querySelector('.vpc-task-outcome').textContent : null; }})()""",
                  30, "the task list to show the end")
    check(t == "all users logged off — 0x00000000", "the task list shows the same end", t)
    check(page.wait_row(VM, "r.users === 'nobody'", 60) is not None, "the users column says nobody", page.row(VM))
    check(wait_guest_users([]) == [], "and the guest's qemu-ga lists nobody", vpcguest.users(VM))
    progress = [p["value"] for p in page.evaluate("window.__vpcProgress") if p["name"] == VM]
    check(progress and progress == sorted(progress) and progress[-1] == 100,
          "the row's progress bar never went back across the restarts, and ended full", progress)
    check(page.evaluate("window.__vpcNoReload") == 21, "all without a reload of the page")


def restart(page):
    """The guest destroyed and started again while the page is open: the row follows libvirt's
    lifecycle and agent events (State, AgentConnected, OSName), without a reload."""
    os_name = page.row(VM)["os"]
    page.evaluate("window.__vpcNoReload = 7")
    virsh = ["virsh", "-q", "-c", vpcguest.URI]
    subprocess.run(virsh + ["destroy", VM], check=True, capture_output=True, timeout=60)
    r = page.wait_row(VM, "r.state === 'shut off' && r.disabled && r.agent === 'not connected' && r.os === '—'"
                      " && r.users === '—'", 60, "g1 shut off in the page")
    check(r is not None, "destroyed: shut off, Log off disabled, agent not connected, OS and users '—'", page.row(VM))
    subprocess.run(virsh + ["start", VM], check=True, capture_output=True, timeout=60)
    r = page.wait_row(VM, "r.state === 'running' && !r.disabled", 60, "g1 running in the page")
    check(r is not None, "started: running, Log off enabled", page.row(VM))
    # TCG boot: generous; the agent's connection is libvirt's agent-lifecycle event.
    r = page.wait_row(VM, f"r.agent === 'connected' && r.os === {js(os_name)} && r.users !== 'asking…'", 240,
                      "g1's agent connected again")
    check(r is not None and r["users"] != "—",
          "its agent connects: agent connected, its OS again, and who is logged on is asked", page.row(VM))
    check(page.evaluate("window.__vpcNoReload") == 7, "all without a reload of the page")


def props_of(task):
    r = call(task, "org.freedesktop.DBus.Properties", "GetAll", "s", ("org.vpc.Task",))
    return r.value if r.ok else {}


run(body)
