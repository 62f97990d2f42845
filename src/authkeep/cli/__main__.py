import sys

from authkeep.cli import main

sys.exit(main())
