"""`netlab status` reads a lab from its record's skeleton (lab/status_skeleton.py), not
from the model: the document must be the model's, byte for byte but the traffic counters
(they move between two reads), drift included; a record without a skeleton (an older
netlab's) still gets its status, the model's way."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

from netlab.api import Lab
from netlab.state.store import LabState

from .hostcheck import netlab

# Of what the skeleton carries: a switch, shaping, an MTU, a macvlan's settings, a
# service, limits, routes.
TOPOLOGY = """\
name: {name}
nodes:
  sw: {{kind: switch}}
  a:
    limits: {{pids: 40}}
    services:
      idle: "sleep 300"
    interfaces:
      eth0: {{addresses: [10.0.0.1/24], mtu: 1400}}
      mv0: {{macvlan: {{parent: eth0, mode: bridge}}, addresses: [10.0.1.11/24]}}
  b:
    interfaces: {{eth0: {{addresses: [10.0.0.2/24]}}}}
    routes:
      - {{to: 10.9.0.0/16, via: 10.0.0.1}}
links:
  - endpoints: [a:eth0, sw]
    rate: 10mbit
  - [b:eth0, sw]
"""


COUNTERS = ("rx_bytes", "tx_bytes", "rx_packets", "tx_packets")  # they move between reads


def _steady(text: str) -> str:
    """A status document as printed, less the traffic counters."""
    doc = json.loads(text)
    for node in doc["nodes"]:
        for interface in node["interfaces"]:
            for key in COUNTERS:
                interface[key] = 0
    return json.dumps(doc, separators=(",", ":"))


def _model_doc(lab: str) -> str:
    # As `status --json` prints it to a pipe (ui/common.print_json).
    return _steady(json.dumps(Lab.attach(lab).status(), separators=(",", ":")))


def test_status_from_the_record_is_the_models(fresh_lab: str,
                                               tmp_path: Path) -> None:
    path = tmp_path / "lab.yaml"
    path.write_text(TOPOLOGY.format(name=fresh_lab))
    netlab("up", str(path))
    assert LabState(fresh_lab).read_meta()["status"]["version"] == 1
    # Drift to read back: a wrong MTU, an address gone, shaping gone, an interface added.
    ns = Lab.attach(fresh_lab).namespace("a")
    for cmd in (["link", "set", "eth0", "mtu", "1300"], ["addr", "del", "10.0.1.11/24",
                "dev", "mv0"], ["tuntap", "add", "dev", "extra0", "mode", "tun"]):
        subprocess.run(["ip", "-n", ns, *cmd], check=True)
    subprocess.run(["tc", "-n", ns, "qdisc", "del", "dev", "eth0", "root"], check=True)
    shown = netlab("status", "-l", fresh_lab, "--json").stdout.strip()
    doc = json.loads(shown)
    assert any("mtu 1300" in d for d in doc["drift"]), doc["drift"]
    assert any("extra0" in d for d in doc["drift"]), doc["drift"]
    assert any("shaped" in d for d in doc["drift"]), doc["drift"]
    assert json.loads(_steady(shown)) == json.loads(_model_doc(fresh_lab))
    assert _steady(shown) == _model_doc(fresh_lab)
    assert "extra0" in netlab("status", "-l", fresh_lab).stdout
    # A record without a skeleton: the model's way, the same document.
    meta = LabState(fresh_lab).read_meta()
    del meta["status"]
    LabState(fresh_lab).write_meta(meta)
    again = netlab("status", "-l", fresh_lab, "--json").stdout.strip()
    assert _steady(again) == _steady(shown)
    netlab("down", "-l", fresh_lab)
