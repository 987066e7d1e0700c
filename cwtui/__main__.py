"""`python -m cwtui` and the `cwtui` console script."""

import sys

from cwtui.cli import main

if __name__ == "__main__":
    sys.exit(main())
