"""The reference solution: the answer key the graded suite, snapshots and speed limits are built from."""
