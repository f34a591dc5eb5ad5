"""Shared harness: loads implementations, runs them, generates corpora, offline tiktoken encodings, snapshots."""
