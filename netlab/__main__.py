import sys

from netlab.ui.cli import main

sys.exit(main())
