#!/usr/bin/python3
"""The Cockpit page in a real browser on the libvirt test driver's domains (real cockpit-ws and
cockpit-bridge, headless chromium, the real daemon, dbus-daemon and polkitd): the rows are the
VMs of ListGuestOS, in its order, with their states, drawn once and complete (on the first load
and on a reload: never an empty or growing list); VMs that do not run cannot be logged off; a
domain defined, started, stopped and undefined while the page is open appears, changes and goes
without a reload; a hostile domain name is shown as text; Log off on a VM without a guest agent
and "Log off all running VMs" show the outcome with its HRESULT; a user outside the rules' group
sees the denial (0x80070005); the console-disconnect policy shows only where the objects have it;
the page follows the shell's light and dark theme (shell:style set by another document of the
origin, as the shell does, "auto" following the browser's prefers-color-scheme, the shell's
cockpit-style event); the keyboard alone reaches a Log off, opens its confirmation with Enter and
closes it with Escape, focus visible throughout; at 360 px wide nothing overflows and every Log off
can be used; with Spanish as the browser's language the page is in Spanish (po.es.js), and the
CockpitLang cookie wins over the browser's language; no console errors."""

import os
import re
import subprocess
import sys
import tempfile

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from pagetest import *  # noqa: E402,F403
import cdp  # noqa: E402
sys.path.insert(0, os.path.join(os.environ["VPC_SOURCE_ROOT"], "cockpit", "po"))
import pofile  # noqa: E402

URI = os.environ["VPC_LIBVIRT_URI"]
STATES = {"running": "running", "paused": "paused", "shutoff": "shut off", "crashed": "crashed",
          "pmsuspended": "suspended", "blocked": "blocked", "shutdown": "shutting down",
          "nostate": "no state"}
HOSTILE = "<img src=x onerror=alert(1)> & <b>new<b>"
HOSTILE_XML = ("<domain type='test'><name>&lt;img src=x onerror=alert(1)&gt; &amp; &lt;b&gt;new&lt;b&gt;"
               "</name><memory unit='MiB'>64</memory><vcpu>1</vcpu><os><type arch='x86_64'>hvm</type></os></domain>")


def virsh(*args):
    r = subprocess.run(["virsh", "-q", "-c", URI] + list(args), capture_output=True, text=True, timeout=60)
    if r.returncode != 0:
        raise RuntimeError(f"virsh {' '.join(args)}: {r.stderr.strip()}")
    return r.stdout


def bus_vms():
    """[(name, State, AgentConnected or None, OSName or None, console policy or None)] in
    ListGuestOS order."""
    out = []
    for name, _uuid, path in call(MANAGER, "org.vpc.Manager", "ListGuestOS").value:
        p = call(path, "org.freedesktop.DBus.Properties", "GetAll", "s", ("org.vpc.GuestOS",)).value
        out.append((name, p["State"], p.get("AgentConnected"), p.get("OSName"), p.get("ConsoleDisconnectPolicy")))
    return out


def has_list_users():
    """Whether this daemon's GuestOS has ListUsers (issue 15); the page works without it too."""
    xml = call(encode_path("web server 01"), "org.freedesktop.DBus.Introspectable", "Introspect").value
    return '<method name="ListUsers">' in xml


def expected_agent(v):
    return "—" if v is None else ("connected" if v else "not connected")


def check_rows_match_bus(page, what):
    want = bus_vms()
    rows = page.rows()
    check([r["name"] for r in rows] == [w[0] for w in want], f"{what}: the rows are ListGuestOS's VMs, in its order",
          ([r["name"] for r in rows], [w[0] for w in want]))
    check([r["state"] for r in rows] == [STATES[w[1]] for w in want], f"{what}: each row shows its VM's State",
          [(r["name"], r["state"]) for r in rows])
    check([r["disabled"] for r in rows] == [w[1] != "running" for w in want],
          f"{what}: Log off is enabled exactly on the running VMs",
          [(r["name"], r["disabled"]) for r in rows])
    check([r["agent"] for r in rows] == [expected_agent(w[2]) for w in want],
          f"{what}: the agent column says what AgentConnected says ('—' where the object has none)",
          [(r["name"], r["agent"]) for r in rows])
    check([r["os"] for r in rows] == [w[3] or "—" for w in want],
          f"{what}: the OS column is OSName, '—' while unknown", [(r["name"], r["os"]) for r in rows])
    check(all(r["visible"] for r in rows), f"{what}: every row is visible")
    return rows


