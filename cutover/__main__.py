"""`python -m cutover …` runs the command line."""
import sys

from cutover.cli import main

sys.exit(main())
