"""Shared steps of the cockpit suite: a real cockpit-ws (with its real cockpit-bridge) started as a
test user inside the private test environment, serving the page from the source tree; a headless
chromium on it (cdp.py); and reading the page as a person sees it.

cockpit-ws runs with --no-tls --local-session=cockpit-bridge: no systemd, no PAM, no password; the
bridge runs as whoever started cockpit-ws (runuser -u USER) and talks to DBUS_SYSTEM_BUS_ADDRESS,
the environment's private bus. The page is found as $XDG_DATA_HOME/cockpit/vpc, a directory of
symlinks to cockpit/vpc of the source tree and to the translations the build made of cockpit/po
(po.LANG.js, in VPC_COCKPIT_BUILT) and its vpc-errors.js, as meson install lays them out. DBUS_SESSION_BUS_ADDRESS and SSH_AUTH_SOCK are set (to sockets that
do not exist) so that the bridge neither starts a session bus nor an ssh-agent of its own."""

import contextlib
import json
import os
import pwd
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "lib"))
sys.path.insert(0, HERE)
from vpctest import *  # noqa: E402,F403
import vpctest  # noqa: E402
import cdp  # noqa: E402

COCKPIT_WS = "/usr/lib/cockpit/cockpit-ws"
SOURCE = os.environ.get("VPC_SOURCE_ROOT", os.path.join(HERE, "..", ".."))
ARTIFACTS = os.environ.get("VPC_COCKPIT_ARTIFACTS") or tempfile.gettempdir()
TEST_NAME = os.environ.get("VPC_COCKPIT_TEST", os.path.splitext(os.path.basename(sys.argv[0]))[0])
BUILT = os.environ.get("VPC_COCKPIT_BUILT")
ALLOWED = os.environ.get("VPC_ALLOWED_USER", "vpc-allowed")
DENIED = os.environ.get("VPC_DENIED_USER", "vpc-denied")


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class CockpitWS:
    """One cockpit-ws as `user`, on a port of its own, until stop()."""

    def __init__(self, user):
        for prog, package in ((COCKPIT_WS, "cockpit-ws"), ("/usr/bin/cockpit-bridge", "cockpit-bridge"),
                              (cdp.CHROMIUM, "chromium")):
            if not os.access(prog, os.X_OK):
                raise RuntimeError(f"{prog} is missing: install {package} (scripts/install-deps)")
        self.user = user
        pw = pwd.getpwnam(user)
        self.dir = tempfile.mkdtemp(prefix=f"vpc-cockpit-{user}.")
        for d in ("home", "data/cockpit", "runtime", "config", "cache"):
            os.makedirs(os.path.join(self.dir, d), exist_ok=True)
        page = os.path.join(self.dir, "data", "cockpit", "vpc")
        os.makedirs(page)
        src = os.path.realpath(os.path.join(SOURCE, "cockpit", "vpc"))
        for name in os.listdir(src):
            os.symlink(os.path.join(src, name), os.path.join(page, name))
        if BUILT:
            for name in os.listdir(BUILT):
                if (name.startswith("po.") and name.endswith(".js")) or name == "vpc-errors.js":
                    os.symlink(os.path.join(BUILT, name), os.path.join(page, name))
        for root, dirs, files in os.walk(self.dir):
            for n in dirs + files + [""]:
                p = os.path.join(root, n)
                if not os.path.islink(p):
                    os.chown(p, pw.pw_uid, pw.pw_gid)
        os.chmod(self.dir, 0o755)
        os.chmod(os.path.join(self.dir, "runtime"), 0o700)
        self.log_path = os.path.join(self.dir, "cockpit-ws.log")
        self.proc = None
        for _ in range(10):     # another program may take the port first: try another
            self.port = free_port()
            if self._start(pw):
                return
        raise RuntimeError(f"cockpit-ws did not start; its log:\n{open(self.log_path).read()}")

    def _start(self, pw):
        d = self.dir
        env = {
            "PATH": "/usr/sbin:/usr/bin:/sbin:/bin",
            "HOME": f"{d}/home", "USER": self.user, "LOGNAME": self.user,
            "XDG_DATA_HOME": f"{d}/data", "XDG_RUNTIME_DIR": f"{d}/runtime",
            "XDG_CONFIG_HOME": f"{d}/config", "XDG_CACHE_HOME": f"{d}/cache",
            "DBUS_SYSTEM_BUS_ADDRESS": os.environ["DBUS_SYSTEM_BUS_ADDRESS"],
            "DBUS_SESSION_BUS_ADDRESS": f"unix:path={d}/runtime/no-session-bus",
            "SSH_AUTH_SOCK": f"{d}/runtime/no-ssh-agent",
            "LANG": "C.UTF-8",
        }
        log = open(self.log_path, "ab")
        self.proc = subprocess.Popen(
            ["runuser", "-u", self.user, "--", "env", "-i"] + [f"{k}={v}" for k, v in env.items()] +
            [COCKPIT_WS, "--no-tls", "--address", "127.0.0.1", "--port", str(self.port),
             "--local-session=cockpit-bridge"],
            stdin=subprocess.DEVNULL, stdout=log, stderr=log, start_new_session=True)
        log.close()
        end = time.monotonic() + 30
        while time.monotonic() < end:
            if self.proc.poll() is not None:
                return False
            try:
                with socket.create_connection(("127.0.0.1", self.port), timeout=1):
                    return True
            except OSError:
                time.sleep(0.05)
        self.stop()
        return False

    @property
    def url(self):
        return f"http://127.0.0.1:{self.port}/cockpit/@localhost/vpc/index.html"

    def processes(self):
        """PIDs of the processes in cockpit-ws's process group (it, the bridge, their children)."""
        out = []
        for p in os.listdir("/proc"):
            if p.isdigit():
                try:
                    if os.getpgid(int(p)) == self.proc.pid:
                        out.append(int(p))
                except OSError:
                    pass
        return out

    def stop(self):
        if self.proc is None:
            return
        if self.proc.poll() is None:
            try:
                os.killpg(self.proc.pid, signal.SIGTERM)
            except ProcessLookupError:
                pass
            try:
                self.proc.wait(timeout=15)
            except subprocess.TimeoutExpired:
                os.killpg(self.proc.pid, signal.SIGKILL)
                self.proc.wait()
        # The bridge (same process group) goes with it; make sure, by the group's id.
        end = time.monotonic() + 15
        while self.processes() and time.monotonic() < end:
            time.sleep(0.1)
        if self.processes():
            try:
                os.killpg(self.proc.pid, signal.SIGKILL)
            except ProcessLookupError:
                pass


