"""Data the kit generates or reads: the synthetic corpus generator and its word lists, real tiktoken encodings
(offline, verified) and the on-disk format of a trained tokenizer.
"""