def check_drawn_once(page, n, what):
    seen = page.evaluate("window.__vpcSeen")
    shown = [s for s in seen if s["table_shown"]]
    check(bool(shown) and all(s["rows"] == n for s in shown),
          f"{what}: from the moment the list shows, it has all {n} rows (no empty or growing list)", seen)
    check(not any(s["empty_shown"] for s in seen), f"{what}: 'No virtual machines' never showed", seen)


def body():
    with open_page(ALLOWED, "allowed user", observe_rows=True) as page:
        scenarios(page)
    with open_page(DENIED, "denied user") as page:
        denied(page)
    with open_page(ALLOWED, "Spanish browser", language="es-ES,es;q=0.9") as page:
        spanish(page)


def scenarios(page):
    # --- the list, drawn once, as the bus has it --------------------------------------------
    rows = check_rows_match_bus(page, "first load")
    check(len(rows) == 6, "the six domains of the test environment are listed", [r["name"] for r in rows])
    check_drawn_once(page, len(rows), "first load (through the login page)")
    page.reload()
    check_rows_match_bus(page, "after a reload")
    check_drawn_once(page, len(rows), "reload")

    # --- a VM that does not run cannot be logged off ----------------------------------------
    for name in ("db.prod-2", "paused-vm"):
        sel = page.row_selector(name) + " .vpc-vm-logoff"
        page.click(sel, covered_ok=True)
        check(page.dialog()["shown"] is False and page.row(name)["outcome"] == "",
              f"clicking the disabled Log off of '{name}' ({page.row(name)['state']}) does nothing")
    check(page.evaluate("document.getElementById('vpc-logoff-all').disabled") is False,
          "'Log off all running VMs' is enabled (some VMs run)")

    # --- domains change while the page is open: no reload ----------------------------------
    page.evaluate("window.__vpcNoReload = 42")
    with tempfile.NamedTemporaryFile("w", suffix=".xml", delete=False) as f:
        f.write(HOSTILE_XML)
    virsh("define", f.name)
    os.unlink(f.name)
    r = page.wait_row(HOSTILE, "r.state === 'shut off' && r.disabled", 30,
                      "the newly defined domain to appear, shut off")
    check(r is not None, "a domain defined while the page is open appears without a reload, shut off")
    check(page.evaluate("""(() => { const t = document.getElementById('vpc-vms');
            return t.querySelectorAll('img, b').length === 0 && !window.__vpcXss; })()"""),
          "its name <img ...> & <b>... is shown as text: no element made of it")
    check_rows_match_bus(page, "after define")
    virsh("start", HOSTILE)
    check(page.wait_row(HOSTILE, "r.state === 'running' && !r.disabled", 30) is not None,
          "started while the page is open: running, Log off enabled")
    virsh("start", "db.prod-2")
    check(page.wait_row("db.prod-2", "r.state === 'running' && !r.disabled", 30) is not None,
          "'db.prod-2' started from virsh: its row says running")
    virsh("destroy", HOSTILE)
    check(page.wait_row(HOSTILE, "r.state === 'shut off' && r.disabled", 30) is not None,
          "destroyed: shut off again, Log off disabled")
    virsh("undefine", HOSTILE)
    gone = page.wait(f"!Array.from(document.querySelectorAll('#vpc-vm-rows .vpc-vm-name')).some(c => c.textContent === {js(HOSTILE)})",
                     30, "the undefined domain's row to go")
    check(bool(gone), "undefined: its row goes")
    check(page.evaluate("window.__vpcNoReload") == 42, "all of that without a reload of the page")
    check_rows_match_bus(page, "after the changes")

    # --- the service stops and comes back --------------------------------------------------------
    envctl = os.path.join(os.environ["VPC_SOURCE_ROOT"], "tests", "lib", "envctl")
    subprocess.run([envctl, "daemon-stop"], check=True, capture_output=True, timeout=60)
    page.wait("document.body.dataset.service === 'down'", 30, "the page to notice the service is gone")
    rows = page.rows()
    check(page.evaluate("document.getElementById('vpc-service').textContent") ==
          "The vpc-guestosd service (org.vpc) is not running." and rows and all(r["disabled"] for r in rows)
          and page.evaluate("document.getElementById('vpc-logoff-all').disabled"),
          "the service stopped: the page says so, keeps the list and disables every Log off", rows)
    virsh("undefine", "1vm")     # while nobody watches: the page must not keep it
    page.evaluate("window.__vpcSeen = []")
    subprocess.run([envctl, "daemon-start"] + os.environ.get("VPC_DAEMON_ARGS", "").split(), check=True,
                   capture_output=True, timeout=60)
    page.wait("document.body.dataset.service === 'up'", 30, "the page to see the service again")
    page.wait("!Array.from(document.querySelectorAll('#vpc-vm-rows .vpc-vm-name')).some(c => c.textContent === '1vm')",
              30, "the list read again")
    check_rows_match_bus(page, "the service back")
    check(page.evaluate("document.getElementById('vpc-service').textContent") == "", "and the message is gone")
    seen = page.evaluate("window.__vpcSeen")
    check(all(s["table_shown"] and not s["empty_shown"] and s["rows"] >= 5 for s in seen),
          "the list was replaced in one go: never empty meanwhile", seen)

    # --- Log off all running VMs ---------------------------------------------------------------
    running = [w[0] for w in bus_vms() if w[1] == "running"]
    page.click("#vpc-logoff-all")
    page.wait("!document.getElementById('vpc-confirm').hidden && !document.getElementById('vpc-confirm-ok').disabled",
              30, "the confirmation of Log off all")
    d = page.dialog()
    check(d["title"] == f"Log off every user of the {len(running)} running VMs?" and
          [i.split(":")[0] for i in d["items"]] == running,
          "'Log off all running VMs' lists every running VM", d)
    page.click("#vpc-confirm-cancel")
    check(page.dialog()["shown"] is False, "Cancel closes the confirmation")
    page.click("#vpc-logoff-all")
    page.wait("!document.getElementById('vpc-confirm').hidden && !document.getElementById('vpc-confirm-ok').disabled",
              30, "the confirmation of Log off all")
    page.click("#vpc-confirm-ok")
    for name in running:
        r = page.wait_row(name, "r.outcome !== '' && r.outcome !== 'starting…'", 30)
        check(r is not None and r["outcome"] == "no guest agent to do it — 0xA0040505",
              f"Log off all: '{name}' shows its own outcome", r)
    for w in bus_vms():
        if w[1] != "running":
            check(page.row(w[0])["outcome"] == "", f"Log off all left '{w[0]}' ({w[1]}) alone")

    # A reload forgets the outcomes shown (they are the page's, not the service's).
    page.reload()
    check(all(r["outcome"] == "" for r in page.rows()), "after a reload no outcome is shown")

    # --- Log off on a VM without a guest agent (the test driver has none) -------------------
    name = "web server 01"
    page.click(page.row_selector(name) + " .vpc-vm-logoff")
    d = page.wait("(() => { const d = document.getElementById('vpc-confirm-ok');"
                  " return !document.getElementById('vpc-confirm').hidden && !d.disabled; })()", 30,
                  "the confirmation, once it asked who is logged on")
    d = page.dialog()
    check(d["title"] == f"Log off every user of {name}?", "the confirmation names the VM", d)
    if has_list_users():
        check(len(d["items"]) == 1 and "cannot tell who is logged on" in d["items"][0] and "0xA0040505" in d["items"][0],
              "it says who is logged on cannot be told, with the HRESULT (no guest agent)", d)
    else:
        check(d["items"] == ["this version of the service cannot say who is logged on"],
              "it says this daemon (without ListUsers) cannot say who is logged on", d)
    page.click("#vpc-confirm-ok")
    r = page.wait_row(name, "r.outcome !== '' && r.outcome !== 'starting…'", 30)
    check(r is not None and r["outcome"] == "no guest agent to do it — 0xA0040505" and not r["progress_shown"],
          "Log off shows the outcome in words with its HRESULT: no guest agent — 0xA0040505", r)

    # --- Lock, next to Log off: enabled on the running VMs, no confirmation, its outcome on the row --
    locks = page.evaluate("Array.from(document.querySelectorAll('#vpc-vm-rows tr')).map(t => "
                          "[t.querySelector('.vpc-vm-name').textContent, t.querySelector('.vpc-vm-lock').disabled, "
                          "t.querySelector('.vpc-vm-lock').textContent])")
    check([(n, dis, text) for n, dis, text in locks] == [(w[0], w[1] != "running", "Lock") for w in bus_vms()],
          "every row has a Lock button, enabled exactly on the running VMs", locks)
    other = next((w[0] for w in bus_vms() if w[1] == "running" and w[0] != name and page.row(w[0])["outcome"] == ""),
                 None)
    if check(other is not None, "another running VM without an outcome yet", bus_vms()):
        page.click(page.row_selector(other) + " .vpc-vm-lock")
        r = page.wait_row(other, "r.outcome !== '' && r.outcome !== 'starting…'", 30)
        check(r is not None and r["outcome"] == "no guest agent to do it — 0xA0040505" and not r["progress_shown"]
              and page.evaluate("document.getElementById('vpc-confirm').hidden") is True,
              f"Lock on '{other}' asks nothing and shows the outcome with its HRESULT (no guest agent)", r)
    # --- Log off with a message and a grace: LogoffWithOptions, where the daemon has it ---------
    xml = call(encode_path(name), "org.freedesktop.DBus.Introspectable", "Introspect").value
    if '<method name="LogoffWithOptions">' in xml:
        page.click(page.row_selector(name) + " .vpc-vm-logoff")
        page.wait("!document.getElementById('vpc-confirm').hidden && !document.getElementById('vpc-confirm-ok').disabled",
                  30, "the confirmation again")
        check(page.evaluate("document.getElementById('vpc-confirm-message').value === '' && "
                            "document.getElementById('vpc-confirm-grace').value === '0'"),
              "the confirmation opens with no message and no grace")
        page.browser.type_text("#vpc-confirm-message", "Säve your work, please.")
        page.evaluate("document.getElementById('vpc-confirm-grace').value = ''")
        page.browser.type_text("#vpc-confirm-grace", "45")
        page.click("#vpc-confirm-ok")
        page.wait("document.getElementById('vpc-confirm').hidden", 10, "the confirmation to close")
        envctl = os.path.join(os.environ["VPC_SOURCE_ROOT"], "tests", "lib", "envctl")
        ok = wait_until(lambda: 'options="message=24 bytes, grace=45 s"' in subprocess.run(
            [envctl, "daemon-log"], capture_output=True, text=True).stdout, timeout=30)
        check(ok, "OK with a message and a grace calls LogoffWithOptions with both (audited: 24 bytes, 45 s)")
        r = page.wait_row(name, "r.outcome === 'no guest agent to do it — 0xA0040505'", 30)
        check(r is not None, "and shows its outcome like Log off's", r)

    # --- the console-disconnect policy: only where the objects have it ------------------------
    with_policy = [w for w in bus_vms() if w[4] is not None]
    rows = page.rows()
    if with_policy:
        check(all(r["console_shown"] for r in rows), "the console-disconnect column shows (the objects have it)")
        for w in with_policy:
            want = "nothing" if w[4] == "none" else "log off after"
            check(page.row(w[0])["console"].startswith(want), f"'{w[0]}': the policy shown is {w[4]}",
                  page.row(w[0])["console"])
        edit_policy(page, "db.prod-2", expect_ok=True)
    else:
        check(not any(r["console_shown"] for r in rows),
              "no console-disconnect column: this daemon's objects have no such policy")
    page.screenshot("cockpit-domains.png")
    theme(page)
    keyboard(page)
    narrow(page)


