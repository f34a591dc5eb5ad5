"""The worker's import contract (staff/import_contracts.py) on small graphs built in memory: it breaks on a
third-party import, on one reached through an allowed module and on another project module, and holds for the
standard library and the allowed modules. (The real graph is checked by `lint-imports` in CI.) Milliseconds."""

from grimp import ImportGraph

from staff.import_contracts import StandardLibraryOnlyContract


def _graph(*imports: tuple[str, str]) -> ImportGraph:
    graph = ImportGraph()
    for name in ("kit", "kit.worker", "kit.worker.server", "kit.worker.loading", "kit.protocol", "kit.client"):
        graph.add_module(name)
    for importer, imported in imports:
        if imported.partition(".")[0] != "kit":
            graph.add_module(imported, is_squashed=True)
        graph.add_import(importer=importer, imported=imported, line_number=1, line_contents=f"import {imported}")
    return graph


def _check(*imports: tuple[str, str]):
    contract = StandardLibraryOnlyContract(
        name="worker",
        session_options={"root_packages": ["kit"], "include_external_packages": True},
        contract_options={"source_modules": ["kit.worker"], "allowed_modules": ["kit.protocol"]},
    )
    return contract.check(_graph(*imports), verbose=False)


HONEST = (
    ("kit.worker.server", "kit.worker.loading"),
    ("kit.worker.server", "kit.protocol"),
    ("kit.worker.loading", "importlib"),
    ("kit.protocol", "json"),
)


def test_the_standard_library_and_the_allowed_modules_keep_it():
    assert _check(*HONEST).kept


def test_a_third_party_import_breaks_it():
    check = _check(*HONEST, ("kit.worker.loading", "numpy"))
    assert not check.kept
    assert [v["imported"] for v in check.metadata["violations"]] == ["numpy"]


def test_a_third_party_import_reached_through_an_allowed_module_breaks_it():
    check = _check(*HONEST, ("kit.protocol", "psutil"))
    assert not check.kept
    (violation,) = check.metadata["violations"]
    assert [(importer, imported) for importer, imported, _ in violation["links"]] == [
        ("kit.worker.server", "kit.protocol"),
        ("kit.protocol", "psutil"),
    ]


def test_another_project_module_breaks_it():
    check = _check(*HONEST, ("kit.worker.server", "kit.client"))
    assert not check.kept
    assert [v["imported"] for v in check.metadata["violations"]] == ["kit.client"]
