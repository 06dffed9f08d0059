"""The wheel carries every module and every file of the data contract (a package left out
of the build would pass an editable install and fail a user)."""

from __future__ import annotations

import subprocess
import sys
import zipfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def test_the_wheel_has_every_module_and_every_contract_file(tmp_path):
    done = subprocess.run([sys.executable, "-m", "build", "--wheel", "--no-isolation", "--outdir", str(tmp_path), str(ROOT)],
                          capture_output=True, text=True)
    assert done.returncode == 0, done.stderr[-3000:]
    wheel = next(tmp_path.glob("zjfin-*.whl"))
    names = set(zipfile.ZipFile(wheel).namelist())
    modules = {str(p.relative_to(ROOT)) for p in (ROOT / "zjfin").rglob("*.py")}
    assert modules and modules <= names, sorted(modules - names)
    contract = {"zjfin/data_schemas/" + str(p.relative_to(ROOT / "data_schemas")) for p in (ROOT / "data_schemas").rglob("*")
                if p.is_file() and "__pycache__" not in p.parts}
    assert contract and contract <= names, sorted(contract - names)
    assert "zjfin/data_schemas/policy/default_policy.toml" in names
