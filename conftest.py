"""Loads the shared harness plugin (--impl, the `impl` fixture, snapshots) for every test folder."""

pytest_plugins = ["bpe_harness.plugin"]
