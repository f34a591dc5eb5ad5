"""Staff grading, one command per module; `python -m staff.grade` is their command line.

staff_judge.py      the public judge (bpe_harness.judge.grade) plus the hidden tests and their seed; the reference as a
                    submission
batch.py            --batch: every submission of a folder, gradebook.csv and summary.md, resumable
gradescope_zip.py   --gradescope-zip: setup.sh, run_autograder and the kit, with a hidden seed fixed in it
handout_check.py    --handout-check: the exported handout scores 0 bare and full marks with the reference
self_test.py        --self-test: the reference graded as a submission, with the hidden tests, scores full marks
"""
