"""Hostile: returns objects that claim to equal anything."""


class Anything(list):
    def __eq__(self, other):
        return True

    def __ne__(self, other):
        return False

    __hash__ = None


class AnyDict(dict):
    def __eq__(self, other):
        return True


def run_train_bpe(input_path, vocab_size, special_tokens, **kwargs):
    return AnyDict(), Anything()


def get_tokenizer(vocab, merges, special_tokens=None, pattern=None):
    class Tok:
        def encode(self, text):
            return Anything()

        def decode(self, ids):
            return Anything()

        def encode_iterable(self, chunks):
            return Anything()

    return Tok()
