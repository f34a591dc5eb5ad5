"""The staff's side of the kit, registered where the shipped code asks for it (bpe_harness/extensions.py): the
reference as `--impl reference`, this folder kept from every worker, the hidden tests shown after the due date.

pyproject.toml lists this module (`[tool.bpe_harness] extensions`); the handout's pyproject.toml does not
(staff/handout.py). Names come from this file's own place, so renaming the folder needs no edit here.
"""

from __future__ import annotations

from pathlib import Path

from bpe_harness import extensions

HERE = Path(__file__).resolve().parent
PACKAGE = HERE.name

extensions.register_implementation(
    "reference", f"{PACKAGE}.reference.adapters", root=HERE.parent, sources=HERE / "reference"
)
extensions.register_secret_paths(PACKAGE)
extensions.register_late_tests(f"{PACKAGE}/hidden/")
