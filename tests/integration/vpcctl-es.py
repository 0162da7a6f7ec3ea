#!/usr/bin/python3
"""vpcctl in Spanish (LANG=es_ES.UTF-8) against the real daemon, dbus-daemon, polkitd and libvirtd
(test driver), with the catalogue the build made (VPCCTL_LOCALEDIR): the help, list's and tasks'
headers and footers, status's labels, usage errors and the words around a failure are Spanish; the
service's error messages and names, the VM states, --json and -q stay exactly as under C.UTF-8.
The es_ES.UTF-8 locale is the system's when it has one, else compiled here with localedef (from the
locales package) into the environment's directory and found through LOCPATH."""

import json
import os
import subprocess
import sys

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "lib"))
from vpctest import *  # noqa: E402,F403

VPCCTL = os.environ["VPCCTL"]
LOCALEDIR = os.environ["VPCCTL_LOCALEDIR"]
BASE = {"DBUS_SYSTEM_BUS_ADDRESS": os.environ["DBUS_SYSTEM_BUS_ADDRESS"], "PATH": "/usr/bin:/bin",
        "VPCCTL_LOCALEDIR": LOCALEDIR}


def spanish_locale_env():
    have = subprocess.run(["locale", "-a"], capture_output=True, text=True).stdout.split()
    if "es_ES.utf8" in have or "es_ES.UTF-8" in have:
        return {}
    locpath = os.path.join(os.environ["VPC_ENV_DIR"], "locale")
    os.makedirs(locpath, exist_ok=True)
    r = subprocess.run(["localedef", "-i", "es_ES", "-f", "UTF-8", os.path.join(locpath, "es_ES.UTF-8")],
                       capture_output=True, text=True)
    # localedef exits 1 for warnings with the locale written; the check below is what counts.
    check(os.path.isdir(os.path.join(locpath, "es_ES.UTF-8")), "localedef compiled es_ES.UTF-8", r.stderr)
    return {"LOCPATH": locpath}


ES = dict(BASE, LANG="es_ES.UTF-8", **spanish_locale_env())
C = dict(BASE, LANG="C.UTF-8")
r = subprocess.run(["locale"], env=ES, capture_output=True, text=True)
check(r.returncode == 0 and "LC_MESSAGES=\"es_ES.UTF-8\"" in r.stdout and "Cannot set" not in r.stderr,
      "the es_ES.UTF-8 locale loads", (r.stdout, r.stderr))
check(os.path.exists(os.path.join(LOCALEDIR, "es", "LC_MESSAGES", "vpcctl.mo")),
      "the build made the Spanish catalogue po/es/LC_MESSAGES/vpcctl.mo", LOCALEDIR)


def vpcctl(*args, env=ES):
    return subprocess.run([VPCCTL, *args], env=env, capture_output=True, text=True, timeout=60,
                          stdin=subprocess.DEVNULL)


# --- help and usage ------------------------------------------------------------------------------------
r = vpcctl("--help")
check(r.returncode == 0 and "Órdenes:" in r.stdout and "Opciones:" in r.stdout and "Estado de salida:" in r.stdout
      and "Commands:" not in r.stdout, "--help in Spanish", r.stdout[:300])
check("  logoff MV...         Cierra" in r.stdout, "--help keeps the command names and the column", r.stdout)
r = vpcctl("frobnicate")
check(r.returncode == 2 and r.stderr == "vpcctl: orden desconocida «frobnicate»; véase vpcctl --help\n",
      "an unknown command: Spanish, exit status 2", r.stderr)
r = vpcctl("--timeout", "soon", "list")
check(r.returncode == 2 and "espera un número positivo de segundos" in r.stderr, "a bad --timeout: Spanish", r.stderr)
r = vpcctl("--timeout", "0.5", "--json", "list")
check(r.returncode == 0, "--timeout 0.5 parses with a C decimal point under a locale that writes 0,5", r.stderr)

# --- list, tasks -----------------------------------------------------------------------------------------
r = vpcctl("list")
lines = r.stdout.splitlines()
check(r.returncode == 0 and lines and lines[0].split() == ["NOMBRE", "ESTADO", "UUID"], "list: Spanish header", lines[:1])
check(lines and lines[-1] == "6 MV listadas.", "list: Spanish footer with the plural", lines[-1:])
rows = [x for x in lines[1:-1] if x]
check(any(x.startswith("web server 01 ") and x.split()[-2] == "running" for x in rows),
      "list: the state is the service's word, untranslated", rows)
check(len({len(x[:x.rindex(" ") + 1]) for x in rows}) == 1, "list: the UUID column is aligned under the Spanish header", rows)
for args in (["list", "--json"], ["-q", "list"], ["tasks", "--json"], ["status", "--json", "web server 01"]):
    a, b = vpcctl(*args), vpcctl(*args, env=C)
    check(a.returncode == 0 and a.stdout == b.stdout, f"{' '.join(args)}: the same bytes as under C.UTF-8", (a.stdout, b.stdout))
r = vpcctl("tasks")
check(r.returncode == 0 and r.stdout.split("\n")[0].split() == ["TAREA", "MV", "QUÉ", "DUEÑO", "ESTADO"]
      and r.stdout.splitlines()[-1] == "0 tareas listadas.", "tasks: Spanish header and footer", r.stdout)

# --- status ----------------------------------------------------------------------------------------------
r = vpcctl("status", "web server 01")
want = ["    Estado: running", "      UUID: 11111111-2222-3333-4444-000000000001",
        "    Agente: no conectado", "        SO: -", "  Usuarios: -", "    Tareas: ninguna"]
check(r.returncode == 0 and all(w in r.stdout.splitlines() for w in want), "status: Spanish labels, right-aligned", r.stdout)
check(any(x.startswith("   Consola: ") and x.endswith("; 0 cliente(s) conectado(s)") for x in r.stdout.splitlines()),
      "status: the console line in Spanish", r.stdout)

# --- failures: the service's message and name in English, vpcctl's words around them in Spanish -------------
r = vpcctl("logoff", "web server 01")
c = vpcctl("logoff", "web server 01", env=C)
first = r.stderr.splitlines()[0] if r.stderr else ""
check(r.returncode == 5 and first == c.stderr.splitlines()[0] and "0xA0040505" in first
      and "[org.vpc.Error.AdditionsFeatureNotAvailable]" in first,
      "logoff without an agent: exit status 5, the service's line as under C.UTF-8", (r.stderr, c.stderr))
check("vpcctl: sugerencia: " in r.stderr, "... and vpcctl's hint in Spanish", r.stderr)
r = vpcctl("users", "nope")
check(r.returncode == 6 and r.stderr.startswith("vpcctl: no se pueden listar los usuarios de «nope»: 0xA0040207")
      and "[org.vpc.Error.VmUnknown]" in r.stderr, "users of an unknown VM: Spanish around the service's message", r.stderr)
r = vpcctl("--json", "logoff", "nope")
c = vpcctl("--json", "logoff", "nope", env=C)
check(r.returncode == 6 and json.loads(r.stdout) == json.loads(c.stdout), "logoff --json: the same result as under C.UTF-8", r.stdout)
r = vpcctl("--address", "unix:path=" + os.path.join(os.environ["VPC_ENV_DIR"], "no-bus"), "--json", "list")
err = json.loads(r.stdout.splitlines()[0]).get("error", {}) if r.stdout else {}
check(r.returncode == 11 and err.get("error_message") == "No such file or directory"
      and r.stderr.startswith("vpcctl: no se puede conectar a unix:path="),
      "no bus: stderr in Spanish, the JSON's message in English", (r.stdout, r.stderr))

finish()
