/* The vpc-guestosd Cockpit page (cockpit/vpc): the VMs that org.vpc publishes, Log off with its task,
 * and the running and recent tasks. Plain JavaScript on Cockpit's cockpit.js, no framework.
 *
 * - The bus is the system bus through the logged-in user's own bridge (superuser: false): the
 *   daemon asks polkit about that user. Through a root bridge polkit would always say yes.
 * - Everything is live: the VM and task objects come from the daemon's ObjectManager
 *   (InterfacesAdded/Removed) and PropertiesChanged, task progress from the Task's Progress and
 *   Completed signals. Nothing is polled. The list is drawn once, complete, when the first
 *   GetManagedObjects is in, and then changed row by row: no empty or flickering list.
 * - Every string from the bus goes into the page as text (textContent, attributes), never as HTML.
 * - The GuestOS properties that not every daemon has (AgentConnected, OSName, ListUsers, the
 *   console-disconnect policy) are used only where the object has them.
 * - Every word shown goes through cockpit.gettext (_ below; index.html's marked elements through
 *   cockpit.translate()), with po.js of the package in the language the bridge picked. Strings
 *   with numbers or names are cockpit.format() patterns ("$0"), whole sentences, so that a
 *   translation can order them; the service's own messages stay as it sent them (English). */

"use strict";

