"""Benchmark of the reference solution against HF tokenizers (training) and tiktoken (encoding): see __main__."""
