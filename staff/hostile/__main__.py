"""`python -m staff.hostile`: grade the hostile cases and print score, time and reason for each."""

import sys

from staff.hostile.run import main

sys.exit(main())
