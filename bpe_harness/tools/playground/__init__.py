"""A local tokenizer playground: type text, see how your tokenizer splits it, next to what it should output.

    uv run python -m bpe_harness.tools.playground [--impl student|reference|PATH] [--vocab V --merges M | --train CORPUS
        --vocab-size N] [--port P]

Interactive tokenizer sites cannot show your own tokenizer and need the internet; this one runs on 127.0.0.1 and
shows, side by side: your implementation, the expected tokens (tiktoken built from the same merges), the staff
reference where it exists, and real encodings (o200k_base, cl100k_base, gpt2 where available). See server.py.
"""
