"""A systemd service unit's ExecStart= turned into the argv systemd would run, without systemd: the
line split into words first (quotes kept together, no shell), then each word's specifiers resolved,
as systemd's config_parse_exec does, so an instance name with spaces stays one argument. %i is the
instance as it appears in the unit name, %I the same unescaped by `systemd-escape --unescape`
(systemd's own code), %n/%N/%p/%P the unit's names, %% a percent sign; any other specifier is an
error here rather than a guess. SuccessExitStatus= says which exit statuses besides 0 succeed."""

import re
import shlex
import subprocess


def service_settings(path):
    """{key: [values]} of the [Service] and [Unit] sections (later values append)."""
    settings, section = {}, None
    for line in open(path, encoding="utf-8"):
        line = line.strip()
        if not line or line[0] in "#;":
            continue
        if line.startswith("["):
            section = line.strip("[]")
        elif "=" in line and section in ("Unit", "Service"):
            k, v = line.split("=", 1)
            settings.setdefault(k.strip(), []).append(v.strip())
    return settings


def escape_instance(template, name):
    """The unit name of template's instance for name, and the instance part, from systemd-escape."""
    unit = subprocess.run(["systemd-escape", f"--template={template}", name], capture_output=True, text=True,
                          check=True).stdout.strip()
    return unit, unit[unit.index("@") + 1:unit.rindex(".")]


def unescape(s):
    return subprocess.run(["systemd-escape", "--unescape", s], capture_output=True, text=True,
                          check=True).stdout.rstrip("\n")


def resolve(word, unit):
    suffix = unit[unit.rindex("."):]
    prefix, at, rest = unit[:-len(suffix)].partition("@")
    instance = rest if at else ""
    values = {"i": instance, "I": unescape(instance) if instance else "", "n": unit,
              "N": unit[:-len(suffix)], "p": prefix, "P": unescape(prefix), "%": "%"}

    def one(m):
        if m.group(1) not in values:
            raise ValueError(f"specifier %{m.group(1)} not handled here")
        return values[m.group(1)]
    return re.sub(r"%(.)", one, word)


def exec_argv(path, unit):
    """The argv of the unit file's one ExecStart= for the unit named unit (an instance for a template)."""
    lines = service_settings(path).get("ExecStart", [])
    if len(lines) != 1:
        raise ValueError(f"{path}: {len(lines)} ExecStart= lines")
    line = lines[0]
    # systemd's prefixes (-, @, :, +, !) change how it runs the command; none is used by our units.
    if line[0] in "-@:+!" or "\\" in line or "$" in line:
        raise ValueError(f"{path}: ExecStart= uses a prefix, an escape or a variable: {line}")
    return [resolve(w, unit) for w in shlex.split(line, comments=False, posix=True)]


def succeeds(path, status):
    """Whether systemd counts exit status status as the unit's success."""
    ok = {0}
    for v in service_settings(path).get("SuccessExitStatus", []):
        ok |= {int(x) for x in v.split() if x.isdigit()}
    return status in ok
