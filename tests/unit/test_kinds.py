"""Every interface kind has its entry in every layer's kind table
(docs/architecture.md "Where a new interface kind's entries go")."""

from __future__ import annotations

from pathlib import Path
from typing import get_args

import pytest

from netlab.kernel.netlink import ENCODERS, NETLINK_OPS, ONE_BY_ONE
from netlab.kernel.reasons import KERNEL_OPTION, kind_made_by
from netlab.lab.status_doc import READ_BACK
from netlab.plan.kind_ops import CREATE_OPS, PLANNED
from netlab.plan.ops import CreateVeth, Op
from netlab.spec.kinds import KINDS
from netlab.spec.model import Bond, Interface, InterfaceKind, Macvlan, Vlan, Vxlan

KINDS_OF_MODEL = get_args(InterfaceKind)

# table -> the kinds it has an entry for
TABLES: dict[str, set[str]] = {
    "spec/kinds.py KINDS": set(KINDS),
    "plan/kind_ops.py PLANNED": set(PLANNED),
    "kernel/reasons.py KERNEL_OPTION": set(KERNEL_OPTION),
    "lab/status_doc.py READ_BACK": set(READ_BACK),
}


@pytest.mark.parametrize("table", sorted(TABLES))
def test_every_kind_has_an_entry_in_every_table(table: str) -> None:
    missing = sorted(set(KINDS_OF_MODEL) - TABLES[table])
    extra = sorted(TABLES[table] - set(KINDS_OF_MODEL))
    assert not missing, f"{table} has no entry for the kinds {missing} (spec/model.InterfaceKind)"
    assert not extra, f"{table} has entries for {extra}, which spec/model.InterfaceKind lacks"


def test_every_op_that_makes_a_kind_has_an_encoder() -> None:
    missing = sorted(op.kind for op in CREATE_OPS if op not in ENCODERS and op not in ONE_BY_ONE)
    assert not missing, (f"kernel/netlink.py ENCODERS (or ONE_BY_ONE) has no encoder for "
                         f"the ops {missing} (plan/kind_ops.py PLANNED)")
    assert set(ENCODERS) <= set(NETLINK_OPS)


def test_each_kind_plans_its_op_and_a_refusal_names_the_kind() -> None:
    for kind, planned in PLANNED.items():
        if planned.make is None:  # made by its link
            made: list[Op] = [CreateVeth("netlab-x-h1", "eth0", "netlab-x-h2", "eth0")]
        else:
            settings = {"vxlan": Vxlan(id=42, remote="192.0.2.2"),
                        "macvlan": Macvlan(parent="eth0"), "vlan": Vlan(parent="eth0", id=10),
                        "bond": Bond(ports=["eth1"])}
            spec = Interface(kind=kind, **({kind: settings[kind]} if kind in settings else {}))
            made = planned.make("netlab-x-h1", "x0", kind, spec, "netlab:x")
        assert [type(op) for op in made] == [planned.op], kind
        assert kind_made_by(made[0]) == kind


def test_a_kind_read_back_is_told_from_the_others() -> None:
    values = list(READ_BACK.values())
    assert len(values) == len(set(values)), "two kinds read back alike: drift cannot tell them"


def test_the_reference_names_every_kind() -> None:
    reference = (Path(__file__).resolve().parents[2] / "docs" / "topology-reference.md")
    row = next(line for line in reference.read_text().splitlines()
               if line.startswith("| `kind` |") and "`veth`" in line)
    described = row.split("|")[-2]  # the description, not the generated "one of ..."
    missing = [kind for kind in KINDS_OF_MODEL if f"`{kind}`" not in described]
    assert not missing, (f"docs/topology-reference.md (Interface.kind, from NOTES in "
                         f"scripts/gen_topology_docs.py) does not name the kinds {missing}")


def test_a_kind_said_by_its_settings_survives_the_labs_record() -> None:
    """A lab's record holds the model's JSON, where every kind's key is there (null but
    one): the kind read back from it is the one the file's settings said."""
    from netlab.spec.kinds import infer
    from netlab.spec.model import Interface

    said = Interface.model_validate({"macvlan": {"parent": "eth0", "mode": "bridge"}})
    recorded = Interface.model_validate(said.model_dump(mode="json"))
    assert infer("host", "mv0", said) == infer("host", "mv0", recorded) == "macvlan"


def test_the_status_skeleton_carries_the_settings_of_every_kind_status_says() -> None:
    from netlab.lab.status_doc import _SETTINGS_WORDS
    from netlab.lab.status_skeleton import SETTINGS_KINDS

    assert set(SETTINGS_KINDS) == set(_SETTINGS_WORDS)