def js(value):
    return json.dumps(value)


class Page:
    """The page in chromium, logged in as the user of a cockpit-ws."""

    def __init__(self, user, observe_rows=False, language=None):
        self.ws = CockpitWS(user)
        self.browser = None
        try:
            self.browser = cdp.Browser()
            if language:
                self.browser.set_language(language)
            if observe_rows:
                # Records, from the very first moment of every document, each state of the VM list
                # a person could have seen: the number of rows and whether "No virtual machines"
                # showed, at each change (a MutationObserver sees every DOM change).
                self.browser.add_script_on_new_document(OBSERVER)
            self.browser.navigate(self.ws.url)
            # The first load is the login page; it logs itself in and reloads into the page.
            self.wait_ready()
        except BaseException:
            self.close(failed=True)
            raise

    def wait_ready(self, timeout=90):
        self.browser.wait("document.body && document.body.dataset.ready === 'true'", timeout,
                          "the page to show its VM list")

    def reload(self):
        # The old document says ready until the new one replaces it: wait for a new one.
        self.evaluate("window.__vpcOldDocument = true")
        self.browser.reload()
        self.browser.wait("!window.__vpcOldDocument && document.body && document.body.dataset.ready === 'true'",
                          90, "the reloaded page to show its VM list")

    def evaluate(self, expr):
        return self.browser.evaluate(expr)

    def shell_style(self, style):
        """Sets the shell's style ("light", "dark", "auto") as the Cockpit shell does, from another
        document of the origin (localStorage shell:style), and waits for the page to follow when
        it is "light" or "dark"."""
        other = self.ws.url.replace("index.html", "manifest.json")
        self.browser.in_other_document(other, f"localStorage.setItem('shell:style', {js(style)}), true")
        if style in ("light", "dark"):
            self.wait(f"document.documentElement.classList.contains('pf-theme-dark') === {js(style == 'dark')}",
                      10, f"the page to turn {style}")

    def wait(self, expr, timeout=60, what=None):
        return self.browser.wait(expr, timeout, what)

    def click(self, selector, covered_ok=False):
        self.browser.click(selector, covered_ok)

    def rows(self):
        """The VM rows as a person reads them: [{name, state, agent, os, users, disabled, status}]."""
        return self.evaluate("""Array.from(document.querySelectorAll('#vpc-vm-rows tr')).map(r => ({
            name: r.querySelector('.vpc-vm-name').textContent,
            state: r.querySelector('.vpc-vm-state').textContent,
            agent: r.querySelector('.vpc-vm-agent').textContent,
            os: r.querySelector('.vpc-vm-os').textContent,
            users: r.querySelector('.vpc-vm-users').textContent,
            console: r.querySelector('.vpc-console-text').textContent,
            console_shown: getComputedStyle(r.querySelector('.vpc-vm-console')).display !== 'none',
            disabled: r.querySelector('.vpc-vm-logoff').disabled,
            progress_shown: !r.querySelector('.vpc-vm-progress').hidden,
            progress: Number(r.querySelector('.vpc-vm-progress').getAttribute('aria-valuenow')),
            outcome: r.querySelector('.vpc-vm-outcome').textContent,
            detail: r.querySelector('.vpc-vm-detail').textContent,
            visible: r.offsetParent !== null,
        }))""")

    def row(self, name):
        return next((r for r in self.rows() if r["name"] == name), None)

    def row_selector(self, name):
        """A CSS selector for the row of VM `name` (its index among the rows)."""
        names = [r["name"] for r in self.rows()]
        return f"#vpc-vm-rows tr:nth-child({names.index(name) + 1})"

    def wait_row(self, name, cond_js, timeout=60, what=None):
        """Waits until the row of `name` satisfies cond_js, a JS expression on `r` (the row dict
        of rows()), and returns the row."""
        expr = f"""(() => {{
            const tr = Array.from(document.querySelectorAll('#vpc-vm-rows tr'))
                .find(t => t.querySelector('.vpc-vm-name').textContent === {js(name)});
            if (!tr) return null;
            const r = {{
                state: tr.querySelector('.vpc-vm-state').textContent,
                agent: tr.querySelector('.vpc-vm-agent').textContent,
                os: tr.querySelector('.vpc-vm-os').textContent,
                users: tr.querySelector('.vpc-vm-users').textContent,
                console: tr.querySelector('.vpc-console-text').textContent,
                disabled: tr.querySelector('.vpc-vm-logoff').disabled,
                progress: Number(tr.querySelector('.vpc-vm-progress').getAttribute('aria-valuenow')),
                progress_shown: !tr.querySelector('.vpc-vm-progress').hidden,
                outcome: tr.querySelector('.vpc-vm-outcome').textContent,
                detail: tr.querySelector('.vpc-vm-detail').textContent,
            }};
            return ({cond_js}) ? r : null;
        }})()"""
        return self.wait(expr, timeout, what or f"row {name}: {cond_js}")

    def tasks(self):
        return self.evaluate("""Array.from(document.querySelectorAll('#vpc-task-rows tr')).map(r => ({
            path: r.dataset.path,
            id: r.querySelector('.vpc-task-id').textContent,
            vm: r.querySelector('.vpc-task-vm').textContent,
            percent: r.querySelector('.vpc-task-percent').textContent,
            outcome: r.querySelector('.vpc-task-outcome').textContent,
            detail: r.querySelector('.vpc-task-detail').textContent,
            cancel_shown: !r.querySelector('.vpc-task-cancel').hidden,
        }))""")

    def dialog(self):
        return self.evaluate("""(() => { const d = document.getElementById('vpc-confirm');
            return { shown: !d.hidden, title: document.getElementById('vpc-confirm-title').textContent,
                     text: document.getElementById('vpc-confirm-text').textContent,
                     items: Array.from(document.querySelectorAll('#vpc-confirm-list li')).map(l => l.textContent),
                     ok_enabled: !document.getElementById('vpc-confirm-ok').disabled }; })()""")

    def screenshot(self, name):
        os.makedirs(ARTIFACTS, exist_ok=True)
        path = os.path.join(ARTIFACTS, name)
        try:
            self.browser.screenshot(path)
            print(f"# screenshot: {path}")
        except Exception as e:  # noqa: BLE001 - a screenshot is a help, never the failure
            print(f"# no screenshot: {e}")
        return path

    def check_no_errors(self, what):
        errors = self.browser.errors() if self.browser else []
        check(errors == [], f"{what}: no console errors or uncaught exceptions in the page", errors)

    def close(self, failed=False):
        if self.browser:
            if failed:
                self.screenshot(f"cockpit-{TEST_NAME}-{self.ws.user}-failure.png")
            self.browser.close()
            self.browser = None
        self.ws.stop()
        shutil.rmtree(self.ws.dir, ignore_errors=True)


