"""``python -m neutrino.controller`` and the ``neutrino-controller`` console script."""

import sys

from neutrino.controller.cli import main

__all__ = ["main"]

if __name__ == "__main__":
    sys.exit(main())