def edit_policy(page, name, expect_ok):
    """Changes the console-disconnect policy of `name` in the page: log off after 45 s."""
    row = page.row_selector(name)
    page.click(row + " .vpc-console-edit")
    page.evaluate(f"document.querySelector({js(row + ' .vpc-console-policy')}).value = 'logoff'")
    page.evaluate(f"document.querySelector({js(row + ' .vpc-console-delay')}).value = ''")
    page.browser.type_text(row + " .vpc-console-delay", "45")
    page.click(row + " .vpc-console-save")
    path = encode_path(name)
    if expect_ok:
        r = page.wait_row(name, "r.console.startsWith('log off after 45 s')", 30, "the new policy in the row")
        check(r is not None, f"'{name}': the policy set in the page shows: log off after 45 s", page.row(name))
        check(get_property(path, "org.vpc.GuestOS", "ConsoleDisconnectPolicy") == "logoff" and
              get_property(path, "org.vpc.GuestOS", "ConsoleDisconnectDelaySec") == 45,
              f"'{name}': and the service has it (SetConsoleDisconnectPolicy)")
        # The dialog's five actions and its message box (SetConsoleDisconnectPolicyWithOptions).
        options = page.evaluate(f"Array.from(document.querySelector({js(row + ' .vpc-console-policy')}).options)"
                                ".map(o => o.value).join(' ')")
        check(options == "none lock logoff lock-then-logoff warn-then-logoff", f"'{name}': the dialog offers five actions",
              options)
        page.click(row + " .vpc-console-edit")
        page.evaluate(f"document.querySelector({js(row + ' .vpc-console-policy')}).value = 'warn-then-logoff'")
        page.evaluate(f"document.querySelector({js(row + ' .vpc-console-delay')}).value = '60'")
        page.evaluate(f"document.querySelector({js(row + ' .vpc-console-message')}).value = ''")
        page.browser.type_text(row + " .vpc-console-message", "Bye <b>now</b>")
        page.click(row + " .vpc-console-save")
        r = page.wait_row(name, "r.console.startsWith('warn, log off after 60 s with a message: Bye <b>now</b>')", 30,
                          "the warning policy in the row")
        check(r is not None, f"'{name}': the warning and its message show in the row, as text", page.row(name))
        check(get_property(path, "org.vpc.GuestOS", "ConsoleDisconnectPolicy") == "warn-then-logoff" and
              get_property(path, "org.vpc.GuestOS", "ConsoleDisconnectMessage") == "Bye <b>now</b>",
              f"'{name}': and the service has the action and the message")
    else:
        err = page.wait(f"document.querySelector({js(row + ' .vpc-console-error')}).textContent", 30,
                        "the policy change's error")
        check(err.startswith("not allowed") and "0x80070005" in err,
              f"'{name}': changing the policy is denied with 0x80070005", err)


