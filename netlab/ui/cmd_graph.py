"""`netlab graph`: draw a lab (from its file, or a lab that is up) as Mermaid, DOT or SVG."""

from __future__ import annotations

import argparse
import shutil
import subprocess
from pathlib import Path

from netlab.errors import EXIT_OK, InputError, NetlabError, Unsupported
from netlab.ui.common import err, overrides, with_lab

FORMATS = ("mermaid", "dot", "svg")
SUFFIXES = {".mmd": "mermaid", ".mermaid": "mermaid", ".md": "mermaid", ".dot": "dot",
            ".gv": "dot", ".svg": "svg"}


def register(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    p = sub.add_parser(
        "graph", help="draw a lab: Mermaid, Graphviz DOT or SVG",
        description="Draw a lab's nodes, cables, interfaces and addresses. Needs no root; "
        "svg needs Graphviz's 'dot'.",
    )
    with_lab(p)
    p.add_argument(
        "-f", "--format", choices=FORMATS,
        help="output format (default: from the -o file's suffix, else mermaid)",
    )
    p.add_argument("-o", "--output", metavar="OUT", help="write to this file instead of stdout")
    p.set_defaults(func=cmd_graph)


def cmd_graph(args: argparse.Namespace) -> int:
    from netlab.api import resolve_lab
    from netlab.lab import graph

    fmt = args.format or _format_of(args.output)
    lab = resolve_lab(args.lab, args.file, overrides(args.set))
    drawing = graph.build(lab.topology, lab.plan)
    text = graph.mermaid(drawing) if fmt == "mermaid" else graph.dot(drawing)
    if fmt == "mermaid" and _suffix(args.output) == ".md":
        text = f"```mermaid\n{text}```\n"  # how GitHub and GitLab render it in Markdown
    data = text.encode()
    if fmt == "svg":
        data = render_svg(data)
    if args.output:
        try:
            Path(args.output).write_bytes(data)
        except OSError as error:
            raise InputError(f"cannot write {args.output}: {error.strerror}") from None
        err.print(f"graph of lab [bold]{lab.name}[/] written to {args.output} ({fmt})")
    else:
        import sys

        sys.stdout.buffer.write(data)
        sys.stdout.flush()
    return EXIT_OK


def _suffix(output: str | None) -> str:
    return Path(output).suffix.lower() if output else ""


def _format_of(output: str | None) -> str:
    """The format an -o file's name asks for; stdout is Mermaid. A name that asks for
    none netlab writes (x.png) is refused: its content would not be what it says."""
    if output is None:
        return "mermaid"
    suffix = _suffix(output)
    fmt = SUFFIXES.get(suffix)
    if fmt is None:
        raise InputError(
            f"-o {output}: "
            + (f"netlab graph does not write {suffix} files" if suffix
               else "the name has no suffix to tell the format"),
            hint="name it .mmd or .md (Mermaid), .dot or .gv (Graphviz DOT) or .svg "
            "(needs Graphviz), or give the format with -f",
        )
    return fmt


def render_svg(dot_text: bytes) -> bytes:
    """DOT text to SVG by Graphviz's `dot`, which must be installed."""
    program = shutil.which("dot")
    missing = Unsupported(
        "--format svg needs Graphviz's 'dot' program, which is not installed",
        hint="apt-get install graphviz (or use --format dot or mermaid, which need nothing)",
    )
    if program is None:
        raise missing
    try:
        done = subprocess.run(
            [program, "-Tsvg"], input=dot_text, capture_output=True, timeout=120, check=False
        )
    except FileNotFoundError:
        raise missing from None
    except subprocess.TimeoutExpired:
        raise NetlabError("Graphviz's 'dot' did not finish within 120 s") from None
    if done.returncode != 0:
        why = done.stderr.decode(errors="replace").strip().splitlines()
        raise NetlabError(
            f"Graphviz's 'dot' failed (exit {done.returncode})"
            + (f": {why[0]}" if why else ""),
            hint="'netlab graph --format dot' shows the input it was given",
        )
    return done.stdout
