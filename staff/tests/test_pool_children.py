"""Processes a submission starts get the worker's environment, whatever the start method.

A CS336-layout solution (upstream's `cs336_basics/__init__.py` reads the package's own metadata at import) whose
trainer counts pre-tokens in a pool started by fork, forkserver or spawn grades as it runs in its own project. The
forkserver and spawn children are fresh interpreters: without the worker's start-up hook
(bpe_harness/worker/child_environment.py) each died with PackageNotFoundError and every training call timed out.
The import policy reaches them too: a pool child that imports the harness is refused, as the worker would be.

Tested on the Python the kit's environment runs (.python-version); 3.14, where forkserver is Linux's default, could
not be installed on the machine these tests were written on. Cost: about 4 s for the Client tests, 20 s for the
graded one.
"""

from __future__ import annotations

import multiprocessing
from pathlib import Path

import pytest

from bpe_harness.client import Client
from bpe_harness.judge.grade import grade
from staff.grading.staff_judge import staff_options
from staff.tests.test_cs336_layout import cs336_layout_solution
from tests.common import FIXTURES

METHODS = ["fork", "forkserver", "spawn"]
CORPUS = FIXTURES / "corpora" / "tinystories_sample.txt"
POOL_PROBE = '''

def _import_harness(_):
    try:
        import bpe_harness.data.corpus  # noqa: F401
    except ImportError as e:
        return str(e)
    return "imported"


def probe_pool_child():
    """What a pool child sees when it imports the harness (the policy refuses it, as in the worker)."""
    from concurrent.futures import ProcessPoolExecutor

    with ProcessPoolExecutor(1, mp_context=multiprocessing.get_context(START_METHOD)) as pool:
        return next(pool.map(_import_harness, [0]))
'''


def pooled_solution(into: Path, method: str) -> Path:
    """The CS336-layout solution with its pre-token counting always in a two-process pool started by `method`."""
    project = cs336_layout_solution(into)
    train = project / "cs336_basics" / "training" / "train.py"
    source = train.read_text()
    for old, new in (
        ("import os\n", f"import multiprocessing\nimport os\n\nSTART_METHOD = {method!r}\n"),
        ("PARALLEL_MIN_BYTES = 8 << 20", "PARALLEL_MIN_BYTES = 0"),
        ("workers = num_workers or os.cpu_count() or 1", "workers = 2"),
        ("ProcessPoolExecutor(workers)", "ProcessPoolExecutor(workers, mp_context=CONTEXT)"),
        ("\nPARALLEL_MIN_BYTES", "\nCONTEXT = multiprocessing.get_context(START_METHOD)\nPARALLEL_MIN_BYTES"),
    ):
        assert old in source, old
        source = source.replace(old, new)
    train.write_text(source + POOL_PROBE)
    return project


@pytest.mark.parametrize("method", METHODS)
def test_pool_children_read_package_metadata(tmp_path, method):
    if method not in multiprocessing.get_all_start_methods():
        pytest.skip(f"{method} is not available here")
    project = pooled_solution(tmp_path / "theirs", method)
    with Client(str(project / "tests" / "adapters.py")) as impl:
        vocab, merges = impl.train(str(CORPUS), 300, ["<|endoftext|>"])
    assert len(vocab) == 300 and len(merges) == 300 - 257


@pytest.mark.parametrize("method", ["forkserver", "spawn"])
def test_pool_children_get_the_import_policy(tmp_path, method):
    project = pooled_solution(tmp_path / "theirs", method)
    adapters = project / "tests" / "adapters.py"
    adapters.write_text(
        adapters.read_text() + "\n\ndef run_train_bpe(input_path, vocab_size, special_tokens, **kwargs):\n"
        "    from cs336_basics.training.train import probe_pool_child\n\n"
        "    raise RuntimeError(probe_pool_child())\n"
    )
    with Client(str(adapters)) as impl, pytest.raises(RuntimeError) as caught:
        impl.train(str(CORPUS), 300, ["<|endoftext|>"])
    assert "is the grader's, not part of your submission" in str(caught.value)


@pytest.mark.slow
@pytest.mark.parametrize("method", ["forkserver", "spawn"])
def test_pooled_cs336_layout_grades_as_it_runs(tmp_path, method):
    project = pooled_solution(tmp_path / "theirs", method)
    options = staff_options(tests=["tests/test_train_bpe.py"], keyword="multilingual or ties_bytes", seed=18)
    results, code = grade(project, tmp_path / "results.json", options)
    lost = [f"{t['name']}: {t.get('reason', '')[:300]}" for t in results["tests"] if t["score"] < t["max_score"]]
    assert code == 0 and not lost, "\n".join(lost) or results["output"]
    assert results["score"] == results["extra_data"]["max_score"] > 0
