"""Runs inside the student's worker process: loads the implementation, checks what it returns, answers calls, and
installs the import policy in it and in every process it starts. Imports only bpe_harness.protocol and the standard
library (checked by import-linter), so nothing of the harness stands between the student's code and the interpreter.
"""
