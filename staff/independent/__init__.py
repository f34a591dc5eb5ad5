"""Correct BPE solutions written independently of staff/reference (and of each other), each in its own style.

They exist so the similarity pass (staff/grading/similarity.py) can be shown not to flag two solutions of the same
assignment that were written apart: same rules, same regex, different code. Each package holds the two files a student
writes (`train_bpe.py`, `tokenizer.py`) and an `adapters.py` so the graded suite can run it:
`uv run pytest --impl staff.independent.wordlist.adapters tests/test_train_bpe.py`.
"""