def denied(page):
    """A user outside the rules' group: polkit says no, the page says so with the HRESULT."""
    check_rows_match_bus(page, "denied user")
    name = "web server 01"
    page.click(page.row_selector(name) + " .vpc-vm-logoff")
    page.wait("!document.getElementById('vpc-confirm').hidden && !document.getElementById('vpc-confirm-ok').disabled",
              30, "the confirmation")
    page.click("#vpc-confirm-ok")
    r = page.wait_row(name, "r.outcome !== '' && r.outcome !== 'starting…'", 30)
    check(r is not None and r["outcome"].startswith("not allowed") and r["outcome"].endswith("— 0x80070005")
          and "polkit" in r["detail"],
          "the denied user sees 'not allowed — 0x80070005' and the reason", r)
    if any(w[4] is not None for w in bus_vms()):
        edit_policy(page, "paused-vm", expect_ok=False)




# --- the look: theme, keyboard, narrow screens, Spanish ----------------------------------------------

def rgb(css):
    """(r, g, b) of a computed colour "rgb(...)" / "rgba(...)"."""
    return tuple(int(float(x)) for x in re.findall(r"[\d.]+", css)[:3])


def luminance(css):
    r, g, b = rgb(css)
    return (0.2126 * r + 0.7152 * g + 0.0722 * b) / 255


