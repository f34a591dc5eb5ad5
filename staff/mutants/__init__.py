"""Known-buggy variants of the reference (mutants) that the graded suite must catch. See catalog.py."""
