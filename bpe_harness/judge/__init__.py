"""Grade a submission the way Gradescope does: stage it (staging.py), run the graded suite in the sandbox (run.py,
with the verdict plugin verdicts.py), turn verdicts into results.json (results.py), the console table (console.py) and
the GitHub report (github_report.py); grade.py ties them together. The course extends it through
bpe_harness/extensions.py, never by name.
"""
