"""The mutant catalog: one entry per mistake students really make, written as a small edit of the reference.

Each mutant replaces one exact snippet of a staff/reference file (it must occur exactly once, so a reference
refactor that moves it fails loudly instead of silently testing nothing) and names the graded tests that must
catch it. Module mutants (`module=`) are whole adapter modules instead, for bugs that are a different algorithm
rather than a one-line slip (the slow-but-correct naive trainer and encoder).

Where the bugs come from (facts gathered from public write-ups and issue threads; no code copied):
- Tie-breaking missing or order-dependent (karpathy/minbpe PR #90, issue #93: ties resolved by first occurrence);
  comparing GPT-2's printable remapping instead of raw bytes; comparing concatenated bytes.
- Special tokens dropped or hard-coded when chunking for parallel pre-tokenization, or chunks that miss a token
  across a chunk edge (a public CS336 solution's issue tracker: wind-wing234/cs336-assignment1-basics #1);
  trainers that ignore special tokens (huggingface/tokenizers #1616).
- Forgetting special tokens in the merge count, so the vocab comes out one or more entries off
  (rasbt/LLMs-from-scratch #619).
- Training that pre-tokenizes differently from encoding, so merges cross boundaries encode never produces
  (rasbt/LLMs-from-scratch PR #975); per-line reading of the corpus.
- Decoding token by token, which corrupts characters split across tokens (NVIDIA/Megatron-LM #4126,
  soniqo/speech-swift PR #41, huanglizhuo/QwenASR PR #12); strict decoding that raises on bad bytes
  (IAPark/tiktoken_ruby PR #123, Blaizzy/mlx-vlm PR #835).
- Unescaped special tokens in a regex alternation (`<|endoftext|>` read as `<` or `endoftext` or `>`), overlapping
  specials matched in list order, encode_iterable encoding each chunk on its own or joining everything first,
  incremental pair-count bookkeeping slips, and a class-level cache shared by every tokenizer: bugs seen over and
  over when grading BPE assignments.
"""

from __future__ import annotations

from dataclasses import dataclass, replace

from staff.bad import LIMIT_TESTS

TRAIN = "tests/test_train_bpe.py::test_training_matches_reference"
ITER = "tests/test_encode_iterable.py"
PARITY = "tests/test_tiktoken_parity.py"
TOK = "tests/test_tokenizer.py"
SPECIAL = "tests/test_special_tokens.py"
LIMITS = "tests/test_limits.py"
HIDDEN_TRAIN = "staff/hidden/test_hidden.py::test_hidden_training"  # staff-only randomized tests (secret seed)
SPECIAL_LOOP = (
    "    for segment, is_special in split_on_specials(text, special_splitter(special_tokens)):\n"
    "        if not is_special:\n            counts.update"
)


@dataclass(frozen=True)
class Mutant:
    name: str
    bug: str  # the mistake, as a student would make it
    caught_by: tuple[str, ...]  # graded test node ids; every one must fail
    edits: tuple[tuple[str, str, str], ...] = ()  # (file in staff/reference, exact snippet present once, replacement)
    module: str = ""  # or: a whole adapters module


def edit(name, bug, caught_by, file, old, new, *more) -> Mutant:
    """A mutant made of one edit (file, old, new), plus optional further (file, old, new) triples."""
    return Mutant(name, bug, tuple(caught_by), edits=((file, old, new), *more))


# The standard: every mutant fails at least this many public graded tests (`mutants matrix` checks it; the declared
# `caught_by` lists at least this many graded tests, which staff/tests/test_mutants.py checks).
MIN_GRADED_KILLS = 2
# Catalogued classes still below that standard, each with why; the matrix fails on any other mutant below it, and
# says when a listed one reaches it (then remove it here).
BELOW_STANDARD: dict[str, str] = {
    "pattern_ascii_only": "only the multilingual training case has merges across an ASCII and a non-ASCII letter; "
    "the tokenizer tests' vocabs are trained on English, where splitting 'né' as 'n', 'é' gives the same ids (the "
    "hidden multilingual corpora catch it; a stream vocab trained on multilingual text would too)",
    "hoarding_trainer": "correct but hungry: only the training memory test can see it",
    "corpus_newlines_translated": "only the tinystories training fixture has \\r\\n line ends; the training-speed "
    "input, generated from a secret at run time, has none (a public corpus "
    "with \\r\\n in another training case would make it two)",
}