(function () {
    const BUS_NAME = "org.vpc";
    const GUESTOS = "org.vpc.GuestOS";
    const TASK = "org.vpc.Task";
    const NOT_KNOWN = "—";
    const _ = cockpit.gettext;
    const format = cockpit.format;

    /* The HRESULT of each of the service's D-Bus error names (vpc-errors.js, made from
     * service/errors.table), for errors whose message does not start with one (errors of the bus
     * or the bridge rather than of the daemon). */
    const HRESULTS = {};

    /* What an outcome means, in words: the bus's own errors here, the service's from vpc-errors.js. */
    const WORDS = {
        "": _("all users logged off"),
        "org.freedesktop.DBus.Error.Failed": _("failed"),
        "org.freedesktop.DBus.Error.UnknownMethod": _("not offered by this version of the service"),
        "org.freedesktop.DBus.Error.ServiceUnknown": _("the service is not running"),
        "org.freedesktop.DBus.Error.NoReply": _("the service did not answer"),
    };
    for (const name of Object.keys(window.VPC_ERRORS)) {
        HRESULTS[name] = window.VPC_ERRORS[name].hresult;
        WORDS[name] = window.VPC_ERRORS[name].words;
    }

    const STATES = {
        running: _("running"),
        paused: _("paused"),
        shutoff: _("shut off"),
        crashed: _("crashed"),
        pmsuspended: _("suspended"),
        blocked: _("blocked"),
        shutdown: _("shutting down"),
        nostate: _("no state"),
    };

    /* The service's task descriptions (its words, in English on the bus), for the task list. */
    const DESCRIPTIONS = {
        Logoff: _("Logoff"),
        "Logoff (console disconnected)": _("Logoff (console disconnected)"),
        Lock: _("Lock"),
    };

    let client = null;
    let vms = null;              // proxies of org.vpc.GuestOS, keyed by object path
    let tasks = null;            // proxies of org.vpc.Task
    let ready = false;           // the first GetManagedObjects of both is in and drawn
    let serviceUp = true;        // org.vpc has an owner
    let connection = 0;          // which client is the current one (see connect())
    const vmRows = new Map();    // GuestOS path -> {row, proxy, state, agent, users, task, outcome}
    const taskRows = new Map();  // Task path -> row
    const taskInfo = new Map();  // Task path -> what its signals and properties said
    let confirmAction = null;
    let confirmOpener = null;    // what had the focus when the confirmation opened

    function $(id) {
        return document.getElementById(id);
    }

    function part(row, cls) {
        return row.querySelector("." + cls);
    }

    /* A time of the bus (µs since the epoch) in the page's language. */
    function when(usec) {
        return new Date(usec / 1000).toLocaleString(cockpit.language);
    }

    function taskDescription(description) {
        if (!description)
            return _("Task");
        return DESCRIPTIONS[description] || description;
    }

    /* A PatternFly progress bar (role=progressbar): its value for assistive technology and its
     * indicator's width (set through the CSSOM, which Cockpit's CSP allows, unlike style=""). */
    function setBar(bar, percent) {
        bar.setAttribute("aria-valuenow", String(percent));
        bar.querySelector(".pf-c-progress__indicator").style.width = percent + "%";
    }

    function hex(code) {
        return "0x" + (code >>> 0).toString(16)
                .toUpperCase()
                .padStart(8, "0");
    }

    /* Orders like the daemon's strcmp() on UTF-8: by code point. */
    function compareNames(a, b) {
        const x = Array.from(a, c => c.codePointAt(0));
        const y = Array.from(b, c => c.codePointAt(0));
        for (let i = 0; i < Math.min(x.length, y.length); i++) {
            if (x[i] !== y[i])
                return x[i] - y[i];
        }
        return x.length - y.length;
    }

    /* An error of a call (cockpit's DBusError or a channel problem) as
     * {name, code, message}; the daemon's messages start with the HRESULT. */
    function describeError(error) {
        /* A problem of the bridge or the channel (no D-Bus error name) is a plain failure: an
         * empty name means success in a task's ErrorName. */
        const name = (error && error.name) || "org.freedesktop.DBus.Error.Failed";
        let message = (error && error.message) || cockpit.message(error);
        let code = null;
        const m = /^0x([0-9A-Fa-f]{8})\b/.exec(message);
        if (m)
            code = parseInt(m[1], 16);
        else if (name in HRESULTS)
            code = HRESULTS[name];
        if (!message)
            message = name || String(error);
        return { name, code, message };
    }

    /* "nobody was logged on — 0x80070520" and, as the detail, the service's message. */
    function outcomeText(name, code, message) {
        const words = WORDS[name] !== undefined ? WORDS[name] : (name || _("failed"));
        let text = words;
        if (code !== null && code !== undefined)
            text = format(_("$0 — $1"), text, hex(code));
        let detail = message || "";
        if (code !== null && code !== undefined && detail.startsWith(hex(code) + ": "))
            detail = detail.substring(hex(code).length + 2);
        if (name && !WORDS[name] && name !== words)
            detail = detail ? detail + " (" + name + ")" : name;
        return { text, detail };
    }

    /* One line for an error of a call: "not allowed — 0x80070005: <the service's message>". */
    function errorLine(error) {
        const e = describeError(error);
        const o = outcomeText(e.name, e.code, e.message);
        return o.detail ? format(_("$0: $1"), o.text, o.detail) : o.text;
    }

    function showService(text, isError) {
        const p = $("vpc-service");
        p.textContent = text;
        p.classList.toggle("vpc-error", !!isError);
        $("vpc-service-alert").hidden = !text;
    }

    /* --- the VM list ------------------------------------------------------------------------ */

    function hasProp(data, name) {
        return Object.prototype.hasOwnProperty.call(data, name);
    }

    function vmName(path) {
        const vm = vmRows.get(path);
        return vm ? vm.proxy.data.Name : null;
    }

    function insertSorted(tbody, row, name) {
        for (const other of tbody.children) {
            if (compareNames(name, other.dataset.name) < 0) {
                tbody.insertBefore(row, other);
                return;
            }
        }
        tbody.appendChild(row);
    }

    function createVmRow(proxy) {
        const row = $("vpc-vm-row").content.firstElementChild.cloneNode(true);
        const vm = { row, proxy, state: null, agent: null, task: null };
        row.dataset.path = proxy.path;
        row.dataset.name = proxy.data.Name || "";
        part(row, "vpc-vm-logoff").addEventListener("click", () => confirmLogoff([proxy.path], false));
        part(row, "vpc-vm-lock").addEventListener("click", () => startLock(proxy.path));
        part(row, "vpc-console-edit").addEventListener("click", () => editConsole(vm, true));
        part(row, "vpc-console-cancel").addEventListener("click", () => editConsole(vm, false));
        part(row, "vpc-console-save").addEventListener("click", () => saveConsole(vm));
        vmRows.set(proxy.path, vm);
        insertSorted($("vpc-vm-rows"), row, row.dataset.name);
        updateVm(vm);
        return vm;
    }

    function updateVm(vm) {
        const d = vm.proxy.data;
        const row = vm.row;
        const state = d.State || "";
        const agent = hasProp(d, "AgentConnected") ? !!d.AgentConnected : null;

        part(row, "vpc-vm-name").textContent = d.Name || vm.proxy.path;
        part(row, "vpc-vm-state").textContent = STATES[state] || state || NOT_KNOWN;
        row.dataset.state = state;
        part(row, "vpc-vm-agent").textContent = agent === null ? NOT_KNOWN : (agent ? _("connected") : _("not connected"));
        part(row, "vpc-vm-os").textContent = hasProp(d, "OSName") && d.OSName ? d.OSName : NOT_KNOWN;

        const button = part(row, "vpc-vm-logoff");
        button.disabled = state !== "running" || !serviceUp;
        if (!serviceUp)
            button.title = _("The vpc-guestosd service is not running");
        else
            button.title = state === "running" ? format(_("Log off every user of $0"), d.Name || "")
                : format(_("The VM is not running ($0)"), STATES[state] || state);
        /* Every row's button says "Log off": for a screen reader, whose. */
        button.setAttribute("aria-label", format(_("Log off every user of $0"), d.Name || vm.proxy.path));
        /* Lock logs nobody off, so it asks no confirmation (a daemon without it answers
         * UnknownMethod: "not offered by this version of the service"). */
        const lock = part(row, "vpc-vm-lock");
        lock.disabled = button.disabled;
        lock.title = !serviceUp ? button.title : (state === "running" ? format(_("Lock every user session of $0"), d.Name || "")
            : button.title);
        lock.setAttribute("aria-label", format(_("Lock every user session of $0"), d.Name || vm.proxy.path));

        updateConsole(vm);

        /* Who is logged on is asked again when the VM starts or its agent connects; it is not
         * a property (the agent must be asked), and it is never polled. */
        if (state !== vm.state || agent !== vm.agent) {
            vm.state = state;
            vm.agent = agent;
            refreshUsers(vm);
        }
        updateLogoffAll();
    }

    function showUsers(vm, text, title) {
        const cell = part(vm.row, "vpc-vm-users");
        cell.textContent = text;
        cell.title = title || "";
    }

    function userLabel(u) {
        return u[1] ? u[0] + "@" + u[1] : u[0];
    }

    function usersText(users) {
        return users.length ? users.map(userLabel).join(", ") : _("nobody");
    }

    /* Who is logged on, by name (the agent lists them in no particular order). */
    function listUsers(path) {
        return client.call(path, GUESTOS, "ListUsers", [])
                .then(reply => reply[0].slice().sort((a, b) => compareNames(userLabel(a), userLabel(b))));
    }

    function refreshUsers(vm) {
        /* Only where it can answer: a running VM whose agent is connected (AgentConnected, which
         * a daemon with ListUsers has). */
        if (vm.state !== "running" || vm.agent !== true) {
            showUsers(vm, NOT_KNOWN, "");
            return;
        }
        /* The first answer is awaited with a word; later ones replace the list in place. */
        if (part(vm.row, "vpc-vm-users").textContent === "" || part(vm.row, "vpc-vm-users").textContent === NOT_KNOWN)
            showUsers(vm, _("asking…"), "");
        const asked = vm.usersAsked = (vm.usersAsked || 0) + 1;
        listUsers(vm.proxy.path)
                .then(users => {
                    if (asked !== vm.usersAsked)
                        return;
                    showUsers(vm, usersText(users),
                              users.map(u => format(_("$0 since $1"), userLabel(u), when(u[2]))).join("\n"));
                })
                .catch(error => {
                    if (asked !== vm.usersAsked)
                        return;
                    showUsers(vm, NOT_KNOWN, errorLine(error));
                });
    }

    function removeVm(path) {
        const vm = vmRows.get(path);
        if (!vm)
            return;
        vm.row.remove();
        vmRows.delete(path);
        updateEmpty();
        updateLogoffAll();
    }

    function updateEmpty() {
        const none = vmRows.size === 0;
        $("vpc-empty").hidden = !none;
        $("vpc-vms").hidden = none;
    }

    function runningVms() {
        return Array.from(vmRows.values())
                .filter(vm => vm.proxy.data.State === "running")
                .sort((a, b) => compareNames(a.proxy.data.Name || "", b.proxy.data.Name || ""));
    }

    function updateLogoffAll() {
        $("vpc-logoff-all").disabled = !ready || !serviceUp || runningVms().length === 0;
    }

    /* --- the console-disconnect policy, where the service has it ------------------------------ */

    function updateConsole(vm) {
        const d = vm.proxy.data;
        const has = hasProp(d, "ConsoleDisconnectPolicy");
        const row = vm.row;
        part(row, "vpc-console-edit").hidden = !has || !part(row, "vpc-console-form").hidden;
        if (!has) {
            part(row, "vpc-console-text").textContent = "";
            return;
        }
        $("vpc-vms").classList.add("vpc-has-console");
        const actions = {
            "logoff": _("log off after $0 s"),
            "lock": _("lock after $0 s"),
            "lock-then-logoff": _("lock, log off after $0 s"),
            "warn-then-logoff": _("warn, log off after $0 s"),
        };
        let text = actions[d.ConsoleDisconnectPolicy]
            ? format(actions[d.ConsoleDisconnectPolicy], d.ConsoleDisconnectDelaySec || 0)
            : (d.ConsoleDisconnectPolicy === "none" ? _("nothing") : String(d.ConsoleDisconnectPolicy));
        if (d.ConsoleDisconnectMessage)
            text += " " + format(_("with a message: $0"), d.ConsoleDisconnectMessage);
        if (hasProp(d, "ConsoleClients"))
            text += " " + format(cockpit.ngettext("($0 console client)", "($0 console clients)", d.ConsoleClients),
                                 d.ConsoleClients);
        part(row, "vpc-console-text").textContent = text;
    }

    function editConsole(vm, on) {
        const row = vm.row;
        const d = vm.proxy.data;
        part(row, "vpc-console-form").hidden = !on;
        part(row, "vpc-console-error").textContent = "";
        if (on) {
            const known = ["none", "lock", "logoff", "lock-then-logoff", "warn-then-logoff"];
            part(row, "vpc-console-policy").value = known.includes(d.ConsoleDisconnectPolicy)
                ? d.ConsoleDisconnectPolicy : "none";
            part(row, "vpc-console-delay").value = String(d.ConsoleDisconnectDelaySec || 0);
            /* A service without messages in its policy gets no message box. */
            part(row, "vpc-console-message").hidden = !hasProp(d, "ConsoleDisconnectMessage");
            part(row, "vpc-console-message").value = d.ConsoleDisconnectMessage || "";
        }
        updateConsole(vm);
    }

    function saveConsole(vm) {
        const row = vm.row;
        const policy = part(row, "vpc-console-policy").value;
        const delay = Number(part(row, "vpc-console-delay").value);
        if (!Number.isInteger(delay) || delay < 0 || delay > 86400) {
            part(row, "vpc-console-error").textContent = _("The delay is a whole number of seconds, 0 to 86400.");
            return;
        }
        part(row, "vpc-console-save").disabled = true;
        const message = part(row, "vpc-console-message").value;
        const call = hasProp(vm.proxy.data, "ConsoleDisconnectMessage")
            ? client.call(vm.proxy.path, GUESTOS, "SetConsoleDisconnectPolicyWithOptions",
                          [policy, delay, message ? { Message: { t: "s", v: message } } : {}])
            : client.call(vm.proxy.path, GUESTOS, "SetConsoleDisconnectPolicy", [policy, delay]);
        call
                .then(() => editConsole(vm, false))
                .catch(error => {
                    part(row, "vpc-console-error").textContent = errorLine(error);
                })
                .finally(() => {
                    part(row, "vpc-console-save").disabled = false;
                });
    }

    /* --- Log off: who, then the task ---------------------------------------------------------- */

    function closeConfirm() {
        $("vpc-confirm").hidden = true;
        confirmAction = null;
        /* Back to where the keyboard was, if that is still there to take it. */
        const opener = confirmOpener;
        confirmOpener = null;
        if (opener && opener.isConnected)
            opener.focus();
    }

    /* Tab and Shift+Tab go round the confirmation's buttons while it is open (aria-modal). */
    function trapFocus(ev) {
        const buttons = Array.from($("vpc-confirm").querySelectorAll("button")).filter(b => !b.disabled);
        if (buttons.length === 0) {
            ev.preventDefault();
            return;
        }
        const i = buttons.indexOf(document.activeElement);
        const next = ev.shiftKey ? (i <= 0 ? buttons.length - 1 : i - 1) : (i + 1) % buttons.length;
        buttons[next].focus();
        ev.preventDefault();
    }

    /* Shows who will be logged off (ListUsers, per VM) and asks before it starts. */
    function confirmLogoff(paths, all) {
        paths = paths.filter(p => vmRows.has(p));
        if (paths.length === 0)
            return;
        const single = !all;
        if (single)
            $("vpc-confirm-title").textContent = format(_("Log off every user of $0?"), vmName(paths[0]));
        else
            $("vpc-confirm-title").textContent = format(cockpit.ngettext("Log off every user of the one running VM?",
                                                                         "Log off every user of the $0 running VMs?",
                                                                         paths.length), paths.length);
        $("vpc-confirm-text").textContent = _("Asking who is logged on…");
        const list = $("vpc-confirm-list");
        list.replaceChildren();
        $("vpc-confirm-ok").disabled = true;
        $("vpc-confirm-message").value = "";
        $("vpc-confirm-grace").value = "0";
        const token = {};
        confirmAction = { token, paths };
        if (!confirmOpener)
            confirmOpener = document.activeElement;
        $("vpc-confirm").hidden = false;
        $("vpc-confirm-cancel").focus();

        const items = paths.map(path => {
            const li = document.createElement("li");
            li.dataset.path = path;
            const prefix = text => single ? text : format(_("$0: $1"), vmName(path), text);
            li.textContent = prefix(_("asking…"));
            list.appendChild(li);
            return listUsers(path)
                    .then(users => {
                        const who = users.length
                            ? users.map(u => format(_("$0 (logged on since $1)"), userLabel(u), when(u[2]))).join(", ")
                            : _("nobody is logged on");
                        li.textContent = prefix(who);
                        li.classList.add("vpc-confirm-users");
                    })
                    .catch(error => {
                        const e = describeError(error);
                        if (e.name === "org.freedesktop.DBus.Error.UnknownMethod") {
                            /* a daemon from before ListUsers */
                            li.textContent = prefix(_("this version of the service cannot say who is logged on"));
                            return;
                        }
                        li.textContent = prefix(format(_("cannot tell who is logged on: $0"), errorLine(error)));
                        li.classList.add("vpc-error");
                    });
        });
        Promise.all(items).then(() => {
            if (!confirmAction || confirmAction.token !== token)
                return;
            $("vpc-confirm-text").textContent = single
                ? _("These users will be logged off:")
                : _("The users of these VMs will be logged off:");
            $("vpc-confirm-ok").disabled = false;
            $("vpc-confirm-ok").focus();
        });
    }

    function setVmStatus(vm, percent, text, detail, kind) {
        const row = vm.row;
        const bar = part(row, "vpc-vm-progress");
        bar.hidden = percent === null;
        if (percent !== null)
            setBar(bar, percent);
        const outcome = part(row, "vpc-vm-outcome");
        outcome.textContent = text || "";
        outcome.classList.toggle("vpc-failed", kind === "failed");
        outcome.classList.toggle("vpc-succeeded", kind === "succeeded");
        outcome.classList.toggle("vpc-neutral", kind === "neutral");
        part(row, "vpc-vm-detail").textContent = detail || "";
    }

    /* The confirmation's message and grace, as LogoffWithOptions' options; null for a plain Logoff.
     * The service checks and cleans them (InvalidArgs names a bad one). */
    function logoffOptions() {
        const message = $("vpc-confirm-message").value;
        const grace = Math.max(0, Math.min(3600, Math.floor(Number($("vpc-confirm-grace").value) || 0)));
        if (message.trim() === "" && grace === 0)
            return null;
        const options = { GraceSec: { t: "u", v: grace } };
        if (message.trim() !== "")
            options.Message = { t: "s", v: message };
        return options;
    }

    function startLogoff(path, options) {
        const vm = vmRows.get(path);
        if (!vm)
            return;
        vm.task = null;
        setVmStatus(vm, 0, _("starting…"), "", null);
        (options ? client.call(path, GUESTOS, "LogoffWithOptions", [options]) : client.call(path, GUESTOS, "Logoff", []))
                .then(reply => {
                    vm.task = reply[0];
                    showTaskOnVm(vm.task);
                })
                .catch(error => {
                    const e = describeError(error);
                    const o = outcomeText(e.name, e.code, e.message);
                    setVmStatus(vm, null, o.text, o.detail, "failed");
                });
    }

    /* Lock: the task, shown on the row as a Logoff's. */
    function startLock(path) {
        const vm = vmRows.get(path);
        if (!vm)
            return;
        vm.task = null;
        setVmStatus(vm, 0, _("starting…"), "", null);
        client.call(path, GUESTOS, "Lock", [])
                .then(reply => {
                    vm.task = reply[0];
                    info(vm.task).description = "Lock";
                    showTaskOnVm(vm.task);
                })
                .catch(error => {
                    const e = describeError(error);
                    const o = outcomeText(e.name, e.code, e.message);
                    setVmStatus(vm, null, o.text, o.detail, "failed");
                });
    }

    /* --- tasks ---------------------------------------------------------------------------------- */

    function info(path) {
        let t = taskInfo.get(path);
        if (!t) {
            t = { percent: 0, complete: false, code: 0, name: "", message: "" };
            taskInfo.set(path, t);
        }
        return t;
    }

    /* What the task's properties say; the signals may have said more already. */
    function absorbTaskProps(path, d) {
        const t = info(path);
        if (hasProp(d, "PercentCompleted"))
            t.percent = Math.max(t.percent, d.PercentCompleted);
        if (d.IsComplete && !t.complete) {
            t.complete = true;
            t.code = d.ErrorCode || 0;
            t.name = d.ErrorName || "";
            t.message = d.ErrorMessage || "";
        }
        if (hasProp(d, "Target"))
            t.target = d.Target;
        if (hasProp(d, "Description"))
            t.description = d.Description;
    }

    function onTaskSignal(path, iface, signal, args) {
        const t = info(path);
        if (signal === "Progress") {
            t.percent = Math.max(t.percent, args[0]);
            /* Someone's session ended: the users column follows. */
            const target = t.target ? vmRows.get(t.target) : null;
            if (target && t.percent < 100)
                refreshUsers(target);
        } else if (signal === "Completed") {
            t.complete = true;
            t.code = args[0];
            t.name = args[1];
            t.message = args[2];
        } else {
            return;
        }
        redrawTask(path);
    }

    function taskOutcome(t) {
        /* Nobody reports on a task while the service is away: say so rather than "running". */
        if (!t.complete && !serviceUp)
            return { text: format(_("waiting for the service — $0 %"), t.percent),
                     detail: _("The service is not running; the task is followed again when it is back."),
                     kind: "neutral" };
        if (!t.complete)
            return { text: format(_("running — $0 %"), t.percent), detail: "", kind: null };
        const o = t.code === 0 && t.description === "Lock"
            ? { text: _("every session locked"), detail: "" } : outcomeText(t.name, t.code, t.message);
        /* Nobody to log off and a cancel asked for are no failures. */
        const benign = t.name === "org.vpc.Error.NoSuchLogonSession" || t.name === "org.vpc.Error.Cancelled";
        return { text: o.text, detail: o.detail, kind: t.code === 0 ? "succeeded" : (benign ? "neutral" : "failed") };
    }

    function showTaskOnVm(path) {
        const t = info(path);
        for (const vm of vmRows.values()) {
            if (vm.task !== path)
                continue;
            const o = taskOutcome(t);
            setVmStatus(vm, t.complete && t.code !== 0 ? null : t.percent, o.text, o.detail, o.kind);
        }
    }

    function redrawTask(path) {
        const t = info(path);
        const target = t.target ? vmRows.get(t.target) : null;
        /* A running task of a VM is shown on its row whoever started it (vpcctl, another
         * browser, the console-disconnect policy), unless the row follows one already. */
        if (target && !t.complete && (!target.task || info(target.task).complete))
            target.task = path;
        /* The users of a VM change when a task on it ends: ask again. */
        if (ready && target && t.complete && !t.usersAsked) {
            t.usersAsked = true;
            refreshUsers(target);
        }
        const row = taskRows.get(path);
        if (row) {
            const d = tasks[path] ? tasks[path].data : {};
            const targetPath = t.target || d.Target || "";
            part(row, "vpc-task-vm").textContent = vmName(targetPath) || targetPath || NOT_KNOWN;
            setBar(part(row, "vpc-task-progress"), t.percent);
            part(row, "vpc-task-percent").textContent = format(_("$0 %"), t.percent);
            const o = taskOutcome(t);
            const outcome = part(row, "vpc-task-outcome");
            outcome.textContent = o.text;
            outcome.classList.toggle("vpc-failed", o.kind === "failed");
            outcome.classList.toggle("vpc-succeeded", o.kind === "succeeded");
            outcome.classList.toggle("vpc-neutral", o.kind === "neutral");
            if (!row.cancelError)
                part(row, "vpc-task-detail").textContent = o.detail;
            part(row, "vpc-task-cancel").hidden = t.complete;
            part(row, "vpc-task-cancel").disabled = !serviceUp || !!row.cancelling;
            row.dataset.complete = t.complete ? "true" : "false";
        }
        showTaskOnVm(path);
    }

    function taskNumber(path) {
        const n = parseInt(path.substring(path.lastIndexOf("/") + 1), 10);
        return isNaN(n) ? 0 : n;
    }

    function createTaskRow(proxy) {
        const path = proxy.path;
        const d = proxy.data;
        absorbTaskProps(path, d);
        const row = $("vpc-task-row").content.firstElementChild.cloneNode(true);
        row.dataset.path = path;
        part(row, "vpc-task-id").textContent = format(_("$0 #$1"), taskDescription(d.Description), taskNumber(path));
        part(row, "vpc-task-started").textContent = d.StartedUSec
            ? new Date(d.StartedUSec / 1000).toLocaleTimeString(cockpit.language) : "";
        part(row, "vpc-task-cancel").addEventListener("click", () => cancelTask(path, row));
        taskRows.set(path, row);
        /* newest first */
        const tbody = $("vpc-task-rows");
        let before = null;
        for (const other of tbody.children) {
            if (taskNumber(other.dataset.path) < taskNumber(path)) {
                before = other;
                break;
            }
        }
        tbody.insertBefore(row, before);
        updateTasksEmpty();
        redrawTask(path);
    }

    function removeTaskRow(path) {
        const row = taskRows.get(path);
        if (row)
            row.remove();
        taskRows.delete(path);
        updateTasksEmpty();
    }

    function updateTasksEmpty() {
        const none = taskRows.size === 0;
        $("vpc-tasks-empty").hidden = !none;
        $("vpc-tasks").hidden = none;
    }

    function cancelTask(path, row) {
        const button = part(row, "vpc-task-cancel");
        button.disabled = true;
        row.cancelling = true;
        client.call(path, TASK, "Cancel", [])
                .catch(error => {
                    row.cancelError = true;
                    part(row, "vpc-task-detail").textContent = format(_("Cancel: $0"), errorLine(error));
                    part(row, "vpc-task-detail").classList.add("vpc-error");
                })
                .finally(() => {
                    row.cancelling = false;
                    button.disabled = !serviceUp;
                });
    }

    /* --- start ---------------------------------------------------------------------------------- */

    /* Draws the whole list from a client whose first GetManagedObjects is in: in one go, so that
     * a person never sees it empty or half drawn (also when it replaces an older list). */
    function drawAll(generation) {
        if (generation !== connection)
            return;
        /* The task each row followed: the service keeps its tasks across a restart, at the same
         * paths (a path never names another task), so a row goes on following its task if the new
         * list has it. */
        const followed = new Map();
        for (const [path, vm] of vmRows)
            if (vm.task)
                followed.set(path, vm.task);
        $("vpc-vm-rows").replaceChildren();
        $("vpc-task-rows").replaceChildren();
        vmRows.clear();
        taskRows.clear();
        /* What the page knew of a task the new list still has stays (the same task): its progress
         * never goes back, also where the service restored an older PercentCompleted. */
        for (const path of Array.from(taskInfo.keys()))
            if (!tasks[path])
                taskInfo.delete(path);
        const names = Object.keys(vms).filter(p => vms[p] && vms[p].data && vms[p].valid !== false);
        for (const path of names)
            createVmRow(vms[path]);
        for (const [path, task] of followed)
            if (vmRows.has(path) && tasks[task])
                vmRows.get(path).task = task;
        for (const path of Object.keys(tasks))
            createTaskRow(tasks[path]);
        ready = true;
        $("vpc-loading").hidden = true;
        updateEmpty();
        updateTasksEmpty();
        updateLogoffAll();
        document.body.dataset.ready = "true";
    }

    function setServiceUp(up) {
        serviceUp = up;
        document.body.dataset.service = up ? "up" : "down";
        for (const vm of vmRows.values())
            updateVm(vm);
        for (const path of taskRows.keys())
            redrawTask(path);
        updateLogoffAll();
    }

    /* A client of its own, watching the objects of org.vpc. When the service comes back after it
     * was gone, a new one is made: the objects the service has now are read again (libvirt
     * domains defined meanwhile included), rather than trusting the old ones. */
    function connect() {
        const generation = ++connection;
        const old = client;
        client = cockpit.dbus(BUS_NAME, { bus: "system", superuser: false });
        if (old)
            old.close();
        let hadOwner = true;
        client.addEventListener("close", (ev, options) => {
            if (generation !== connection)
                return;
            showService(format(_("The connection to the system bus is gone: $0"), cockpit.message(options)), true);
            setServiceUp(false);
        });
        client.addEventListener("owner", (ev, owner) => {
            if (generation !== connection)
                return;
            if (owner === null) {
                hadOwner = false;
                showService(format(_("The vpc-guestosd service ($0) is not running."), BUS_NAME), true);
                setServiceUp(false);
            } else if (!hadOwner) {
                showService("", false);
                connect();
            } else {
                showService("", false);
                if (!serviceUp)
                    setServiceUp(true);
            }
        });

        /* The signals of every task, from before its proxy exists: a fast task may send Progress
         * right after InterfacesAdded. */
        client.subscribe({ interface: TASK, path_namespace: "/org/vpc/Task" }, (...args) => {
            if (generation === connection)
                onTaskSignal(...args);
        });

        vms = client.proxies(GUESTOS, "/org/vpc");
        tasks = client.proxies(TASK, "/org/vpc");
        ready = false;

        vms.addEventListener("changed", (ev, proxy) => {
            if (!ready || generation !== connection)
                return;
            const vm = vmRows.get(proxy.path);
            if (vm)
                updateVm(vm);
            else
                createVmRow(proxy);
            updateEmpty();
        });
        vms.addEventListener("removed", (ev, proxy) => {
            if (ready && generation === connection)
                removeVm(proxy.path);
        });
        tasks.addEventListener("changed", (ev, proxy) => {
            if (!ready || generation !== connection)
                return;
            absorbTaskProps(proxy.path, proxy.data);
            if (taskRows.has(proxy.path))
                redrawTask(proxy.path);
            else
                createTaskRow(proxy);
        });
        tasks.addEventListener("removed", (ev, proxy) => {
            if (ready && generation === connection)
                removeTaskRow(proxy.path);
        });

        Promise.all([vms.wait(), tasks.wait()])
                .then(() => {
                    drawAll(generation);
                    if (generation === connection && hadOwner)
                        setServiceUp(true);
                })
                .catch(error => {
                    if (generation !== connection)
                        return;
                    $("vpc-loading").hidden = true;
                    showService(format(_("Cannot reach the vpc-guestosd service: $0"), describeError(error).message), true);
                });
    }

    /* index.html's words in the page's language; the row templates too (their content is not
     * part of the document that cockpit.translate() walks). */
    function translatePage() {
        cockpit.translate();
        for (const id of ["vpc-vm-row", "vpc-task-row"])
            cockpit.translate($(id).content);
        document.documentElement.lang = cockpit.language;
    }

    function init() {
        translatePage();
        $("vpc-confirm-cancel").addEventListener("click", closeConfirm);
        $("vpc-confirm-ok").addEventListener("click", () => {
            const action = confirmAction;
            const options = logoffOptions();
            closeConfirm();
            if (action)
                action.paths.forEach(path => startLogoff(path, options));
        });
        document.addEventListener("keydown", ev => {
            if ($("vpc-confirm").hidden)
                return;
            if (ev.key === "Escape")
                closeConfirm();
            else if (ev.key === "Tab")
                trapFocus(ev);
        });
        $("vpc-logoff-all").addEventListener("click", () => confirmLogoff(runningVms().map(vm => vm.proxy.path), true));
        connect();
    }

    document.addEventListener("DOMContentLoaded", init);
}());
