"""Hostile: every call spins forever (pure CPU)."""


def run_train_bpe(input_path, vocab_size, special_tokens, **kwargs):
    while True:
        pass


def get_tokenizer(vocab, merges, special_tokens=None, pattern=None):
    while True:
        pass
