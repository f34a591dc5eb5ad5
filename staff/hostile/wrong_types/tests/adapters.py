"""Broken: returns the wrong types (str ids, a list vocab, None)."""


def run_train_bpe(input_path, vocab_size, special_tokens, **kwargs):
    return [b"a"], None


def get_tokenizer(vocab, merges, special_tokens=None, pattern=None):
    class Tok:
        def encode(self, text):
            return text

        def decode(self, ids):
            return 42

        def encode_iterable(self, chunks):
            return None

    return Tok()
