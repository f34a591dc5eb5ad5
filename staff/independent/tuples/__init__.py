"""An independently written BPE solution (see staff/independent/__init__.py)."""
