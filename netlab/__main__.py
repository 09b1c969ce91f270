"""`python -m netlab`, and the `netlab` command (run: the console script's entry point)."""

import contextlib
import os
import signal
import sys
from typing import Any

EXIT_INTERRUPTED = 130  # netlab.errors says so too; not imported: Ctrl-C may come before
EXIT_SIGPIPE = 141


class _LoadedWhole:
    """A finder that lets nothing but these modules' loading hold back a Ctrl-C: pydantic
    turns a KeyboardInterrupt raised while it builds a model's validators into errors of
    its own (SchemaError: "internal error"), and pydantic_core's compiled part panics (a
    Rust backtrace). SIGINT waits while they load and is raised once they have."""

    def __init__(self, names: frozenset[str] = frozenset({"pydantic", "netlab.spec.model"})):
        self.names = names

    def find_spec(self, name: str, path: Any, target: Any = None) -> Any:
        if name not in self.names:
            return None
        for finder in sys.meta_path:
            spec = None if finder is self else finder.find_spec(name, path, target)
            if spec is not None and spec.loader is not None:
                spec.loader.exec_module = _whole(spec.loader.exec_module)  # type: ignore[method-assign]
                return spec
        return None


def _whole(exec_module: Any) -> Any:
    def guarded(module: Any) -> None:
        held = signal.pthread_sigmask(signal.SIG_BLOCK, {signal.SIGINT})
        try:
            exec_module(module)
        finally:
            signal.pthread_sigmask(signal.SIG_SETMASK, held)

    return guarded


def run() -> int:
    sys.meta_path.insert(0, _LoadedWhole())
    try:
        from netlab.ui.cli import main
    except KeyboardInterrupt:  # Ctrl-C while Python is still loading netlab: nothing was done
        # The same one line as a Ctrl-C a moment later (a loaded machine makes this window long).
        sys.stderr.write("error: interrupted\nhint: nothing was done\n")
        return EXIT_INTERRUPTED
    code = main()
    # The command is over and has said all it says: leave without CPython's finalization
    # (freeing every module and object, closing a lab's route sockets one by one: ~0.01 s
    # of an `up`; the kernel closes the fds at exit all the same). Every thread netlab
    # starts has been joined by now. And a Ctrl-C that netlab caught and answered can no
    # longer end the process by SIGINT at exit (seen when it struck inside an import).
    try:
        sys.stdout.flush()
    except BrokenPipeError:  # the reader went away: as the command itself says it
        code = EXIT_SIGPIPE
    except OSError as error:  # no room for what is left (`> /dev/full`): said, unless it was
        code = code or _no_room(error)
    with contextlib.suppress(OSError):
        sys.stderr.flush()
    os._exit(code)


def _no_room(error: OSError) -> int:
    """Say a failed last flush of stdout as the command says one (exit 1)."""
    from netlab.ui.cli import report
    from netlab.ui.common import no_room

    said = no_room(error)
    if said is None:  # not a full device: still one line, not a traceback
        sys.stderr.write(f"error: could not write the output: {error.strerror}\n")
        return 1
    report(said)
    return said.exit_code


if __name__ == "__main__":
    sys.exit(run())
