"""An encode_iterable that buffers about 16K characters, then encodes the whole buffer: it cuts wherever the chunk
happened to end, even inside a word ("we'l" + "l"). On inputs shorter than its buffer it is always right, so only a
split-point test on a long text catches it, with a message about cuts (not memory)."""

from __future__ import annotations

from staff.reference.adapters import run_train_bpe  # noqa: F401 - the adapter contract's first function
from staff.reference.tokenizer import Tokenizer

BUFFER = 16_384


class BufferedCut(Tokenizer):
    def encode_iterable(self, iterable):
        buffer = ""
        for chunk in iterable:
            buffer += chunk
            if len(buffer) >= BUFFER:
                yield from self.encode(buffer)
                buffer = ""
        if buffer:
            yield from self.encode(buffer)


def get_tokenizer(vocab, merges, special_tokens=None, pattern=None):
    return BufferedCut(vocab, merges, special_tokens, pattern=pattern)