# Stream cut rules students write after gathering a buffer: each is a mutant at every gather threshold.
GATHER_THRESHOLDS = (1, 1024, 16384)
NO_WHITESPACE_RULE = ("tokenizer.py", "            if not _WHITESPACE.match(buffer, start - 1):", "            if 1:")
GATHERED_CUTS = [
    (
        "stream_cut_before_last_pretoken",
        "cuts before the last pre-token of its buffer (holding back a tail that may start a special token): "
        "'we'l' + 'l' and a whitespace run before a word re-split",
        (("tokenizer.py", "PIECES_HELD_BACK = 2", "PIECES_HELD_BACK = 1"), NO_WHITESPACE_RULE),
    ),
    (
        "stream_carry_two_no_whitespace_rule",
        "carries its last two pre-tokens, cutting even right after a whitespace run, which the regex run on the "
        "emitted slice alone splits differently ('\\n\\n\\n' alone vs '\\n\\n', '\\n' before a word)",
        (NO_WHITESPACE_RULE,),
    ),
    (
        "stream_slice_regex_space_rule_only",
        "carries its last two pre-tokens and never cuts after a space, but does after '\\n', '\\t', '\\r\\n' or "
        "U+3000: the regex run on the emitted slice alone splits that run differently",
        (("tokenizer.py", '_WHITESPACE = regex.compile(r"\\s")', '_WHITESPACE = regex.compile(" ")'),),
    ),
]


def caught_by(gather: int) -> list[str]:
    """The graded tests a gathered-cut mutant must fail: short texts cut at every point (behind a 1K prefix) reach
    thresholds up to 1K, the long text's block ends every threshold."""
    if gather == 1:
        return [f"{ITER}::test_every_split_point[whitespace]", f"{ITER}::test_every_split_point[paragraphs]"]
    if gather <= 1024:
        return [f"{ITER}::test_every_split_point[whitespace]", f"{ITER}::test_cuts_in_a_long_text[blocks]"]
    return [f"{ITER}::test_cuts_in_a_long_text[blocks]", f"{ITER}::test_cuts_in_a_long_text[one_character]"]


