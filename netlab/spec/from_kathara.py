"""A Kathará lab (a folder with lab.conf) made into a netlab topology (`netlab import`).

lab.conf lines `dev[N]="CD"` (optionally `"CD/MAC"`) put interface ethN of device dev on
collision domain CD: each collision domain becomes a switch, each device a host with
forwarding on and reverse-path filtering off (the sysctls Kathará gives every device).
`<dev>.startup` (after `shared.startup`, as Kathará runs them) becomes the device's
`exec:`; a script with multi-line constructs is kept whole as a file run by one command.
Device options: `sysctl`, `env` and `exec` carry over; `image`, `mem`, `cpus`, `bridged`,
`port`, `ipv6`, `shell`... are named in comments, as are the device folders (files copied
into a container's root file system), lab.dep and lab.ext.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

from netlab.errors import InputError
from netlab.spec.foreign import Imported, Names, lab_name

_LINE = re.compile(r"^(?P<dev>[a-z0-9_]{1,30})\[(?P<arg>\w+)\]=([\"']?)(?P<value>[^\"']*)\3"
                   r"(\s+#.*)?$")
_META = re.compile(r"^LAB_(?P<key>[A-Z_]+)=(?P<value>.*)$")
# What Kathará sets in every device (DockerMachine: rp_filter off, ip_forward on).
KATHARA_SYSCTLS: dict[str, int] = {
    "net.ipv4.ip_forward": 1,
    "net.ipv4.conf.all.rp_filter": 0,
    "net.ipv4.conf.default.rp_filter": 0,
    "net.ipv4.icmp_ratelimit": 0,
}
_STRUCTURED = re.compile(r"(\\$|<<|^\s*(if|for|while|until|case|function)\b|\{\s*$|^\s*\})")
_OPTION_NOTES = {
    "image": "netlab runs the host's programs; install what the image had on the host",
    "bridged": "no bridge to the host's network: a netlab lab is not routed to the outside",
    "port": "no port publishing: a netlab lab is not routed to the outside",
    "mem": "not carried (memory limit)",
    "cpus": "not carried (CPU limit)",
}
MAX_SCRIPT = 64 * 1024


def convert(folder: Path, source: str, conf: Path | None = None) -> Imported:
    """The lab in `folder`, described by its lab.conf (or by `conf`, a lab.conf saved
    under another name)."""
    conf = conf or folder / "lab.conf"
    try:
        text = conf.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise InputError(f"{source}: no lab.conf in this folder; is it a Kathará lab?") from None
    except (OSError, UnicodeDecodeError) as e:
        raise InputError(f"{source}: cannot read lab.conf: {e}") from None
    devices: dict[str, dict[int, tuple[str, str | None]]] = {}
    options: dict[str, list[tuple[str, str]]] = {}
    meta: dict[str, str] = {}
    for number, raw in enumerate(text.splitlines(), 1):
        line = raw.strip()
        if not line or line.startswith("#"):
            continue
        match = _LINE.match(line)
        if match is None:
            found = _META.match(line)
            if found is None:
                raise InputError(f"{source}/lab.conf:{number}: not a line of lab.conf: {line}")
            meta[found["key"].lower()] = found["value"].strip().strip("\"'")
            continue
        dev, arg, value = match["dev"], match["arg"], match["value"]
        devices.setdefault(dev, {})
        if arg.isdigit():
            domain, _, mac = value.partition("/")
            devices[dev][int(arg)] = (domain, mac or None)
        else:
            options.setdefault(dev, []).append((arg, value))
    result = Imported("Kathará", source, lab_name(meta.get("name") or folder.resolve().name))
    for key in ("description", "version", "author", "email", "web"):
        if key in meta:
            result.notes.append(f"LAB_{key.upper()}: {meta[key]}")
    names = Names()
    for dev in devices:
        names(dev)
    domains = Names(set(names.given.values()))  # a domain is named apart from devices
    shared = _startup(folder / "shared.startup")
    cables: list[tuple[str, str]] = []  # (device:ethN, its collision domain)
    for dev, ifaces in devices.items():
        name = names(dev)
        body: dict[str, Any] = {"sysctls": dict(KATHARA_SYSCTLS)}
        result.nodes[name] = body
        result.note(name, "sysctls as Kathará sets them in every device (forwarding on)")
        for arg, value in options.get(dev, []):
            _option(result, name, arg, value)
        for script, label in ((shared, "shared.startup"),
                              (_startup(folder / f"{dev}.startup"), f"{dev}.startup")):
            if script is not None:
                _commands(result, name, label, script)
        if (folder / f"{dev}.shutdown").exists():
            result.note(name, f"{dev}.shutdown is not carried (netlab's down stops what runs)")
        if (folder / dev).is_dir():
            count = sum(1 for p in (folder / dev).rglob("*") if p.is_file())
            result.note(name, f"folder {dev}/ ({count} file{'s' if count != 1 else ''} for "
                        "the device's root file system) is not carried: a netlab node "
                        "shares the host's files")
        for n in sorted(ifaces):
            domain, mac = ifaces[n]
            if mac:
                body.setdefault("interfaces", {})[f"eth{n}"] = {"mac": mac.lower()}
            cables.append((f"{name}:eth{n}", domain))
    for end, domain in cables:  # the switches after the devices, in order of first use
        result.link(end, _switch(result, domains, domain))
    if names.renamed:
        result.notes.append("renamed (netlab names are lowercase letters, digits and '-'): "
                            + ", ".join(f"{a} -> {b}" for a, b in names.renamed.items()))
    for extra in ("lab.dep", "lab.ext", "shared"):
        if (folder / extra).exists():
            result.notes.append(f"{extra} is not carried")
    return result


def _switch(result: Imported, domains: Names, domain: str) -> str:
    known = domain in domains.given
    name = domains(domain)
    if not known:
        result.nodes[name] = {"kind": "switch"}
        result.note(name, f"collision domain {domain}")
    return name


def _option(result: Imported, name: str, arg: str, value: str) -> None:
    body = result.nodes[name]
    if arg == "sysctl":
        key, eq, setting = value.partition("=")
        if eq and key.strip().startswith("net."):
            body["sysctls"][key.strip()] = _number(setting.strip())
            return
    elif arg == "env":
        key, eq, setting = value.partition("=")
        if eq:
            body.setdefault("env", {})[key.strip()] = setting
            return
    elif arg == "exec":
        result.add_exec(name, value)
        return
    elif arg == "ipv6" and value.lower() in ("true", "1", "yes"):
        body["sysctls"]["net.ipv6.conf.all.forwarding"] = 1
        return
    why = _OPTION_NOTES.get(arg, "not carried")
    result.note(name, f"[{arg}]={value} -- {why}")


def _number(text: str) -> int | str:
    return int(text) if text.lstrip("-").isdigit() else text


def _startup(path: Path) -> str | None:
    try:
        if path.stat().st_size > MAX_SCRIPT:
            return None
        return path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError):
        return None


def _commands(result: Imported, name: str, label: str, script: str) -> None:
    """A startup script as exec: lines, or kept whole when it has multi-line constructs."""
    lines = [line.strip() for line in script.splitlines()]
    lines = [line for line in lines if line and not line.startswith("#")]
    if any(_STRUCTURED.search(line) for line in lines):
        files = result.nodes[name].setdefault("files", {})
        files[label] = script
        result.add_exec(name, f'sh "$NETLAB_NODE_DIR/{label}"')
        result.note(name, f"{label} is kept whole (it has multi-line constructs) and run by "
                    "one command")
        return
    for line in lines:
        result.add_exec(name, line)
