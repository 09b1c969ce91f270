"""`python -m netlab`, and the `netlab` command (run: the console script's entry point)."""

import os
import sys

EXIT_INTERRUPTED = 130  # netlab.errors says so too; not imported: Ctrl-C may come before


def run() -> int:
    try:
        from netlab.ui.cli import main
    except KeyboardInterrupt:  # Ctrl-C while Python is still loading netlab: nothing was done
        # The same one line as a Ctrl-C a moment later (a loaded machine makes this window long).
        sys.stderr.write("error: interrupted\nhint: nothing was done\n")
        return EXIT_INTERRUPTED
    code = main()
    if code == EXIT_INTERRUPTED:
        # A Ctrl-C that netlab caught and answered can still make CPython end the process
        # by SIGINT at exit (seen when it struck inside an import): leave with 130 as said.
        sys.stdout.flush()
        sys.stderr.flush()
        os._exit(code)
    return code


if __name__ == "__main__":
    sys.exit(run())
