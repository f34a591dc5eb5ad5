"""Degenerate: ignores the vocab. Training returns the 256 bytes as ids 0..255 (no specials, no merges) whatever the
size asked; encode returns the text's UTF-8 bytes as ids; decode turns ids back into bytes. Every round trip of its
own ids is perfect, so a test that only checks decode(encode(text)) == text would pass it. Must score 0."""


def run_train_bpe(input_path, vocab_size, special_tokens, **kwargs):
    return {i: bytes([i]) for i in range(256)}, []


class Tokenizer:
    def __init__(self, vocab, merges, special_tokens=None, pattern=None):
        pass

    def encode(self, text):
        return list(text.encode("utf-8"))

    def encode_iterable(self, iterable):
        for chunk in iterable:
            yield from chunk.encode("utf-8")

    def decode(self, ids):
        return bytes(i % 256 for i in ids).decode("utf-8", errors="replace")


def get_tokenizer(vocab, merges, special_tokens=None, pattern=None):
    return Tokenizer(vocab, merges, special_tokens, pattern)
