"""The command line: commands, exit codes 0/1/2/3, the output layout, atomic writes."""

import errno
import json
import resource
import subprocess
import sys

import pandas as pd
import pyarrow.parquet as pq
import pytest

import zjfin
from builders import minimal_tables
from zjfin._cli import main
from zjfin._policy import Policy
from zjfin._read import Dataset, write_dataset


@pytest.fixture
def data_dir(tmp_path):
    folder = tmp_path / "data"
    write_dataset(Dataset(minimal_tables()), folder, format="csv", headers="zh")
    return folder


def test_help_lists_commands(capsys):
    with pytest.raises(SystemExit) as exc:
        main(["--help"])
    assert exc.value.code == 0
    out = capsys.readouterr().out
    for command in ("demo", "validate", "screen", "schema", "policy"):
        assert command in out


def test_console_script_runs():
    done = subprocess.run([sys.executable, "-m", "zjfin", "schema"], capture_output=True, text=True)
    assert done.returncode == 0 and "financials" in done.stdout


def test_schema_command(capsys):
    assert main(["schema", "financials"]) == 0
    out = capsys.readouterr().out
    assert "营业收入" in out and "period_end" in out
    assert main(["schema", "firms", "--json"]) == 0
    assert json.loads(capsys.readouterr().out)["table"] == "firms"
    assert main(["schema", "nonsense"]) == 2
    assert "unknown table 'nonsense'" in capsys.readouterr().err


def test_policy_default_round_trips(capsys, tmp_path):
    assert main(["policy", "--default"]) == 0
    text = capsys.readouterr().out
    assert text.startswith("# zjfin screening policy")
    assert Policy.from_toml(text) == Policy.default()
    bad = tmp_path / "p.toml"
    bad.write_text("[validation]\nbalance_tolerance = 'loose'\n", encoding="utf-8")
    assert main(["policy", "--check", str(bad)]) == 2
    assert "validation.balance_tolerance" in capsys.readouterr().err
    bad.write_text("[bonds]\nhorizon = 3\n[nonsense]\nx = 1\n", encoding="utf-8")
    assert main(["policy", "--check", str(bad)]) == 2
    assert "unknown policy key 'bonds.horizon'; known keys here: high_coverage_below" in capsys.readouterr().err


def test_screen_writes_the_layout(data_dir, tmp_path, capsys):
    out = tmp_path / "out"
    assert main(["-q", "screen", str(data_dir), "--as-of", "2019-03-31", "--out", str(out)]) == 0
    assert sorted(p.name for p in out.iterdir()) == ["findings.parquet", "issues.csv", "lists", "manifest.json", "rejected.csv",
                                                     "screening.parquet", "summary.csv"]
    assert sorted(p.name for p in (out / "lists").iterdir()) == sorted(
        [f"{name}.{ext}" for name in ("relief", "quality", "sme_funding", "watch") for ext in ("parquet", "csv")] + ["三张名单.xlsx"])
    manifest = json.loads((out / "manifest.json").read_text(encoding="utf-8"))
    assert manifest["firms"] == {"read": 3, "screened": 3, "not_screened": 0}
    assert manifest["as_of"] == "2019-03-31"
    assert manifest["policy"] == Policy.default().to_dict()
    assert {"read", "validate", "features", "assemble"} <= set(manifest["timings"])
    # The high-water mark after each stage: never falling, and what this process reached.
    peaks = [manifest["peak_memory_mb"][s] for s in ("read", "validate", "features", "assemble")]
    assert peaks == sorted(peaks) and 10 < peaks[-1] <= resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024 + 1
    assert manifest["inputs"]["firms"]["rows_read"] == 3 and len(manifest["inputs"]["firms"]["sha256"]) == 64
    assert {r["risk"] for r in manifest["risks_switched_off"]} == {"bond_risk", "liquidity_risk", "pledge_risk", "guarantee_risk"}
    screening = pq.read_table(out / "screening.parquet").to_pandas()
    assert len(screening) == 3 and set(screening["size_class"]) == {"small"}
    assert (out / "issues.csv").read_bytes().startswith(b"\xef\xbb\xbf")


