"""Shell completion: `netlab completion bash|zsh` prints a script to source; the script
asks `netlab _complete WHAT [LAB]` for what fits where the cursor is (commands, options of a
command, labs that are up, the nodes of a lab). `_complete` answers before the argument
parser is even built: it runs at every Tab."""

from __future__ import annotations

import argparse
import contextlib
import json
import sys
from collections.abc import Callable, Sequence
from typing import Any

from netlab.errors import EXIT_OK, InputError

# Commands whose positional arguments are nodes of a lab that is up.
NODE_COMMANDS = ("exec", "shell", "ping", "logs", "capture", "link", "service")
# Commands whose FILE may also be a lab's name.
LAB_COMMANDS = ("status", "down", "test", "graph")

BASH = r"""# netlab completion for bash: eval "$(netlab completion bash)" (e.g. in ~/.bashrc)
_netlab() {
    local cur prev cmd lab i
    cur="${COMP_WORDS[COMP_CWORD]}"
    prev="${COMP_WORDS[COMP_CWORD-1]}"
    if [ "$COMP_CWORD" -eq 1 ]; then
        COMPREPLY=($(compgen -W "$(netlab _complete commands 2>/dev/null)" -- "$cur"))
        return
    fi
    cmd="${COMP_WORDS[1]}"
    lab=""
    for ((i = 2; i < COMP_CWORD; i++)); do
        case "${COMP_WORDS[i]}" in -l|--lab) lab="${COMP_WORDS[i+1]}" ;; esac
    done
    case "$prev" in
        -l|--lab)
            COMPREPLY=($(compgen -W "$(netlab _complete labs 2>/dev/null)" -- "$cur"))
            return ;;
        --topo)
            COMPREPLY=($(compgen -W "single,3 linear,3 tree,depth=2,fanout=2 ring,4 grid,2,2" \
                -- "$cur"))
            return ;;
        completion)
            COMPREPLY=($(compgen -W "bash zsh" -- "$cur"))
            return ;;
    esac
    if [[ "$cur" == -* ]]; then
        COMPREPLY=($(compgen -W "$(netlab _complete options "$cmd" 2>/dev/null)" -- "$cur"))
        return
    fi
    case " NODE_COMMANDS " in
        *" $cmd "*)
            COMPREPLY=($(compgen -W "$(netlab _complete nodes "$lab" 2>/dev/null)" -- "$cur"))
            return ;;
    esac
    case " LAB_COMMANDS " in
        *" $cmd "*)
            COMPREPLY=($(compgen -W "$(netlab _complete labs 2>/dev/null)" -- "$cur")) ;;
    esac
    COMPREPLY+=($(compgen -f -- "$cur"))
}
complete -o filenames -F _netlab netlab
"""

ZSH = """# netlab completion for zsh: eval "$(netlab completion zsh)" (e.g. in ~/.zshrc)
autoload -U +X compinit && compinit
autoload -U +X bashcompinit && bashcompinit
""" + BASH.split("\n", 1)[1]


def script(shell: str) -> str:
    text = BASH if shell == "bash" else ZSH
    return text.replace("NODE_COMMANDS", " ".join(NODE_COMMANDS)).replace(
        "LAB_COMMANDS", " ".join(LAB_COMMANDS))


def register(sub: Any) -> None:
    p = sub.add_parser("completion", help="print shell completion for bash or zsh",
                       description="Print a completion script: eval \"$(netlab completion "
                       "bash)\" in ~/.bashrc (or zsh in ~/.zshrc) completes commands, "
                       "options, lab names and the node names of a lab that is up.")
    p.add_argument("shell", choices=["bash", "zsh"])
    p.set_defaults(func=cmd_completion)


def cmd_completion(args: argparse.Namespace) -> int:
    sys.stdout.write(script(args.shell))
    return EXIT_OK


def complete(words: Sequence[str], parser: Callable[[], argparse.ArgumentParser]) -> int:
    """`netlab _complete WHAT [ARG]`: one candidate a line, nothing when none (no errors:
    a Tab must never print one). `parser` makes netlab's parser (for commands, options)."""
    what, arg = [*words, "", ""][:2]
    with contextlib.suppress(OSError, ValueError, InputError, KeyError, TypeError):
        sys.stdout.write("".join(f"{w}\n" for w in _candidates(what, arg, parser)))
    return EXIT_OK


def _candidates(what: str, arg: str, parser: Callable[[], argparse.ArgumentParser],
                ) -> list[str]:
    from netlab.state.store import LabState, labs_with_state

    if what == "labs":
        return labs_with_state()
    if what == "nodes":
        labs = labs_with_state()
        lab = arg or (labs[0] if len(labs) == 1 else "")
        if not lab:
            return []
        meta = json.loads((LabState(lab).dir / "lab.json").read_text())
        return list(meta["topology"]["nodes"])
    if what in ("commands", "options"):
        commands = _subcommands(parser())
        if what == "commands":
            return list(commands)
        command = commands.get(arg)
        return [] if command is None else [
            o for a in command._actions for o in a.option_strings if o.startswith("--")]
    return []


def _subcommands(parser: argparse.ArgumentParser) -> dict[str, argparse.ArgumentParser]:
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            return dict(action.choices)
    return {}
