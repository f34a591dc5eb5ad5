"""The experiments a CS336-style write-up asks for, without each student writing the same glue:
`uv run python -m bpe_harness.tools.experiments train|compare|export ...` (see README, "Experiments").

Student code runs only in the isolated worker (bpe_harness.client.Client); this package measures it from outside.
"""
