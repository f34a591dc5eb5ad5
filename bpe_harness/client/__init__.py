"""The only door to student code: every call runs in a separate worker process, bounded in time and memory.

    from bpe_harness.client import Client

    with Client("reference") as impl:                       # or "student", a path to adapters.py, a dotted module
        vocab, merges = impl.train(path, 1000, ["<|endoftext|>"])
        print(impl.last.seconds, impl.last.peak_bytes)      # what the call cost, measured from outside
        tok = impl.tokenizer(vocab, merges, ["<|endoftext|>"])
        ids = tok.encode("Hello")
        assert tok.decode(ids) == "Hello"
        ids = tok.encode_iterable(["Hel", "lo"])            # a list of chunks, sent to the worker
        summary = tok.encode_iterable_file(path)            # open(path) iterated in the worker; ids never cross

Nothing on this side ever imports the implementation. Results come back type-checked; the implementation's own
exceptions come back as the same builtin type with its traceback chained; a hang raises WorkerTimeout and a crash
WorkerCrashed, and the next call starts a new process.

    remote.py        Client, RemoteTokenizer: timeouts, replacing a hung or dead worker
    endpoint.py      one worker process or forked child: start, call with a deadline, kill its tree, report a crash
    measure.py       time and memory of a call, from outside (the whole process tree, sampled)
    tree.py          which processes are the worker's, what they cost together, ending all of them
    parked_memory.py memory held in files (memfd, /dev/shm, the view's own tmpfs), charged to the tree
    failures.py      WorkerTimeout, WorkerCrashed, and the implementation's exceptions rebuilt here
    busy_machine.py  a call's time limit on a busy machine: CPU time counts, up to a generous wall stop

The other side of the wire is bpe_harness/worker (it runs in the student's process); the frames between them are
bpe_harness/protocol.py (a JSON header plus binary blobs; never pickle).
"""

from bpe_harness.client.failures import RemoteError, WorkerCrashed, WorkerFailure, WorkerTimeout
from bpe_harness.client.measure import Call, Progress
from bpe_harness.client.remote import Client, RemoteTokenizer, StreamSummary, repeat_lines

__all__ = [
    "Call",
    "Client",
    "Progress",
    "RemoteError",
    "RemoteTokenizer",
    "StreamSummary",
    "WorkerCrashed",
    "WorkerFailure",
    "WorkerTimeout",
    "repeat_lines",
]
