"""Loads the shared harness plugin (--impl, the `impl` fixture, snapshots) for every test folder.

`pytest .` from the root collects the graded suite and the staff tests; submissions kept as staff test data (they
contain their own tests/ and conftest.py on purpose) are never collected.
"""

pytest_plugins = ["bpe_harness.plugin.hooks"]
collect_ignore_glob = ["staff/hostile/*", "handout/*", ".cache/*"]
