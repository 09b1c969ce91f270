"""`netlab import FILE|DIR [-o OUT]`: a containerlab topology (.clab.yml) or a Kathará lab
(a folder with lab.conf) made into a netlab topology, with a comment for what could not be
carried. The result is checked as `validate` would; it is written even when it has
problems (they are reported, exit 2), so that a person can mend it."""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any

from netlab.errors import EXIT_OK, InputError
from netlab.ui.common import err, escape, out
from netlab.values.words import count


def register(sub: Any) -> None:
    p = sub.add_parser(
        "import", help="make a netlab topology of a containerlab or Kathará lab",
        description="Convert a containerlab topology (.clab.yml/.clab.yaml) or a Kathará "
        "lab (a folder with lab.conf, or its lab.conf) into a netlab topology. What has "
        "no equivalent is named in YAML comments.",
    )
    p.add_argument("source", metavar="FILE|DIR", help="the .clab.yml, or the Kathará folder")
    p.add_argument("-o", "--output", metavar="OUT",
                   help="write the topology here (default: print it); an existing file "
                   "is refused unless --force")
    p.add_argument("-f", "--force", action="store_true",
                   help="with -o: replace OUT if it exists")
    p.set_defaults(func=cmd_import)


def convert(source: str) -> tuple[str, str]:
    """The netlab topology text made of `source`, and the tool it came from."""
    from netlab.spec import foreign, from_clab, from_kathara
    from netlab.spec.source import read_source

    path = Path(source)
    if path.is_dir():
        return from_kathara.convert(path, source).yaml(), "Kathará"
    text = read_source(path, source)
    tool = foreign.detect(text)
    if tool == "Kathará":
        return from_kathara.convert(path.parent, source, path).yaml(), tool
    if tool != "containerlab":
        raise InputError(f"{source} is neither a containerlab topology (no 'topology:') "
                         "nor a Kathará lab (a folder with lab.conf)")
    return from_clab.convert(text, source, path.parent).yaml(), tool


def cmd_import(args: argparse.Namespace) -> int:
    from netlab.spec import load_text

    text, tool = convert(args.source)
    shown = args.output or f"{args.source} (imported)"
    if args.output:
        try:
            # "x": a file already there (a topology mended by hand, checks added) is kept.
            with open(args.output, "w" if args.force else "x", encoding="utf-8") as file:
                file.write(text)
        except FileExistsError:
            raise InputError(f"{args.output} exists; not overwriting it",
                             hint=f"'netlab import {args.source} -o {args.output} --force' "
                             "replaces it (or -o another file)") from None
        except OSError as e:
            raise InputError(f"cannot write {args.output}: {e.strerror or e}") from None
    else:
        out.file.write(text)
    loaded = load_text(text, shown)  # problems: reported as validate's, exit 2
    topo = loaded.topology
    notes = sum(1 for line in text.splitlines() if line.lstrip().startswith("#")) - 1
    if args.output:
        err.print(f"wrote {escape(args.output)}: lab '{topo.name}' from {tool}, "
                  f"{count(topo.nodes, 'node')}, {count(topo.links, 'link')}; {notes} comment "
                  "lines say "
                  "what was not carried or changed")
    return EXIT_OK
