"""Deliberately bad implementations (staff only): each must fail its limit test in tests/test_limits.py.

Load one with `uv run pytest tests/test_limits.py --impl staff.bad.naive_trainer`. The staff test
staff/tests/test_limits_armed.py and `python -m staff.stability` show that each fails, every time, while the reference
passes. Everything a variant does not get wrong is delegated to the reference.
"""

# variant -> (the limit test it must fail, words its failure message must contain, the mistake). The one list of
# them: staff/tests/test_limits_armed.py, staff/stability.py and the mutant catalog all read it.
LIMIT_TESTS = {
    "staff.bad.naive_trainer": (
        "test_training_speed",
        ["recounting all pairs", "calibration", "allowed"],
        "recounts every pair over the whole corpus after every merge (the lecture's version)",
    ),
    "staff.bad.pool_naive_trainer": (
        "test_training_speed",
        ["recounting all pairs", "calibration", "allowed"],
        "the same naive trainer, hidden in a forkserver process pool",
    ),
    "staff.bad.naive_encoder": (
        "test_encoding_speed",
        ["every merge for every pre-token", "calibration", "allowed"],
        "loops over every merge for every pre-token, with no rank lookup and no cache",
    ),
    "staff.bad.joining_iterable": (
        "test_encode_iterable_streams_in_bounded_memory",
        ["never join", "budget"],
        "encode_iterable joins its whole input first (as a subclass of a correct tokenizer)",
    ),
    "staff.bad.hoarding_trainer": (
        "test_training_in_bounded_memory",
        ["list of every occurrence", "budget"],
        "keeps every pre-token occurrence in a list before counting them",
    ),
}
