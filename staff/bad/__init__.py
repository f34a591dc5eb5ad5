"""Deliberately bad implementations (staff only): each must fail its limit test in tests/test_limits.py.

Load one with `uv run pytest tests/test_limits.py --impl staff.bad.naive_trainer`. The staff test
staff/tests/test_limits_armed.py and `python -m staff.stability` show that each fails, every time, while the reference
passes. Everything a variant does not get wrong is delegated to the reference.
"""