def is_dark(page):
    return page.evaluate("document.documentElement.classList.contains('pf-theme-dark')")


def colours(page):
    """The page's background and its text colour, as computed from PatternFly's variables."""
    return page.evaluate("""(() => { const s = getComputedStyle(document.querySelector('.pf-c-page__main-section'));
        const t = getComputedStyle(document.querySelector('#vpc-vm-rows .vpc-vm-state'));
        return { bg: s.backgroundColor, fg: t.color }; })()""")


def wait_theme(page, dark, what):
    """Whether the page's theme became `dark` within 10 s (a check of its own, not an abort)."""
    try:
        return page.wait(f"document.documentElement.classList.contains('pf-theme-dark') === {js(dark)}", 10, what)
    except cdp.CDPError:
        return False


def dialog_closed(page):
    try:
        return bool(page.wait("document.getElementById('vpc-confirm').hidden", 5, "the confirmation to close"))
    except cdp.CDPError:
        return False


def theme(page):
    """Cockpit 287's own pages follow the shell this way (pkg/lib/cockpit-dark-theme.js): the
    shell's menu stores shell:style, which a page in its frame hears as a storage event; "auto" or
    nothing follows the browser's prefers-color-scheme; the shell's window gets cockpit-style."""
    origin_page = page.ws.url.replace("index.html", "manifest.json")
    shell = lambda style: page.browser.in_other_document(  # noqa: E731 (no wait: the checks wait)
        origin_page, f"localStorage.setItem('shell:style', {js(style)}), true")
    check(is_dark(page) is False, "the page starts light (no shell:style, the browser prefers light)")
    light = colours(page)
    check(luminance(light["bg"]) > 0.9 and luminance(light["fg"]) < 0.2,
          "light: dark text on a light background (PatternFly's light variables)", light)
    shell("dark")
    check(wait_theme(page, True, "the dark theme"), "the shell's style set to dark (in another document): the page turns dark")
    dark = colours(page)
    check(luminance(dark["bg"]) < 0.2 and luminance(dark["fg"]) > 0.7,
          "dark: light text on a dark background (PatternFly's pf-theme-dark variables)", dark)
    page.screenshot("cockpit-domains-dark.png")
    shell("light")
    check(wait_theme(page, False, "the light theme"), "set to light: the page turns light again")
    shell("auto")
    page.browser.set_color_scheme("dark")
    check(wait_theme(page, True, "auto: dark"), "auto: the browser preferring dark turns the page dark")
    page.browser.set_color_scheme("light")
    check(wait_theme(page, False, "auto: light"), "auto: and light again when it prefers light")
    page.evaluate("window.dispatchEvent(new CustomEvent('cockpit-style', { detail: { style: 'dark' } }))")
    check(wait_theme(page, True, "cockpit-style dark"), "the shell's cockpit-style event (dark) is followed too")
    page.evaluate("window.dispatchEvent(new CustomEvent('cockpit-style', { detail: { style: 'light' } }))")
    check(wait_theme(page, False, "cockpit-style light"), "and its light")
    shell("dark")
    wait_theme(page, True, "the dark theme")
    page.reload()
    check(is_dark(page) is True, "a page loaded while the stored style is dark is dark from the start")
    shell("light")
    wait_theme(page, False, "the light theme")


