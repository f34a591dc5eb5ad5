"""Student tools built on the same worker client: experiments (train, compare, export), the playground,
encode_corpus and the live progress line.
"""