OBSERVER = r"""
window.__vpcSeen = [];
window.__vpcProgress = [];
document.addEventListener('DOMContentLoaded', () => {
    const rows = document.getElementById('vpc-vm-rows');
    if (!rows) return;
    const empty = document.getElementById('vpc-empty');
    const table = document.getElementById('vpc-vms');
    const note = () => window.__vpcSeen.push({
        rows: rows.children.length, empty_shown: !empty.hidden, table_shown: !table.hidden });
    note();
    new MutationObserver(note).observe(document.body, { subtree: true, childList: true, attributes: true,
                                                        attributeFilter: ['hidden'] });
    // Every value a VM row's progress bar showed, in order.
    new MutationObserver(ms => ms.forEach(m => {
        const bar = m.target;
        if (!bar.classList || !bar.classList.contains('vpc-vm-progress') || bar.hidden) return;
        const tr = bar.closest('tr');
        window.__vpcProgress.push({ name: tr.querySelector('.vpc-vm-name').textContent,
                                    value: Number(bar.getAttribute('aria-valuenow')) });
    })).observe(rows, { subtree: true, attributes: true, attributeFilter: ['aria-valuenow', 'hidden'] });
});
"""


@contextlib.contextmanager
def open_page(user, what=None, **kw):
    """A Page as `user` for the block; at its end, no console errors may have come, and the page
    closes, leaving a screenshot in the meson log directory if any check of the block failed."""
    page = Page(user, **kw)
    before = vpctest.failures
    try:
        yield page
        page.check_no_errors(what or user)
    except BaseException:
        page.close(failed=True)
        raise
    page.close(failed=vpctest.failures > before)