FOCUS = """(() => { const e = document.activeElement;
    if (!e || e === document.body) return null;
    const s = getComputedStyle(e);
    return { cls: e.className, id: e.id, text: e.textContent.trim(), label: e.getAttribute('aria-label'),
             row: e.closest('tr') ? e.closest('tr').querySelector('.vpc-vm-name').textContent : null,
             in_dialog: !!e.closest('#vpc-confirm'), focus_visible: e.matches(':focus-visible'),
             outline: s.outlineStyle !== 'none' && parseFloat(s.outlineWidth) >= 1 }; })()"""


def keyboard(page):
    """Log off from the keyboard alone: Tab from the top to a VM's Log off, Enter opens the
    confirmation (the focus goes into it and stays there), Escape closes it and gives the focus
    back; Enter again and Tab to the dialog's Log off, Enter starts it."""
    name = "web server 01"
    page.evaluate("document.activeElement && document.activeElement.blur(); window.scrollTo(0, 0)")
    seen = []
    f = None
    for _ in range(60):
        page.browser.press("Tab")
        f = page.evaluate(FOCUS)
        seen.append(f and (f["row"], f["text"]))
        if f and f["row"] == name and "vpc-vm-logoff" in f["cls"]:
            break
    check(f is not None and f["row"] == name and "vpc-vm-logoff" in f["cls"],
          f"Tab from the top of the page reaches the Log off of '{name}'", seen)
    check(seen[0] == (None, "Log off all running VMs"), "the first Tab stop is 'Log off all running VMs'", seen[:3])
    check(f and f["focus_visible"] and f["outline"], "the focused button shows its focus (:focus-visible, an outline)", f)
    check(f and f["label"] == f"Log off every user of {name}", "and it is labelled with its VM for screen readers", f)
    page.browser.press("Enter")
    page.wait("!document.getElementById('vpc-confirm').hidden", 10, "the confirmation from Enter")
    f = page.evaluate(FOCUS)
    check(f is not None and f["in_dialog"], "Enter opens the confirmation and the focus is in it", f)
    page.wait("!document.getElementById('vpc-confirm-ok').disabled", 30, "the confirmation, once it asked who is logged on")
    inside = []
    for _ in range(4):
        page.browser.press("Tab")
        inside.append(page.evaluate(FOCUS))
    check(all(x and x["in_dialog"] for x in inside), "Tab stays in the open confirmation (aria-modal)", inside)
    check({x["id"] for x in inside if x} == {"vpc-confirm-ok", "vpc-confirm-cancel"},
          "and goes round its two buttons", inside)
    page.browser.press("Escape")
    check(dialog_closed(page), "Escape closes the confirmation")
    f = page.evaluate(FOCUS)
    check(f is not None and f["row"] == name and "vpc-vm-logoff" in f["cls"],
          "and the focus is back on the Log off that opened it", f)
    page.browser.press("Enter")
    page.wait("!document.getElementById('vpc-confirm').hidden && !document.getElementById('vpc-confirm-ok').disabled",
              30, "the confirmation again")
    for _ in range(3):
        if page.evaluate("document.activeElement.id") == "vpc-confirm-ok":
            break
        page.browser.press("Tab")
    page.evaluate(f"document.querySelector({js(page.row_selector(name) + ' .vpc-vm-outcome')}).textContent = ''")
    page.browser.press("Enter")
    r = page.wait_row(name, "r.outcome !== '' && r.outcome !== 'starting…'", 30, "the keyboard's Log off outcome")
    check(r is not None and r["outcome"] == "no guest agent to do it — 0xA0040505",
          "Enter on the dialog's Log off starts it: the outcome shows", r)


