"""Hostile: every call allocates (and touches) memory until something stops it."""


def _bomb():
    hoard = []
    while True:
        hoard.append(bytearray(64 << 20))  # zero-filled: the pages are really touched


def run_train_bpe(input_path, vocab_size, special_tokens, **kwargs):
    _bomb()


def get_tokenizer(vocab, merges, special_tokens=None, pattern=None):
    _bomb()