LEFTOVER_NAMES = ("cockpit-ws", "cockpit-bridge", "cockpit-session", "chromium", "chrome", "chrome_crashpad",
                  "ssh-agent")


def leftovers():
    """Processes of this PID namespace that a cockpit-ws, its bridge or chromium left: any of
    LEFTOVER_NAMES, and any dbus-daemon but the environment's system bus."""
    out = []
    system_bus = open(os.path.join(os.environ["VPC_ENV_DIR"], "dbus.pid")).read().strip()
    for p in os.listdir("/proc"):
        if not p.isdigit():
            continue
        try:
            with open(f"/proc/{p}/cmdline", "rb") as f:
                argv = [a.decode(errors="replace") for a in f.read().split(b"\0") if a]
            with open(f"/proc/{p}/stat") as f:
                state = f.read().rsplit(")", 1)[1].split()[0]
        except OSError:
            continue
        if not argv or state == "Z":
            continue
        name = os.path.basename(argv[0])
        if name.startswith(LEFTOVER_NAMES) or (name == "dbus-daemon" and p != system_bus):
            out.append(f"{p} {' '.join(argv)[:120]}")
    return out


def run(body):
    """Runs body() (which closes its pages, keeping a screenshot of those that failed), then checks
    that nothing the pages started is left: no cockpit-ws, bridge, chromium, session bus or
    ssh-agent."""
    try:
        body()
    except Exception:
        import traceback
        traceback.print_exc()
        check(False, "the test ran to its end")
    left = wait_until(lambda: not leftovers(), 20, 0.2) or leftovers()
    check(left is True, "no cockpit-ws, cockpit-bridge, chromium, session dbus-daemon or ssh-agent is left", left)
    finish()
