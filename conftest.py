"""Loads the shared harness plugin (--impl, the `impl` fixture, snapshots) for every test folder.

`pytest .` from the root collects every test folder; an exported handout or the cache below it is never collected.
"""

pytest_plugins = ["bpe_harness.plugin.hooks"]
collect_ignore_glob = ["handout/*", ".cache/*"]
