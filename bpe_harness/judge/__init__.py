"""Grade a submission the way Gradescope does: stage it, run the graded suite in the sandbox, turn verdicts into
results.json, the console table and the GitHub report. Staff extend it through `judge.hooks` (never by name).
"""
