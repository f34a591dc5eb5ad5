"""The suite discriminates: every catalogued bug fails the graded tests it names ."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor

import pytest

from staff.mutants.catalog import BELOW_STANDARD, MIN_GRADED_KILLS, MUTANTS
from staff.mutants.run import grade, mutated_sources


def test_catalog_is_large_and_unique():
    names = [m.name for m in MUTANTS]
    assert len(names) >= 25 and len(set(names)) == len(names)
    assert all(m.caught_by and m.bug for m in MUTANTS)


def test_every_mutant_declares_enough_graded_tests():
    """Each bug class is caught by at least two public graded tests (the matrix checks they really fail), unless
    catalog.BELOW_STANDARD lists it with why."""
    short = [
        m.name
        for m in MUTANTS
        if len({t for t in m.caught_by if t.startswith("tests/")}) < MIN_GRADED_KILLS and m.name not in BELOW_STANDARD
    ]
    assert not short, f"declare at least {MIN_GRADED_KILLS} graded tests (tests/...) for: {short}"
    assert set(BELOW_STANDARD) <= {m.name for m in MUTANTS} and all(BELOW_STANDARD.values())


def test_every_mutant_edit_still_applies():
    """A reference refactor that moves a mutant's snippet must update the catalog, not silently drop the bug."""
    for mutant in MUTANTS:
        if not mutant.module:
            mutated_sources(mutant)


@pytest.mark.slow
@pytest.mark.own_step("python -m staff.mutants matrix")
def test_every_mutant_is_killed_by_its_declared_tests():
    with ThreadPoolExecutor(2) as pool:
        graded = list(pool.map(lambda m: (m, grade(m, list(m.caught_by))), MUTANTS))
    survivors = [f"{m.name}: {g.missed(m.caught_by)}\n{g.output[-1500:]}" for m, g in graded if g.missed(m.caught_by)]
    assert not survivors, f"{len(survivors)} mutant(s) survived:\n" + "\n".join(survivors)