def test_rejected_rows_give_exit_1(data_dir, tmp_path):
    firms = data_dir / "firms.csv"
    text = firms.read_text(encoding="utf-8-sig").splitlines()
    fields = text[0].count(",") + 1  # as many fields as the header
    text.append("9133010212345678,坏代码企业,330102,C1711,10" + "," * (fields - 5))
    firms.write_text("\n".join(text) + "\n", encoding="utf-8-sig")
    out = tmp_path / "out"
    assert main(["-q", "screen", str(data_dir), "--as-of", "2019-03-31", "--out", str(out)]) == 1
    rejected = pd.read_csv(out / "rejected.csv", encoding="utf-8-sig", dtype=str)
    assert rejected[["table", "row", "code"]].values.tolist() == [["firms", "5", "uscc_malformed"]]
    manifest = json.loads((out / "manifest.json").read_text(encoding="utf-8"))
    assert manifest["firms"] == {"read": 4, "screened": 3, "not_screened": 1}


@pytest.mark.parametrize("damage,message", [
    (lambda d: (d / "financials.csv").unlink(), "required table 'financials' is missing"),
    (lambda d: (d / "firms.csv").write_text("企业名称,行政区划代码\n甲,330102\n", encoding="utf-8"), "missing required column(s): firm_id"),
    (lambda d: (d / "firms.csv").write_bytes(b"\xff\xfe\xfa\x00\x81\x30garbage\xff"), "firms.csv"),
    (lambda d: (d / "firms.csv").write_text("", encoding="utf-8"), "is empty"),
    # An unreadable table is not an absent one (it would switch the guarantee risk off).
    (lambda d: (d / "guarantees").mkdir(), "names a table but holds no .parquet file"),
    (lambda d: (d / "guarantees.csv").mkdir(), "names table 'guarantees' but is a folder"),
    (lambda d: (d / "guarantees.csv").symlink_to(d / "gone.csv"),
     "names table 'guarantees' but is a broken link"),
])
def test_unusable_input_exits_2_and_writes_nothing(data_dir, tmp_path, capsys, damage, message):
    damage(data_dir)
    out = tmp_path / "out"
    assert main(["-q", "screen", str(data_dir), "--as-of", "2019-03-31", "--out", str(out)]) == 2
    assert message in capsys.readouterr().err
    assert not out.exists()


def test_bad_arguments_exit_2(data_dir, tmp_path, capsys):
    assert main(["-q", "screen", str(data_dir), "--as-of", "not-a-date", "--out", str(tmp_path / "o")]) == 2
    assert "as_of must be a date" in capsys.readouterr().err
    assert main(["-q", "screen", str(data_dir), "--as-of", "2019-03-31", "--out", str(tmp_path / "o"), "--unit", "euro"]) == 2
    assert main(["-q", "screen", str(data_dir), "--as-of", "2019-03-31", "--out", str(tmp_path / "o"), "--jobs", "0"]) == 2
    assert "n_jobs must be a whole number ≥ 1 or None, got 0" in capsys.readouterr().err
    with pytest.raises(SystemExit) as exc:
        main(["screen", str(data_dir)])
    assert exc.value.code == 2


def test_validate_command(data_dir, tmp_path, capsys):
    out = tmp_path / "v"
    assert main(["-q", "validate", str(data_dir), "--out", str(out)]) == 0
    assert "firms read 3 = screened 3 + not screened 0" in capsys.readouterr().out
    assert (out / "issues.csv").exists() and (out / "rejected.csv").exists()


