"""Run by `make test-wheel` with the interpreter of a fresh virtual environment where only
the built wheel is installed, from a folder outside the source tree: the package as a user
installs it must import every module and run the demo. (Not a pytest module: pytest
collects only test_*.py.)"""

from __future__ import annotations

import importlib
import json
import os
import pkgutil
import subprocess
import sys
import tempfile
from pathlib import Path

import zjfin

source_tree = Path(__file__).resolve().parents[1]
installed = Path(zjfin.__file__).resolve().parent
assert Path(sys.prefix).resolve() in installed.parents and installed != source_tree / "zjfin", \
    f"zjfin imported from {installed}, not from the wheel installed in {sys.prefix}"
modules = [m.name for m in pkgutil.walk_packages([str(installed)], prefix="zjfin.") if not m.name.endswith("__main__")]
for name in modules:
    importlib.import_module(name)
assert {"zjfin.risks.bonds", "zjfin.model.estimator", "zjfin._engines"} <= set(modules), modules
zjfin.Policy.default()  # reads data_schemas/policy/default_policy.toml from the wheel
with tempfile.TemporaryDirectory() as out:
    command = [str(Path(sys.executable).with_name("zjfin")), "-q", "demo", "--firms", "2000", "--out", out]
    done = subprocess.run(command, capture_output=True, text=True, env={**os.environ, "PYTHONPATH": ""})
    assert done.returncode == 0, done.stderr[-2000:]
    manifest = json.loads((Path(out) / "manifest.json").read_text(encoding="utf-8"))
    assert manifest["firms"]["screened"] == 2000, manifest["firms"]
print(f"the installed wheel imports its {len(modules)} modules and runs the demo (zjfin {zjfin.__version__}, {installed})")
