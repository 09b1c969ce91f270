import sys

try:
    from netlab.ui.cli import main
except KeyboardInterrupt:  # Ctrl-C while Python is still loading netlab: nothing was done
    sys.exit(130)

sys.exit(main())