MUTANTS: list[Mutant] = [
    # --- tie-breaking -------------------------------------------------------------------------------------------
    edit(
        "tie_concatenated_bytes",
        "breaks ties by comparing a+b instead of the (a, b) tuple",
        [f"{TRAIN}[ties_tuple_not_concat]"],
        "train.py",
        "sort_key[pair[0]], sort_key[pair[1]], pair)",
        "descending(tokens[pair[0]] + tokens[pair[1]]), '', pair)",
    ),
    edit(
        "tie_smallest_pair",
        "breaks ties toward the lexicographically smallest pair",
        [f"{TRAIN}[ties_greatest_not_first]"],
        "train.py",
        '    return "".join(chr(255 - b) for b in token) + chr(256)',
        '    return token.decode("latin-1")  # ascending: the min-heap pops the smallest pair',
    ),
    edit(
        "tie_gpt2_unicode",
        "breaks ties comparing GPT-2's printable-unicode strings (space is 'Ġ') instead of bytes",
        [f"{TRAIN}[ties_bytes_not_unicode]"],
        "train.py",
        '    return "".join(chr(255 - b) for b in token) + chr(256)',
        "    printable = ''.join(chr(b + 256) if b <= 32 or 127 <= b <= 160 or b == 173 else chr(b) for b in token)\n"
        "    return ''.join(chr(0x1000 - ord(c)) for c in printable) + chr(0x1001)",
    ),
    edit(
        "tie_by_token_id",
        "breaks ties by whichever pair of token ids is smallest (no byte comparison at all)",
        [f"{TRAIN}[ties_greatest_not_first]"],
        "train.py",
        "sort_key[pair[0]], sort_key[pair[1]], pair)",
        "'', '', pair)",
    ),
    edit(
        "tie_second_element_first",
        "compares pairs by their second token first",
        [f"{TRAIN}[ties_greatest_not_first]"],
        "train.py",
        "sort_key[pair[0]], sort_key[pair[1]], pair)",
        "sort_key[pair[1]], sort_key[pair[0]], pair)",
    ),
    # --- special tokens in training ----------------------------------------------------------------------------
    edit(
        "train_specials_not_removed",
        "pre-tokenizes the corpus without splitting on special tokens first",
        [f"{TRAIN}[multi_special]", "tests/test_train_bpe.py::test_no_token_spans_a_special"],
        "train.py",
        "    for segment, is_special in split_on_specials(text, special_splitter(special_tokens)):\n"
        "        if not is_special:\n            counts.update",
        "    for segment, is_special in split_on_specials(text, None):\n"
        "        if not is_special:\n            counts.update",
    ),
    edit(
        "train_specials_not_in_vocab",
        "leaves special tokens out of the vocab",
        [f"{TRAIN}[multi_special]", "tests/test_train_bpe.py::test_vocab_has_specials_and_every_byte"],
        "train.py",
        '    vocab = {i: s.encode("utf-8") for i, s in enumerate(special_tokens)}',
        "    vocab = {}",
    ),
    edit(
        "merge_ids_overwrite_bytes",
        "numbers merge i as 256 + i although special tokens come first, so merges overwrite the last byte ids",
        [f"{TRAIN}[tinystories_sample]", "tests/test_train_bpe.py::test_vocab_has_specials_and_every_byte"],
        "train.py",
        "    for a, b in merges:\n        vocab[len(vocab)] = a + b\n",
        "    for i, (a, b) in enumerate(merges):\n        vocab[256 + i] = a + b\n",
    ),
    Mutant(
        "buffered_cut",
        "encode_iterable buffers ~16K characters, then encodes the buffer wherever the last chunk ended",
        (f"{ITER}::test_cuts_in_a_long_text",),
        module="staff.bad.buffered_cut",
    ),
    edit(
        "merge_count_ignores_specials",
        "makes vocab_size - 256 merges, forgetting that special tokens take vocab slots",
        [f"{TRAIN}[tinystories_sample]", f"{TRAIN}[minimum_vocab]"],
        "train.py",
        "bpe_merges(word_counts, vocab_size - minimum, progress)",
        "bpe_merges(word_counts, vocab_size - 256, progress)",
    ),
    edit(
        "escape_missing_in_special_regex",
        "joins special tokens into a regex without escaping them: '<|endoftext|>' matches '<', 'endoftext' or '>'",
        [f"{TRAIN}[multi_special]", f"{SPECIAL}::test_special_token_is_one_id"],
        "pretokenize.py",
        'alternatives = "|".join(regex.escape(s) for s in specials)',
        'alternatives = "|".join(specials)',
    ),
    # --- special tokens in training: how students remove, replace or split on them before counting --------------
    # The public corpora put specials between documents ("...end.\n<|endoftext|>\n"), where removing them with
    # replace(s, "") changes nothing (it survives the public suite); the hidden tests glue specials between letters,
    # digits, spaces and punctuation, where every one of these slips changes the merges.
    edit(
        "specials_removed_by_replace",
        "removes specials with text.replace(special, ''), which glues the text on both sides into one pre-token",
        [f"{TRAIN}[multi_special]", f"{TRAIN}[blank_lines]", HIDDEN_TRAIN],
        "train.py",
        SPECIAL_LOOP,
        '    for special in special_tokens:\n        text = text.replace(special, "")\n'
        "    for segment, is_special in [(text, False)]:\n        if not is_special:\n            counts.update",
    ),
    edit(
        "specials_replaced_by_space",
        "replaces each special with a space before pre-tokenizing, which adds ' ' to the next word",
        [f"{TRAIN}[multi_special]", HIDDEN_TRAIN],
        "train.py",
        SPECIAL_LOOP,
        '    for special in special_tokens:\n        text = text.replace(special, " ")\n'
        "    for segment, is_special in [(text, False)]:\n        if not is_special:\n            counts.update",
    ),
    edit(
        "specials_replaced_by_newline",
        "replaces each special with a newline before pre-tokenizing, which merges into neighbouring whitespace runs",
        [f"{TRAIN}[multi_special]", HIDDEN_TRAIN],
        "train.py",
        SPECIAL_LOOP,
        '    for special in special_tokens:\n        text = text.replace(special, "\\n")\n'
        "    for segment, is_special in [(text, False)]:\n        if not is_special:\n            counts.update",
    ),
    edit(
        "split_on_first_special_only",
        "splits the corpus on special_tokens[0] only, so any other special is trained on as text",
        [f"{TRAIN}[multi_special]", HIDDEN_TRAIN],
        "train.py",
        SPECIAL_LOOP,
        "    for segment, is_special in [(t, False) for t in text.split(special_tokens[0])] if special_tokens "
        "else [(text, False)]:\n        if not is_special:\n            counts.update",
    ),
    edit(
        "split_once_per_special",
        "uses text.split(special, 1): only the first occurrence of each special is a boundary",
        [HIDDEN_TRAIN, "tests/test_train_bpe.py::test_no_token_spans_a_special"],
        "train.py",
        SPECIAL_LOOP,
        "    pieces = [text]\n    for special in special_tokens:\n"
        "        pieces = [q for p in pieces for q in p.split(special, 1)]\n"
        "    for segment, is_special in [(p, False) for p in pieces]:\n"
        "        if not is_special:\n            counts.update",
    ),
    edit(
        "split_on_hardcoded_endoftext",
        "splits on the literal '<|endoftext|>' whatever special tokens were given",
        [f"{TRAIN}[multi_special]", HIDDEN_TRAIN],
        "train.py",
        SPECIAL_LOOP,
        '    for segment, is_special in [(t, False) for t in text.split("<|endoftext|>")]:\n'
        "        if not is_special:\n            counts.update",
    ),
    edit(
        "specials_excluded_after_pretokenizing",
        "pre-tokenizes the whole text and drops pre-tokens equal to a special, but GPT-2's regex cuts "
        "'<|endoftext|>' into '<|', 'endoftext', '|>', so none is dropped",
        [f"{TRAIN}[multi_special]", "tests/test_train_bpe.py::test_no_token_spans_a_special", HIDDEN_TRAIN],
        "train.py",
        SPECIAL_LOOP + "(findall(segment))",
        "    for segment, is_special in [(text, False)]:\n        if not is_special:\n            counts.update"
        "(t for t in findall(segment) if t not in special_tokens)",
    ),
    edit(
        "special_pieces_counted",
        "splits with a capturing group (regex.split('(...)')) and counts every piece, the specials' own bytes too",
        [f"{TRAIN}[multi_special]", "tests/test_train_bpe.py::test_no_token_spans_a_special", HIDDEN_TRAIN],
        "train.py",
        SPECIAL_LOOP,
        "    for segment, is_special in split_on_specials(text, special_splitter(special_tokens)):\n"
        "        if True:\n            counts.update",
    ),
    edit(
        "segments_stripped",
        "strips whitespace from each piece between specials (documents look cleaner), losing the spaces and "
        "newlines next to every special",
        [f"{TRAIN}[blank_lines]", HIDDEN_TRAIN],
        "train.py",
        SPECIAL_LOOP + "(findall(segment))",
        SPECIAL_LOOP + "(findall(segment.strip()))",
    ),
    edit(
        "split_per_line_then_special",
        "splits the corpus into lines first, then each line on specials (whitespace runs across a line end break)",
        [f"{TRAIN}[blank_lines]", HIDDEN_TRAIN],
        "train.py",
        SPECIAL_LOOP,
        "    for segment, is_special in [(q, s) for line in text.splitlines(keepends=True)\n"
        "                                for q, s in split_on_specials(line, special_splitter(special_tokens))]:\n"
        "        if not is_special:\n            counts.update",
    ),
    # --- pre-tokenization ---------------------------------------------------------------------------------------
    edit(
        "corpus_newlines_translated",
        "reads the corpus in text mode (open(path).read()), which turns every \\r\\n into \\n",
        [f"{TRAIN}[tinystories_sample]"],
        "train.py",
        '    # The corpus is its exact bytes: "\\r\\n" stays "\\r\\n", as encode() would see it '
        "(no newline translation).\n",
        '    text = text.replace("\\r\\n", "\\n").replace("\\r", "\\n")\n',
    ),
    edit(
        "pretokenize_per_line",
        "reads the corpus line by line and pre-tokenizes each line on its own",
        [f"{TRAIN}[blank_lines]"],
        "train.py",
        "            counts.update(findall(segment))",
        "            for line in segment.splitlines(keepends=True):\n                counts.update(findall(line))",
    ),
    edit(
        "pattern_ascii_only",
        "uses an ASCII approximation of the GPT-2 regex ([a-zA-Z] for \\p{L}, [0-9] for \\p{N})",
        [f"{TRAIN}[multilingual]"],
        "pretokenize.py",
        r" ?\p{L}+| ?\p{N}+| ?[^\s\p{L}\p{N}]+",
        r" ?[a-zA-Z]+| ?[0-9]+| ?[^\sa-zA-Z0-9]+",
    ),
    edit(
        "pattern_no_trailing_space_rule",
        "drops the \\s+(?!\\S) alternative, so a space before a word sticks to the whitespace run",
        [f"{TRAIN}[blank_lines]", f"{TOK}::test_encode_exact_ids[whitespace]"],
        "pretokenize.py",
        r"|\s+(?!\S)|\s+",
        r"|\s+",
    ),
    edit(
        "chunks_cut_anywhere",
        "splits the file for parallel pre-tokenization at fixed byte offsets, not at special tokens",
        [f"{TRAIN}[tinystories_sample]"],
        "train.py",
        "    if size < PARALLEL_MIN_BYTES:",
        "    if False:",
        (
            "train.py",
            "    bounds = chunk_boundaries(path, special_tokens, parts)",
            "    bounds = [size * i // parts for i in range(parts)] + [size]",
        ),
        (
            "train.py",
            '        text = f.read(end - start).decode("utf-8")',
            '        text = f.read(end - start).decode("utf-8", errors="ignore")',
        ),
    ),
    # --- the merge loop -----------------------------------------------------------------------------------------
    edit(
        "pair_counts_unweighted",
        "counts each distinct pre-token once, ignoring how often it occurs",
        [f"{TRAIN}[tinystories_sample]"],
        "train.py",
        "            pair_counts[pair] += freqs[w]\n",
        "            pair_counts[pair] += 1\n",
    ),
    edit(
        "stale_counts_after_merge",
        "adds the new pairs after a merge but never subtracts the pairs it destroyed",
        [f"{TRAIN}[tinystories_sample]"],
        "train.py",
        "                        pair_counts[prev, left] -= freq\n",
        "                        pass\n",
        ("train.py", "                        pair_counts[right, nxt] -= freq\n", "                        pass\n"),
    ),
    edit(
        "new_pairs_not_indexed",
        "forgets to record which words contain the pairs a merge creates",
        [f"{TRAIN}[tinystories_sample]"],
        "train.py",
        "                        pair_words[prev, new_id].add(w)\n",
        "",
        ("train.py", "                        pair_words[new_id, nxt].add(w)\n", ""),
    ),
    edit(
        "merge_first_occurrence_only",
        "merges only the first occurrence of the pair inside each word",
        [f"{TRAIN}[tinystories_sample]"],
        "train.py",
        "                    word[i : i + 2] = [new_id]\n",
        "                    word[i : i + 2] = [new_id]\n                    break\n",
    ),
    edit(
        "stale_heap_entries_trusted",
        "pops the heap without checking that the entry's count is still current",
        [f"{TRAIN}[tinystories_sample]"],
        "train.py",
        "        if current != -neg:\n",
        "        if pair not in pair_counts:\n",
    ),
    edit(
        "merges_as_str",
        "returns merges as str (decoded latin-1) instead of bytes",
        [f"{TRAIN}[ties_bytes_not_unicode]"],
        "train.py",
        "        merges.append((tokens[left], tokens[right]))",
        "        merges.append((tokens[left].decode('latin-1'), tokens[right].decode('latin-1')))",
    ),
    edit(
        "vocab_ids_from_one",
        "numbers vocab ids from 1",
        [f"{TRAIN}[minimum_vocab]"],
        "train.py",
        '    vocab = {i: s.encode("utf-8") for i, s in enumerate(special_tokens)}',
        '    vocab = {i + 1: s.encode("utf-8") for i, s in enumerate(special_tokens)}',
    ),
    # --- encoding -----------------------------------------------------------------------------------------------
    edit(
        "encode_leftmost_pair_first",
        "merges the leftmost mergeable pair first instead of the lowest-ranked one",
        [f"{PARITY}::test_matches_tiktoken[o200k_base-english]", f"{TOK}::test_encode_exact_ids[english]"],
        "tokenizer.py",
        "            best = min(ranks)\n",
        "            best = next((r for r in ranks if r is not NO_MERGE), NO_MERGE)\n",
    ),
    edit(
        "specials_in_given_order",
        "matches special tokens in the order given, so a shorter one wins over an overlapping longer one",
        [f"{SPECIAL}::test_overlapping_specials_longest_wins"],
        "pretokenize.py",
        "    specials = sorted(set(special_tokens), key=len, reverse=True)",
        "    specials = list(dict.fromkeys(special_tokens))",
    ),
    edit(
        "special_missing_not_added",
        "ignores special tokens that are not already in the vocab",
        [f"{SPECIAL}::test_special_missing_from_vocab_is_appended"],
        "tokenizer.py",
        "            if encoded not in token_to_id:\n",
        "            if False:\n",
    ),
    edit(
        "pattern_argument_ignored",
        "always pre-tokenizes with the GPT-2 regex, ignoring the pattern it was given",
        [f"{PARITY}::test_matches_tiktoken[o200k_base-english]", f"{PARITY}::test_matches_tiktoken[cl100k_base-code]"],
        "tokenizer.py",
        "        self._pretoken = regex.compile(pattern or GPT2_PATTERN)",
        "        self._pretoken = regex.compile(GPT2_PATTERN)",
    ),
    edit(
        "cache_shared_by_all_tokenizers",
        "keeps the pre-token cache in a class attribute, shared by tokenizers with different vocabs",
        [f"{TOK}::test_tokenizers_do_not_share_state"],
        "tokenizer.py",
        "        self._cache: dict[str, list[int]] = PieceCache(self._merge_pretoken)",
        "        self._cache = SHARED_CACHE.setdefault('cache', PieceCache(self._merge_pretoken))",
        ("tokenizer.py", "CACHE_LIMIT = 1 << 18", "CACHE_LIMIT = 1 << 18\nSHARED_CACHE: dict = {}"),
    ),
    # --- streaming ----------------------------------------------------------------------------------------------
    edit(
        "iterable_chunks_encoded_alone",
        "encodes each chunk on its own, so a word or special token split across chunks is split in the output",
        [f"{ITER}::test_every_split_point[specials]", f"{ITER}::test_one_character_chunks[contractions]"],
        "tokenizer.py",
        "            end = self._stable_prefix_end(buffer)\n",
        "            end = len(buffer)\n",
    ),
    edit(
        "iterable_holds_back_one_piece",
        'holds back only the last pre-token, but "we\'l" + "l" re-splits the last two',
        [f"{ITER}::test_every_split_point[contractions]"],
        "tokenizer.py",
        "PIECES_HELD_BACK = 2",
        "PIECES_HELD_BACK = 1",
    ),
    edit(
        "iterable_cuts_after_whitespace",
        "cuts the stream right after a whitespace run: '.\\n\\n' alone is one piece, but '.\\n\\nThe' splits it",
        [f"{ITER}::test_every_split_point[paragraphs]"],
        "tokenizer.py",
        "            if not _WHITESPACE.match(buffer, start - 1):",
        "            if True:",
    ),
    edit(
        "iterable_ignores_partial_special",
        "does not hold back a chunk tail that could be the start of a special token",
        [f"{ITER}::test_every_split_point[specials]"],
        "tokenizer.py",
        "                    cut = min(cut, len(buffer) - k)\n",
        "                    pass\n",
    ),
    edit(
        "iterable_joins_everything",
        "joins the whole input before encoding: correct ids, but neither lazy nor bounded in memory",
        [f"{ITER}::test_is_lazy"],
        "tokenizer.py",
        '        buffer, rescan_at = "", 0\n',
        "        yield from self.encode(''.join(iterable))\n        return\n        buffer, rescan_at = \"\", 0\n",
    ),
    edit(
        "iterable_drops_tail",
        "forgets what is left in its buffer when the chunks run out: the stream ends early",
        [f"{ITER}::test_every_split_point[paragraphs]", f"{ITER}::test_file_handle[documents]"],
        "tokenizer.py",
        "            rescan_at = 2 * len(buffer) if len(buffer) > STREAM_RESCAN_CHARS else 0\n"
        "        if buffer:\n            yield from self.encode(buffer)\n",
        "            rescan_at = 2 * len(buffer) if len(buffer) > STREAM_RESCAN_CHARS else 0\n",
    ),
    # --- streaming after gathering: each cut rule at gather thresholds 1, 1024 and 16384 characters ------------------
    *[
        edit(
            f"{name}_{gather}",
            f"encode_iterable gathers {gather} characters, then {bug}",
            caught_by(gather),
            "tokenizer.py",
            "            if len(buffer) < rescan_at:\n",
            f"            if len(buffer) < max(rescan_at, {gather}):\n",
            *edits,
        )
        for name, bug, edits in GATHERED_CUTS
        for gather in GATHER_THRESHOLDS
    ],
    # --- slow or hungry but correct: whole modules in staff/bad, caught by the limits -----------------------------
    *[
        Mutant(variant.rsplit(".", 1)[-1], bug, (f"{LIMITS}::{test}",), module=variant)
        for variant, (test, _words, bug) in LIMIT_TESTS.items()
    ],
    # --- decoding -----------------------------------------------------------------------------------------------
    edit(
        "decode_ignore_errors",
        "decodes with errors='ignore', silently dropping invalid bytes instead of writing U+FFFD",
        [f"{TOK}::test_decode_lone_continuation_byte_is_replacement_char", f"{TOK}::test_roundtrip_short[cjk]"],
        "tokenizer.py",
        '.decode("utf-8", errors="replace")',
        '.decode("utf-8", errors="ignore")',
    ),
    edit(
        "decode_token_by_token",
        "decodes each token separately and joins the strings, breaking characters split across tokens",
        [f"{TOK}::test_roundtrip_short[cjk]", f"{TOK}::test_roundtrip_samples[multilingual]"],
        "tokenizer.py",
        '        return b"".join(vocab[i] for i in ids).decode("utf-8", errors="replace")',
        '        return "".join(vocab[i].decode("utf-8", errors="replace") for i in ids)',
    ),
    edit(
        "decode_strict",
        "decodes strictly, raising UnicodeDecodeError on a token sequence that cuts a character",
        [f"{TOK}::test_decode_lone_continuation_byte_is_replacement_char", f"{TOK}::test_roundtrip_short[cjk]"],
        "tokenizer.py",
        '.decode("utf-8", errors="replace")',
        '.decode("utf-8")',
    ),
]


