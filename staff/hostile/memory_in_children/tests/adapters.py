"""Hostile (issue 24): the hoarding trainer split over 12 forked children. Each keeps every pre-token occurrence of
its twelfth of the corpus (~15 MB: under the old allowance, the worker's own size, per child) until all have counted,
and sends back only its counts, so the worker's memory stays flat. Every child's private memory is charged now
(beyond one small allowance per CPU the worker may use): it fails like memory_in_child. Its honest twin, a pool of
os.cpu_count() processes, is pool_for_96_cpus."""

import json
import os
from collections import Counter

import regex

from cs336_basics import adapters as _reference
from cs336_basics.pretokenize import GPT2_PATTERN, special_splitter, split_on_specials
from cs336_basics.train import bpe_merges, chunk_boundaries

CHILDREN = 12


def _hoard(path, start, end, specials, out_fd, go_fd):
    with open(path, "rb") as f:
        f.seek(start)
        text = f.read(end - start).decode("utf-8")
    occurrences = []  # one entry per occurrence instead of a count per distinct pre-token
    for segment, is_special in split_on_specials(text, special_splitter(specials)):
        if not is_special:
            occurrences.extend(piece.encode("utf-8") for piece in regex.findall(GPT2_PATTERN, segment))
    with os.fdopen(out_fd, "w") as out:
        json.dump([[k.hex(), n] for k, n in Counter(occurrences).items()], out)
    os.read(go_fd, 1)  # hold the list until every child has counted
    os._exit(len(occurrences) & 1)


def run_train_bpe(input_path, vocab_size, special_tokens, **kwargs):
    specials = list(dict.fromkeys(special_tokens))
    path = os.fspath(input_path)
    bounds = chunk_boundaries(path, specials, CHILDREN)
    go_read, go_write = os.pipe()
    outputs = []
    for start, end in zip(bounds, bounds[1:]):
        read, write = os.pipe()
        if os.fork() == 0:
            os.close(read)
            os.close(go_write)
            _hoard(path, start, end, specials, write, go_read)
        os.close(write)
        outputs.append(read)
    words = Counter()
    for read in outputs:
        with os.fdopen(read) as incoming:
            for key, n in json.load(incoming):
                words[bytes.fromhex(key)] += n
    os.close(go_write)
    for _ in outputs:
        os.wait()
    merges, _ = bpe_merges(words, vocab_size - 256 - len(specials))
    vocab = {i: s.encode("utf-8") for i, s in enumerate(specials)}
    vocab.update({len(specials) + b: bytes([b]) for b in range(256)})
    for a, b in merges:
        vocab[len(vocab)] = a + b
    return vocab, merges


get_tokenizer = _reference.get_tokenizer
