"""Your code for the tokenization unit. Start with train_bpe.py, then tokenizer.py; see README.md."""