def test_same_inputs_same_bytes(data_dir, tmp_path):
    outs = [tmp_path / "a", tmp_path / "b"]
    for out, jobs in zip(outs, ("1", "2")):  # threads or not, the same bytes
        assert main(["-q", "screen", str(data_dir), "--as-of", "2019-03-31", "--out", str(out), "--jobs", jobs]) == 0
    files = sorted(p.relative_to(outs[0]) for p in outs[0].rglob("*") if p.is_file() and p.name != "manifest.json")
    assert len(files) >= 13  # the screening, findings, summary and every list file, workbook included
    for name in files:
        assert (outs[0] / name).read_bytes() == (outs[1] / name).read_bytes(), name
    manifests = [json.loads((o / "manifest.json").read_text(encoding="utf-8")) for o in outs]
    for m in manifests:
        timings, peaks = m.pop("timings"), m.pop("peak_memory_mb")
        assert set(peaks) <= set(timings)  # one per stage (wall-time records have none)
    assert manifests[0] == manifests[1]


def test_failed_export_leaves_previous_outputs(data_dir, tmp_path, monkeypatch, capsys):
    out = tmp_path / "out"
    assert main(["-q", "screen", str(data_dir), "--as-of", "2019-03-31", "--out", str(out)]) == 0
    before = {p.relative_to(out): p.read_bytes() for p in out.rglob("*") if p.is_file()}

    import zjfin._export

    def explode(frame, path):
        path.write_bytes(b"half")
        raise OSError(errno.ENOSPC, "No space left on device", str(path))

    monkeypatch.setattr(sys.modules["zjfin._export"], "write_csv", explode)
    assert main(["-q", "screen", str(data_dir), "--as-of", "2018-12-31", "--out", str(out)]) == 2
    err = capsys.readouterr().err
    assert "No space left on device (disk full)" in err and "Traceback" not in err and err.count("\n") == 1
    after = {p.relative_to(out): p.read_bytes() for p in out.rglob("*") if p.is_file()}
    assert after == before  # nothing replaced, no temporary folder left behind


@pytest.mark.parametrize("error,code,words", [
    (OSError(errno.EROFS, "Read-only file system", "out/manifest.json"), 2, "cannot write out/manifest.json: Read-only file system"),
    (MemoryError(), 2, "out of memory"),
    (ZeroDivisionError("division by zero"), 3, "internal error (ZeroDivisionError"),
])
def test_every_failure_to_finish_is_one_line_and_a_documented_code(data_dir, tmp_path, monkeypatch, capsys, error, code, words):
    def fail(*args, **kwargs):
        raise error

    monkeypatch.setattr(zjfin.ScreeningResult, "export", fail)
    args = ["screen", str(data_dir), "--as-of", "2019-03-31", "--out", str(tmp_path / "o"), "-q"]
    assert main(args) == code
    err = capsys.readouterr().err
    assert words in err and "Traceback" not in err and err.count("\n") == 1
    assert main([*args, "--debug"]) == code
    assert "Traceback" in capsys.readouterr().err


def test_formats_choose_the_list_files(data_dir, tmp_path, capsys):
    out = tmp_path / "out"
    assert main(["-q", "screen", str(data_dir), "--as-of", "2019-03-31", "--out", str(out), "--formats", "parquet"]) == 0
    assert sorted(p.suffix for p in (out / "lists").iterdir()) == [".parquet"] * 4
    with pytest.raises(SystemExit):
        main(["-q", "screen", str(data_dir), "--as-of", "2019-03-31", "--out", str(out), "--formats", "pdf"])
    assert "formats must be" in capsys.readouterr().err



