"""Degenerate: answers of the right shape and size, whatever the input. Training returns exactly vocab_size entries
(the specials, the 256 bytes, then filler tokens) and the right number of merges, all the same pair; encode returns
one id 0 per character; decode returns one "?" per id. Passes any check of sizes or counts alone. Must score 0."""


def run_train_bpe(input_path, vocab_size, special_tokens, **kwargs):
    specials = [s.encode("utf-8") for s in special_tokens]
    tokens = [*specials, *(bytes([b]) for b in range(256))]
    n_merges = max(0, vocab_size - len(tokens))
    tokens += [b"\x00" * (k + 2) for k in range(n_merges)]
    return dict(enumerate(tokens)), [(b"\x00", b"\x00")] * n_merges


class Tokenizer:
    def __init__(self, vocab, merges, special_tokens=None, pattern=None):
        pass

    def encode(self, text):
        return [0] * len(text)

    def encode_iterable(self, iterable):
        for chunk in iterable:
            yield from [0] * len(chunk)

    def decode(self, ids):
        return "?" * len(ids)


def get_tokenizer(vocab, merges, special_tokens=None, pattern=None):
    return Tokenizer(vocab, merges, special_tokens, pattern)
