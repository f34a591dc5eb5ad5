"""Start-up hook of every Python process the worker's code starts (on PYTHONPATH only there): installs the worker's
package metadata and import policy (bpe_harness/isolation/worker_environment.py), then the interpreter's own
sitecustomize, if it has one. Loaded from its file: importing the bpe_harness.isolation package would cost each pool
child the harness's client side."""

import importlib.util
import os

_spec = importlib.util.spec_from_file_location(
    "_cs336_worker_environment",
    os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "worker_environment.py"),
)
_module = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(_module)
_module.install_from_environment()
_module.run_next_sitecustomize()