@pytest.mark.parametrize("command", [
    ["demo", "--firms", "200", "--out", "{out}"],
    ["validate", "{data}", "--out", "{out}"],
    ["screen", "{data}", "--as-of", "2019-03-31", "--out", "{out}"],
    ["diff", "{out}", "{out}", "--out", "{out}/diff"],
    ["schema", "firms"],
    ["policy", "--default"],
])
def test_quiet_before_or_after_the_subcommand(command, tmp_path, capsys):
    data = tmp_path / "data"
    write_dataset(Dataset(minimal_tables(3)), data, format="csv")
    main(["-q", "screen", str(data), "--as-of", "2019-03-31", "--out", str(tmp_path / "out")])
    filled = [part.format(out=tmp_path / "out", data=data) for part in command]
    for argv in (["-q", *filled], [*filled, "-q"]):
        capsys.readouterr()
        assert main(argv) in (0, 1), argv
        err = capsys.readouterr().err
        assert "error" not in err and "[" not in err, (argv, err)  # no progress lines, no refusal


def test_ids_any_on_the_command_line(tmp_path, capsys):
    tables = minimal_tables(2)
    for frame in tables.values():
        frame["firm_id"] = ["T" + "0" * 32, "CUST-17"]
    data = tmp_path / "data"
    write_dataset(Dataset(tables), data, format="csv")
    # Every firm rejected: no result, exit 2 with the way out.
    assert main(["-q", "screen", str(data), "--as-of", "2019-03-31", "--out", str(tmp_path / "a")]) == 2
    assert "add --ids any" in capsys.readouterr().err
    assert main(["-q", "screen", str(data), "--as-of", "2019-03-31", "--out", str(tmp_path / "b"), "--ids", "any"]) == 0
    manifest = json.loads((tmp_path / "b" / "manifest.json").read_text(encoding="utf-8"))
    assert manifest["firms"]["screened"] == 2 and manifest["policy"]["validation"]["firm_id_format"] == "any"


@pytest.mark.parametrize("section,line,key", [
    ("bonds", 'min_rating = "ZZZ"', "bonds.min_rating"),
    ("network", 'seed_level = "extreme"', "network.seed_level"),
    ("distress", "z2_weights = [1.0, 2.0]", "distress.z2_weights"),
    ("pledges", "days_per_year = 0", "pledges.days_per_year"),
    ("output", 'parquet_compression = "lzma"', "output.parquet_compression"),
])
def test_bad_policy_values_exit_2_naming_the_key(data_dir, tmp_path, capsys, section, line, key):
    policy = tmp_path / "p.toml"
    policy.write_text(f"[{section}]\n{line}\n", encoding="utf-8")
    assert main(["-q", "screen", str(data_dir), "--as-of", "2019-03-31", "--out", str(tmp_path / "o"), "--policy", str(policy)]) == 2
    err = capsys.readouterr().err
    assert key in err and "Traceback" not in err and not (tmp_path / "o").exists()


@pytest.mark.parametrize("text", ['{"format": "zjfin.DefaultModel", "coef": [NaN]}', "[" * 6000 + "]" * 6000])
def test_a_hostile_model_file_exits_2(data_dir, tmp_path, capsys, text):
    model = tmp_path / "m.json"
    model.write_text(text, encoding="utf-8")
    assert main(["-q", "screen", str(data_dir), "--as-of", "2019-03-31", "--out", str(tmp_path / "o"), "--model", str(model)]) == 2
    err = capsys.readouterr().err
    assert "m.json" in err and "Traceback" not in err


def test_screen_again_from_inside_the_output_folder(data_dir, tmp_path, monkeypatch, capsys):
    """A second run started from a folder inside OUT, with OUT given relatively: the run is
    swapped into place (the shell's folder goes with the old run) and the closing counts are
    still read from the new manifest."""
    out = tmp_path / "out"
    assert main(["-q", "screen", str(data_dir), "--as-of", "2019-03-31", "--out", str(out), "--formats", "csv"]) == 0
    monkeypatch.chdir(out / "lists")
    capsys.readouterr()
    assert main(["-q", "screen", str(data_dir), "--as-of", "2019-03-31", "--out", "..", "--formats", "csv"]) == 0
    assert "lists: " in capsys.readouterr().out
    assert json.loads((out / "manifest.json").read_text(encoding="utf-8"))["counts"]["lists"]
