"""An import-linter contract type: the source packages may import, even indirectly, only the allowed modules of
the project and the standard library (`lint-imports`, configured in pyproject.toml).

Why: the worker runs inside the student's process, so every module it pulls in stands between the student's code and
the interpreter and may be one the student's code must not see. import-linter's own `forbidden` contract can only name
what is forbidden, so a new third-party dependency would slip through; this contract names what is allowed.
"""

import itertools
import sys

from grimp import ImportGraph
from importlinter import Contract, ContractCheck, fields, output
from importlinter.application import contract_utils


def _is_standard_library(module: str) -> bool:
    return module.split(".")[0] in sys.stdlib_module_names


def _is_in(module: str, packages: set[str]) -> bool:
    return any(module == package or module.startswith(package + ".") for package in packages)


class StandardLibraryOnlyContract(Contract):
    """Options: `source_modules` (packages checked, with their descendants), `allowed_modules` (project modules they
    may import, with their descendants; what those import is checked too). Needs `include_external_packages = true`
    at the top level, else third-party imports are not in the graph and could not be reported."""

    type_name = "stdlib_only"

    source_modules = fields.SetField(subfield=fields.ModuleField())
    allowed_modules = fields.SetField(subfield=fields.ModuleField())
    broken_contract_guidance = fields.TextField(required=False)

    def check(self, graph: ImportGraph, verbose: bool) -> ContractCheck:
        if not self.session_options.get("include_external_packages"):
            raise ValueError("stdlib_only needs include_external_packages = true in [tool.importlinter]")
        sources = {module.name for module in self.source_modules}  # type: ignore[attr-defined]
        allowed = sources | {module.name for module in self.allowed_modules}  # type: ignore[attr-defined]
        violations = []
        for source in sorted(sources):
            for imported in sorted(graph.find_upstream_modules(source, as_package=True)):
                if _is_in(imported, allowed) or _is_standard_library(imported):
                    continue
                chain = graph.find_shortest_chain(importer=source, imported=imported, as_packages=True) or ()
                links = [
                    (
                        importer,
                        target,
                        [d["line_number"] for d in graph.get_import_details(importer=importer, imported=target)],
                    )
                    for importer, target in itertools.pairwise(chain)
                ]
                violations.append({"source": source, "imported": imported, "links": links})
        return ContractCheck(kept=not violations, warnings=[], metadata={"violations": violations})

    def render_broken_contract(self, check: ContractCheck) -> None:
        for violation in check.metadata["violations"]:
            output.print_error(
                f"{violation['source']} may import only the standard library and "
                f"{', '.join(sorted(m.name for m in self.allowed_modules))}, "  # type: ignore[attr-defined]
                f"but it reaches {violation['imported']}:"
            )
            for importer, target, lines in violation["links"]:
                output.print_error(f"-   {importer} -> {target} (l.{', '.join(map(str, lines))})", bold=False)
            output.new_line()
        contract_utils.render_broken_contract_guidance(self.broken_contract_guidance)  # type: ignore[attr-defined]
