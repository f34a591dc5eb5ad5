"""Start-up hook of every Python process the worker's code starts (on PYTHONPATH only there): installs the worker's
package metadata and import policy (bpe_harness/worker/child_environment.py), then the interpreter's own
sitecustomize, if it has one. Loaded from its file: nothing of the harness beyond bpe_harness/worker is
loaded in a pool child."""

import importlib.util
import os

_path = os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "child_environment.py")
_spec = importlib.util.spec_from_file_location("_cs336_child_environment", _path)
if _spec is None or _spec.loader is None:
    raise ImportError(f"cannot load {_path}")
_module = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(_module)
_module.install_from_environment()
_module.run_next_sitecustomize()
