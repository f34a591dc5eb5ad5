"""The pytest side of the graded suite: the --impl option and `impl` fixture, the limits and their teaching messages,
inputs drawn from a secret, and the comparisons whose failures show the first divergence.
"""
