"""A small Chrome DevTools Protocol client on the Python standard library, for the cockpit suite.

It starts Debian's headless chromium with --remote-debugging-pipe (the browser reads commands from
fd 3 and writes replies and events to fd 4, each message a JSON text ended by a NUL byte), attaches
to its page in flat session mode, and offers what the tests need: navigate, evaluate, wait for a DOM
condition, click like a person does (a real mouse event at the element's centre, so a disabled or
covered button does not react), screenshots, and every console error and uncaught exception the
page produced. No browser download, no WebSocket, no third-party module."""

import base64
import json
import os
import select
import shutil
import subprocess
import tempfile
import time

CHROMIUM = "/usr/bin/chromium"


class CDPError(Exception):
    pass


class Browser:
    def __init__(self, width=1280, height=900, log=None):
        self.log = log
        self.profile = tempfile.mkdtemp(prefix="vpc-chromium.")
        # fd 3: commands to the browser; fd 4: replies and events from it.
        cmd_r, self._cmd_w = os.pipe()
        self._evt_r, evt_w = os.pipe()
        args = [CHROMIUM, "--headless", "--remote-debugging-pipe",
                f"--user-data-dir={self.profile}", f"--window-size={width},{height}",
                "--no-first-run", "--no-default-browser-check", "--disable-gpu",
                "--disable-dev-shm-usage", "--disable-background-networking",
                "--disable-component-update", "--disable-sync", "--disable-extensions",
                "--disable-features=Translate,MediaRouter,OptimizationHints",
                "--password-store=basic", "--use-mock-keychain", "about:blank"]
        if os.geteuid() == 0:
            # chromium refuses to run as root with its sandbox (it needs user namespaces it may not
            # get inside the test's namespaces); the page is our own, served from 127.0.0.1.
            args.insert(1, "--no-sandbox")

        def child_fds():
            # Out of the way first, in case a pipe end is fd 3 or 4 itself; Popen then keeps
            # exactly the fds of pass_fds open.
            a, b = os.dup(cmd_r), os.dup(evt_w)
            os.dup2(a, 3)
            os.dup2(b, 4)

        env = {k: v for k, v in os.environ.items()
               if k not in ("http_proxy", "https_proxy", "HTTP_PROXY", "HTTPS_PROXY", "all_proxy")}
        env["HOME"] = self.profile
        self._stderr = open(os.path.join(self.profile, "chromium.log"), "wb")
        self.proc = subprocess.Popen(args, stdin=subprocess.DEVNULL, stdout=self._stderr,
                                     stderr=self._stderr, preexec_fn=child_fds, pass_fds=(3, 4),
                                     env=env)
        os.close(cmd_r)
        os.close(evt_w)
        self._buf = b""
        self._next_id = 0
        self.events = []          # every event, in order: (sessionId, method, params)
        self.session = None
        targets = self.send("Target.getTargets")["targetInfos"]
        page = next(t for t in targets if t["type"] == "page")
        self.session = self.send("Target.attachToTarget", {"targetId": page["targetId"], "flatten": True})["sessionId"]
        for domain in ("Page", "Runtime", "Log"):
            self.send(f"{domain}.enable")

    # --- the protocol -------------------------------------------------------------------------------
    def _read_message(self, deadline):
        while b"\0" not in self._buf:
            left = deadline - time.monotonic()
            if left <= 0:
                raise CDPError("no message from chromium in time")
            r, _, _ = select.select([self._evt_r], [], [], left)
            if not r:
                continue
            chunk = os.read(self._evt_r, 1 << 20)
            if not chunk:
                raise CDPError(f"chromium closed its pipe (exit status {self.proc.poll()})")
            self._buf += chunk
        msg, self._buf = self._buf.split(b"\0", 1)
        return json.loads(msg)

    def send(self, method, params=None, timeout=60, session=True):
        self._next_id += 1
        msg = {"id": self._next_id, "method": method, "params": params or {}}
        if session and self.session:
            msg["sessionId"] = self.session
        data = json.dumps(msg).encode() + b"\0"
        while data:
            data = data[os.write(self._cmd_w, data):]
        deadline = time.monotonic() + timeout
        while True:
            m = self._read_message(deadline)
            if m.get("id") == self._next_id:
                if "error" in m:
                    raise CDPError(f"{method}: {m['error'].get('message')}")
                return m.get("result", {})
            if "method" in m:
                self.events.append((m.get("sessionId"), m["method"], m.get("params", {})))

    def pump(self):
        """Reads the events chromium sent meanwhile, without waiting."""
        while True:
            r, _, _ = select.select([self._evt_r], [], [], 0)
            if not r and b"\0" not in self._buf:
                return
            m = self._read_message(time.monotonic() + 5)
            if "method" in m:
                self.events.append((m.get("sessionId"), m["method"], m.get("params", {})))

    # --- what the tests use -------------------------------------------------------------------------
    def navigate(self, url):
        self.send("Page.navigate", {"url": url})

    def reload(self):
        self.send("Page.reload", {"ignoreCache": True})

    def add_script_on_new_document(self, source):
        self.send("Page.addScriptToEvaluateOnNewDocument", {"source": source})

    def evaluate(self, expression):
        """The value of a JavaScript expression in the page (promises awaited), or raises CDPError."""
        r = self.send("Runtime.evaluate", {"expression": expression, "returnByValue": True,
                                           "awaitPromise": True})
        if "exceptionDetails" in r:
            d = r["exceptionDetails"]
            raise CDPError(f"{expression!r}: {d.get('exception', {}).get('description') or d.get('text')}")
        return r["result"].get("value")

    def wait(self, expression, timeout=60, what=None):
        """Waits until the expression is truthy in the page and returns its value. Navigations (the
        login page reloading itself) destroy the context in between: those attempts count as false."""
        end = time.monotonic() + timeout
        last = None
        while True:
            try:
                v = self.evaluate(expression)
                if v:
                    return v
                last = v
            except CDPError as e:
                last = str(e)
            if time.monotonic() > end:
                raise CDPError(f"timed out after {timeout} s waiting for {what or expression} (last: {last!r})")
            time.sleep(0.1)

    def click(self, selector, covered_ok=False):
        """Clicks the first element matching selector with the mouse, as a person would: scrolled into
        view, at its centre, and only if it is the element there (not covered by another) unless
        covered_ok: a disabled PatternFly button takes no pointer events, so what is under it gets
        the click, as it would from a person."""
        sel = json.dumps(selector)
        box = self.evaluate(f"""(() => {{
            const e = document.querySelector({sel});
            if (!e) return null;
            e.scrollIntoView({{block: "center"}});
            const r = e.getBoundingClientRect();
            const x = r.left + r.width / 2, y = r.top + r.height / 2;
            const top = document.elementFromPoint(x, y);
            return {{x, y, hit: !!top && (top === e || e.contains(top))}};
        }})()""")
        if not box:
            raise CDPError(f"click: no element {selector}")
        if not box["hit"] and not covered_ok:
            raise CDPError(f"click: {selector} is covered by another element")
        for kind in ("mouseMoved", "mousePressed", "mouseReleased"):
            self.send("Input.dispatchMouseEvent", {"type": kind, "x": box["x"], "y": box["y"],
                                                   "button": "left", "clickCount": 1})

    def press(self, key):
        """One key pressed and released as a keyboard does it (keyDown with its text where it has
        one, then keyUp): "Tab", "Shift+Tab", "Enter", "Escape". The page's own handlers and the
        browser's default actions (focus moves, a focused button's activation) both run."""
        shift = key.startswith("Shift+")
        name = key[len("Shift+"):] if shift else key
        codes = {"Tab": (9, ""), "Enter": (13, "\r"), "Escape": (27, "")}
        code, text = codes[name]
        base = {"key": name, "code": name, "windowsVirtualKeyCode": code, "nativeVirtualKeyCode": code,
                "modifiers": 8 if shift else 0}
        self.send("Input.dispatchKeyEvent", {**base, "type": "keyDown", **({"text": text} if text else {})})
        self.send("Input.dispatchKeyEvent", {**base, "type": "keyUp"})

    def set_viewport(self, width, height, mobile=False):
        """The page's viewport, as on a device of that size (CSS media queries follow)."""
        self.send("Emulation.setDeviceMetricsOverride", {"width": width, "height": height,
                                                         "deviceScaleFactor": 1, "mobile": mobile})

    def clear_viewport(self):
        self.send("Emulation.clearDeviceMetricsOverride")

    def set_color_scheme(self, scheme):
        """The browser's prefers-color-scheme ("light" or "dark"), as the desktop's setting sets it."""
        self.send("Emulation.setEmulatedMedia", {"features": [{"name": "prefers-color-scheme", "value": scheme}]})

    def set_language(self, accept_language):
        """The browser's language: its Accept-Language header and navigator.language, for the
        documents loaded from now on (as the browser's language setting does)."""
        ua = self.send("Browser.getVersion", session=False)["userAgent"]
        self.send("Emulation.setUserAgentOverride", {"userAgent": ua, "acceptLanguage": accept_language})

    def in_other_document(self, url, expression):
        """Evaluates expression in another tab on url (of the page's origin, like the Cockpit shell
        around a page) and closes it: what it does to the origin's storage, the page hears."""
        target = self.send("Target.createTarget", {"url": url}, session=False)["targetId"]
        try:
            session = self.send("Target.attachToTarget", {"targetId": target, "flatten": True},
                                session=False)["sessionId"]
            mine = self.session
            self.session = session
            try:
                # The new tab is about:blank (an opaque origin, no storage) until url commits.
                end = time.monotonic() + 30
                loaded = f"location.href === {json.dumps(url)} && document.readyState === 'complete'"
                while True:
                    try:
                        if self.evaluate(loaded):
                            break
                    except CDPError:
                        pass    # the context went with the navigation
                    if time.monotonic() > end:
                        raise CDPError(f"{url} did not load")
                    time.sleep(0.05)
                return self.evaluate(expression)
            finally:
                self.session = mine
        finally:
            self.send("Target.closeTarget", {"targetId": target}, session=False)

    def type_text(self, selector, text):
        self.evaluate(f"document.querySelector({json.dumps(selector)}).focus()")
        self.send("Input.insertText", {"text": text})

    def screenshot(self, path):
        """A PNG of the page's content (the viewport's width, as tall as what is shown)."""
        height = self.evaluate("Math.ceil(Math.max(document.body ? document.body.getBoundingClientRect().bottom : 0,"
                               " 100) + 24)")
        width = self.evaluate("document.documentElement.clientWidth || 1280")
        data = self.send("Page.captureScreenshot", {"format": "png", "captureBeyondViewport": True,
                                                    "clip": {"x": 0, "y": 0, "width": width,
                                                             "height": height, "scale": 1}})["data"]
        with open(path, "wb") as f:
            f.write(base64.b64decode(data))
        return path

    def errors(self):
        """Uncaught exceptions, console.error() calls and error log entries of the page, as text."""
        self.pump()
        out = []
        for _, method, p in self.events:
            if method == "Runtime.exceptionThrown":
                d = p.get("exceptionDetails", {})
                out.append("exception: " + (d.get("exception", {}).get("description") or d.get("text", "")))
            elif method == "Runtime.consoleAPICalled" and p.get("type") in ("error", "assert"):
                out.append("console." + p["type"] + ": " + " ".join(
                    str(a.get("value", a.get("description", ""))) for a in p.get("args", [])))
            elif method == "Log.entryAdded" and p.get("entry", {}).get("level") == "error":
                e = p["entry"]
                out.append(f"log ({e.get('source')}): {e.get('text')} {e.get('url', '')}".strip())
        return out

    def close(self):
        if self.proc.poll() is None:
            try:
                self.send("Browser.close", timeout=10, session=False)
            except (CDPError, OSError):
                pass
            try:
                self.proc.wait(timeout=15)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        for fd in (self._cmd_w, self._evt_r):
            try:
                os.close(fd)
            except OSError:
                pass
        self._stderr.close()
        shutil.rmtree(self.profile, ignore_errors=True)