def narrow(page):
    """A phone's width: the tables become PatternFly's grid (each cell labelled), nothing is wider
    than the screen, and every enabled Log off can be pressed and its confirmation fits."""
    page.browser.set_viewport(360, 760)
    try:
        page.wait("window.innerWidth === 360", 10, "the 360 px viewport")
        over = page.evaluate("""(() => { const w = document.documentElement.clientWidth;
            const out = Array.from(document.querySelectorAll('body *')).filter(e => {
                if (e.offsetParent === null && getComputedStyle(e).position !== 'fixed') return false;
                const r = e.getBoundingClientRect();
                return r.width > 0 && (r.left < -0.5 || r.right > w + 0.5);
            }).map(e => e.tagName + '.' + e.className + ' ' + Math.round(e.getBoundingClientRect().right));
            return { scroll: document.documentElement.scrollWidth, client: w, out: out.slice(0, 10) }; })()""")
        check(over["scroll"] <= over["client"] and over["out"] == [],
              "at 360 px: no horizontal overflow, no element beyond the screen's edge", over)
        label = page.evaluate("""getComputedStyle(document.querySelector('#vpc-vm-rows tr .vpc-vm-state'), '::before').content""")
        check(label == '"State"', "at 360 px the VM table is a grid whose cells say what they are ('State')", label)
        page.screenshot("cockpit-domains-360.png")
        running = [r["name"] for r in page.rows() if not r["disabled"]]
        for name in running:
            page.click(page.row_selector(name) + " .vpc-vm-logoff")     # fails if covered or off screen
            # Complete (who is logged on asked): its answer changes the box's height, and so where
            # its buttons are.
            page.wait("!document.getElementById('vpc-confirm').hidden && !document.getElementById('vpc-confirm-ok').disabled",
                      30, f"the confirmation of {name}")
            box = page.evaluate("""(() => { const m = document.querySelector('.vpc-modal').getBoundingClientRect();
                const b = ['vpc-confirm-ok', 'vpc-confirm-cancel'].map(id => document.getElementById(id).getBoundingClientRect());
                return { left: m.left, right: m.right, buttons: b.every(r => r.left >= 0 && r.right <= innerWidth
                                                                        && r.bottom <= innerHeight && r.width > 0) }; })()""")
            check(box["left"] >= 0 and box["right"] <= 360 and box["buttons"],
                  f"at 360 px the Log off of '{name}' opens a confirmation that fits, its buttons on screen", box)
            page.click("#vpc-confirm-cancel")
            check(dialog_closed(page), f"and its Cancel closes it ('{name}')", page.dialog())
    finally:
        page.browser.clear_viewport()


