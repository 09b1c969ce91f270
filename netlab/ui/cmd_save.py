"""`netlab save [-l LAB] DIR`: hand in a running lab's node files; `netlab up
DIR/topology.yaml` brings the lab back with them."""

from __future__ import annotations

import argparse
import os

from netlab.errors import EXIT_OK
from netlab.ui.common import err, escape, json_doc, out, print_json, with_lab
from netlab.values.words import count


def cmd_save(args: argparse.Namespace) -> int:
    from netlab.lab.save import save
    from netlab.spec.restore import SAVED_TOPOLOGY

    saved = save(args.lab, args.dir, args.force)  # as Lab.save, from the lab's record
    topology = os.path.join(saved.folder, SAVED_TOPOLOGY)
    if args.json:
        print_json(json_doc("save", {"lab": saved.lab, "dir": saved.folder,
                                     "topology": topology, "files": saved.files,
                                     "bytes": saved.bytes, "notes": saved.notes}))
        return EXIT_OK
    for note in saved.notes:
        err.print(f"warning: {escape(note)}")
    files = sum(saved.files.values())
    out.print(f"lab [bold]{saved.lab}[/] saved into {escape(saved.folder)}: "
              f"{count(range(files), 'file')} of {count(saved.files, 'node')} "
              f"({saved.bytes} bytes); 'netlab up {escape(topology)}' brings it back")
    return EXIT_OK


def register(sub: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    p = sub.add_parser(
        "save", help="save a running lab's node files, to hand in and restore",
        description="Save each node's private folders and the files of its folder into "
        "DIR/<node>/ (FRR's running config written first), and the lab's topology with "
        "those files into DIR/topology.yaml: 'netlab up DIR/topology.yaml' brings the lab "
        "back as saved. Symbolic links, FIFOs, devices and files with hard links are left "
        "out (with a warning); DIR is root's, its files 0600.")
    with_lab(p, file=False)
    p.add_argument("dir", metavar="DIR", help="a new (or empty) folder to save into")
    p.add_argument("--force", action="store_true",
                   help="save into DIR even when it is not empty (its files of the same "
                   "names are replaced)")
    p.add_argument("--json", action="store_true", help="what was saved, as JSON")
    p.set_defaults(func=cmd_save)
