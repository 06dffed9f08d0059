"""OUT holds exactly one run's files, switched in one atomic step (issue 15 §4)."""

from __future__ import annotations

import hashlib
import json
import os
import random
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from builders import minimal_tables
from zjfin._cli import main
from zjfin._export import KNOWN_OUTPUTS
from zjfin._read import Dataset, write_dataset
from zjfin._write import swap_folders


@pytest.fixture()
def data_dir(tmp_path):
    folder = tmp_path / "data"
    write_dataset(Dataset(minimal_tables()), folder, format="csv")
    return folder


def files(out: Path) -> set[str]:
    return {p.relative_to(out).as_posix() for p in out.rglob("*") if p.is_file()}


def whole_run(out: Path) -> dict:
    """The run in OUT, checked: every output its manifest lists is there with its checksum,
    and no file zjfin writes is there that the manifest does not list."""
    record = json.loads((out / "manifest.json").read_text(encoding="utf-8"))
    for name, digest in record["output_sha256"].items():
        assert hashlib.sha256((out / name).read_bytes()).hexdigest() == digest, name
    assert (files(out) & KNOWN_OUTPUTS) <= set(record["outputs"])
    return record


def test_a_run_with_fewer_outputs_leaves_only_its_own(data_dir, tmp_path):
    out = tmp_path / "out"
    assert main(["-q", "screen", str(data_dir), "--as-of", "2019-03-31", "--out", str(out)]) == 0
    (out / "notes.txt").write_text("a user's file", encoding="utf-8")
    (out / "input").mkdir()
    (out / "input" / "firms.csv").write_text("x", encoding="utf-8")
    first = files(out)
    assert "lists/三张名单.xlsx" in first and "lists/relief.csv" in first
    assert main(["-q", "screen", str(data_dir), "--as-of", "2019-03-31", "--out", str(out), "--formats", "parquet"]) == 0
    record = whole_run(out)
    assert not any(n.endswith((".csv", ".xlsx")) and n.startswith("lists/") for n in files(out))
    assert {"lists/三张名单.xlsx", "lists/relief.csv"} <= set(record["removed_outputs"])
    assert (out / "notes.txt").read_text(encoding="utf-8") == "a user's file" and (out / "input" / "firms.csv").exists()
    assert not [p for p in tmp_path.iterdir() if ".zjfin-" in p.name]  # no staging left


def test_folders_swap_in_one_step(tmp_path):
    a, b = tmp_path / "a", tmp_path / "b"
    a.mkdir(), b.mkdir()
    (a / "x").write_text("a"), (b / "x").write_text("b")
    if not swap_folders(a, b):
        pytest.skip("this system cannot swap folders atomically")
    assert (a / "x").read_text() == "b" and (b / "x").read_text() == "a"


def test_killed_runs_leave_the_old_run_or_the_new_one(data_dir, tmp_path):
    """kill -9 at 50 moments, half of them while the new run is being put in place."""
    out = tmp_path / "out"
    run = [sys.executable, "-m", "zjfin", "-q", "screen", str(data_dir), "--out", str(out), "--as-of"]
    assert subprocess.run([*run, "2019-03-31"], timeout=120).returncode == 0
    full = time.monotonic()
    assert subprocess.run([*run, "2018-12-31"], timeout=120).returncode == 0
    full = time.monotonic() - full
    rng = random.Random(15)
    seen = set()
    for attempt in range(50):
        as_of = ("2019-03-31", "2018-12-31")[attempt % 2]
        process = subprocess.Popen([*run, as_of], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        if attempt % 4 < 2:  # at a random moment of the run
            time.sleep(rng.uniform(0.3, 1.1) * full)
        else:  # once its staging folder exists: inside the commit
            deadline = time.monotonic() + 2 * full + 10
            while not any(p.name.startswith(".out.zjfin-") for p in tmp_path.iterdir()) and time.monotonic() < deadline:
                if process.poll() is not None:
                    break
                time.sleep(0.001)
            time.sleep(rng.uniform(0, 0.05))
        if process.poll() is None:
            os.kill(process.pid, signal.SIGKILL)
        process.wait(timeout=60)
        record = whole_run(out)
        seen.add(record["as_of"])
    assert len(seen) == 2  # both runs were seen whole, never a mix
    assert subprocess.run([*run, "2019-03-31"], timeout=120).returncode == 0
    assert not [p for p in tmp_path.iterdir() if ".zjfin-" in p.name]  # stale staging cleaned


def _write_text(frame, path):
    path.write_text(frame, encoding="utf-8")


def test_a_linked_out_the_current_folder_permissions_and_foreign_items(tmp_path, monkeypatch):
    from zjfin._write import commit

    # OUT as a link: the run goes into the link's target; the link stays a link.
    real = tmp_path / "disk" / "out"
    real.mkdir(parents=True)
    (tmp_path / "out").symlink_to(real)
    commit(tmp_path / "out", {"a.txt": (_write_text, "1")}, {"outputs": ["a.txt"]})
    commit(tmp_path / "out", {"a.txt": (_write_text, "2")}, {"outputs": ["a.txt"]})
    assert (tmp_path / "out").is_symlink() and (real / "a.txt").read_text() == "2"
    assert not [p for p in (tmp_path / "disk").iterdir() if ".zjfin-" in p.name]
    # Permissions of OUT kept; a user's link and empty folder kept.
    real.chmod(0o755)
    (real / "empty").mkdir()
    (real / "shared").symlink_to(tmp_path)
    commit(real, {"a.txt": (_write_text, "3")}, {"outputs": ["a.txt"]})
    assert real.stat().st_mode & 0o777 == 0o755
    assert (real / "empty").is_dir() and (real / "shared").is_symlink()
    # --out . : the current folder cannot be swapped away; files are moved one by one.
    monkeypatch.chdir(real)
    commit(Path("."), {"a.txt": (_write_text, "4")}, {"outputs": ["a.txt"]})
    assert (real / "a.txt").read_text() == "4" and json.loads((real / "manifest.json").read_text())["outputs"] == ["a.txt"]