SPANISH_STATES = {"running": "en ejecución", "paused": "en pausa", "shutoff": "apagada"}


def spanish(page):
    """The browser's language is Spanish (Accept-Language es-ES): the bridge serves po.es.js for
    the page's po.js, and every word of the page is Spanish; the CockpitLang cookie (the shell's
    language setting) wins over the browser's language."""
    es = {e.id: e for e in pofile.parse(os.path.join(os.environ["VPC_SOURCE_ROOT"], "cockpit", "po", "es.po"))
          if e.id and e.translated}
    check(page.evaluate("[document.documentElement.lang, document.title]") == ["es", es["Guest logoff"].strs[0]],
          "the page says it is Spanish (<html lang>) and its title is Spanish")
    check(page.evaluate("document.querySelector('h1').textContent") == "Cierre de sesiones de invitados",
          "the heading is Spanish")
    heads = page.evaluate("Array.from(document.querySelectorAll('#vpc-vms thead th')).map(t => t.textContent.trim())")
    check(heads == ["Nombre", "Estado", "Agente", "SO", "Usuarios", "Al desconectar la consola", "Cerrar sesiones"],
          "the VM table's headings are Spanish", heads)
    bus = {w[0]: w[1] for w in bus_vms()}
    rows = page.rows()
    check(all(r["state"] == SPANISH_STATES.get(bus[r["name"]], r["state"]) for r in rows) and
          any(r["state"] == "en ejecución" for r in rows),
          "the VMs' states are Spanish", [(r["name"], r["state"]) for r in rows])
    check(all(r["agent"] == "no conectado" for r in rows), "so is the agent column",
          [(r["name"], r["agent"]) for r in rows])
    label = page.evaluate("document.querySelector('#vpc-vm-rows .vpc-vm-state').dataset.label")
    check(label == "Estado", "the cells' labels for narrow screens are Spanish too", label)
    # Every text a person sees: none is an English string of the page that Spanish translates.
    english = page.evaluate("""(() => { const out = [];
        const w = document.createTreeWalker(document.body, NodeFilter.SHOW_TEXT);
        for (let n = w.nextNode(); n; n = w.nextNode())
            if (n.parentElement && n.parentElement.closest('[hidden], template') === null && n.textContent.trim())
                out.push(n.textContent.trim());
        for (const e of document.querySelectorAll('[aria-label], [title], [data-label]'))
            for (const a of ['aria-label', 'title', 'data-label'])
                if (e.getAttribute(a)) out.push(e.getAttribute(a));
        return out; })()""")
    left = sorted({t for t in english if t in es and es[t].strs[0] != t})
    check(left == [], "no English word of the page is left on it", left)

    name = "web server 01"
    page.click(page.row_selector(name) + " .vpc-vm-logoff")
    page.wait("!document.getElementById('vpc-confirm').hidden && !document.getElementById('vpc-confirm-ok').disabled",
              30, "the confirmation")
    d = page.dialog()
    check(d["title"] == f"¿Cerrar las sesiones de todos los usuarios de {name}?" and
          page.evaluate("document.getElementById('vpc-confirm-ok').textContent") == "Cerrar sesiones",
          "the confirmation is Spanish", d)
    page.click("#vpc-confirm-ok")
    r = page.wait_row(name, "r.outcome !== '' && r.outcome !== 'iniciando…'", 30)
    check(r is not None and r["outcome"] == "no hay agente invitado que lo haga — 0xA0040505",
          "the outcome is in Spanish, with its HRESULT; the service's own message stays as it sent it", r)

    page.evaluate("document.cookie = 'CockpitLang=en-us; path=/'")
    page.reload()
    check(page.evaluate("[document.documentElement.lang, document.querySelector('h1').textContent]") == ["en", "Guest logoff"],
          "the CockpitLang cookie (en-us) wins over the browser's Spanish: English after a reload")
    page.evaluate("document.cookie = 'CockpitLang=es; path=/'")
    page.reload()
    check(page.evaluate("document.querySelector('h1').textContent") == "Cierre de sesiones de invitados",
          "and CockpitLang=es gives Spanish again")


run(body)
