"""Where the worker runs: probe the strongest tier this machine allows (full, root, user), build the worker's
allowlisted view of the filesystem and processes, give it its own uid and limits, and sweep up after it.
"""