# Further graded tests each mutant fails, read off `mutants matrix` (the whole graded suite per mutant), so that every
# class declares at least MIN_GRADED_KILLS; the matrix re-checks that they still fail.
ALSO_CAUGHT_BY: dict[str, tuple[str, ...]] = {
    "tie_concatenated_bytes": ("tests/test_train_bpe.py::test_training_matches_reference[blank_lines]",),
    "tie_smallest_pair": ("tests/test_train_bpe.py::test_training_matches_reference[blank_lines]",),
    "tie_gpt2_unicode": ("tests/test_train_bpe.py::test_training_matches_reference[blank_lines]",),
    "tie_by_token_id": ("tests/test_train_bpe.py::test_training_matches_reference[blank_lines]",),
    "tie_second_element_first": ("tests/test_train_bpe.py::test_training_matches_reference[blank_lines]",),
    "buffered_cut": ("tests/test_encode_iterable.py::test_file_handle[documents]",),
    "specials_replaced_by_space": ("tests/test_train_bpe.py::test_training_matches_reference[blank_lines]",),
    "specials_replaced_by_newline": ("tests/test_train_bpe.py::test_training_matches_reference[blank_lines]",),
    "split_on_first_special_only": ("tests/test_train_bpe.py::test_no_token_spans_a_special",),
    "split_once_per_special": ("tests/test_train_bpe.py::test_training_matches_reference[blank_lines]",),
    "split_on_hardcoded_endoftext": ("tests/test_train_bpe.py::test_no_token_spans_a_special",),
    "segments_stripped": ("tests/test_train_bpe.py::test_training_matches_reference[multi_special]",),
    "split_per_line_then_special": ("tests/test_train_bpe.py::test_training_matches_reference[multi_special]",),
    "pretokenize_per_line": ("tests/test_train_bpe.py::test_training_matches_reference[multi_special]",),
    "chunks_cut_anywhere": ("tests/test_train_bpe.py::test_training_matches_reference[blank_lines]",),
    "pair_counts_unweighted": ("tests/test_train_bpe.py::test_training_matches_reference[blank_lines]",),
    "stale_counts_after_merge": ("tests/test_train_bpe.py::test_training_matches_reference[blank_lines]",),
    "new_pairs_not_indexed": ("tests/test_train_bpe.py::test_no_token_spans_a_special",),
    "merge_first_occurrence_only": ("tests/test_train_bpe.py::test_training_matches_reference[blank_lines]",),
    "stale_heap_entries_trusted": ("tests/test_train_bpe.py::test_training_matches_reference[blank_lines]",),
    "merges_as_str": ("tests/test_train_bpe.py::test_no_token_spans_a_special",),
    "vocab_ids_from_one": ("tests/test_train_bpe.py::test_no_token_spans_a_special",),
    "specials_in_given_order": ("tests/test_encode_iterable.py::test_cuts_in_a_long_text[blocks]",),
    "special_missing_not_added": ("tests/test_special_tokens.py::test_overlapping_specials_longest_wins",),
    "cache_shared_by_all_tokenizers": ("tests/test_encode_iterable.py::test_file_handle[documents]",),
    "iterable_holds_back_one_piece": ("tests/test_encode_iterable.py::test_cuts_in_a_long_text[blocks]",),
    "iterable_cuts_after_whitespace": ("tests/test_encode_iterable.py::test_cuts_in_a_long_text[blocks]",),
    "iterable_ignores_partial_special": ("tests/test_encode_iterable.py::test_cuts_in_a_long_text[blocks]",),
    "iterable_joins_everything": ("tests/test_limits.py::test_encode_iterable_streams_in_bounded_memory",),
    "naive_trainer": ("tests/test_train_bpe.py::test_training_matches_reference[webtext_sample]",),
    "pool_naive_trainer": ("tests/test_train_bpe.py::test_training_matches_reference[webtext_sample]",),
    "naive_encoder": ("tests/test_tiktoken_parity.py::test_matches_tiktoken[cl100k_base-documents]",),
    "joining_iterable": ("tests/test_encode_iterable.py::test_is_lazy",),
}
MUTANTS = [replace(m, caught_by=(*m.caught_by, *ALSO_CAUGHT_BY.get(m.name, ()))) for m in MUTANTS]


def by_name(name: str) -> Mutant:
    for mutant in MUTANTS:
        if mutant.name == name:
            return mutant
    raise KeyError(f"no mutant named {name!r}; see `uv run python -m staff.mutants list`")
