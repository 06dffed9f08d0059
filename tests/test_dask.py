"""engine="dask": the partitions of whole counties on a Dask cluster (two worker processes of
a LocalCluster, as `make test` installs zjfin[dask]): the same screening and the same
files, to the byte, as the in-process engine."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import pandas as pd
import pytest

import zjfin
from zjfin._cli import main
from zjfin._export import export_result
from test_partition import assert_same_files

distributed = pytest.importorskip("distributed")

AS_OF = "2019-03-31"


@pytest.fixture(scope="module")
def client():
    with distributed.LocalCluster(n_workers=2, threads_per_worker=1, processes=True, dashboard_address=":0") as cluster:
        with distributed.Client(cluster) as dask_client:
            yield dask_client


def test_the_dask_engine_writes_the_local_engines_files(client, tmp_path):
    dataset = zjfin.datasets.synthetic_province(20_000, seed=0)
    local = zjfin.screen(dataset, as_of=AS_OF)
    on_dask = zjfin.screen(dataset, as_of=AS_OF, engine="dask", cluster=client, partition_firms=3_000)
    pd.testing.assert_frame_equal(local.screening, on_dask.screening)
    assert on_dask.engine["name"] == "dask" and on_dask.engine["workers"] == 2 and on_dask.engine["partitions"] > 3
    export_result(local, tmp_path / "local", formats=("parquet", "csv"))
    export_result(on_dask, tmp_path / "dask", formats=("parquet", "csv"))
    assert_same_files(tmp_path / "local", tmp_path / "dask", local.screening)
    assert json.loads((tmp_path / "dask" / "manifest.json").read_text(encoding="utf-8"))["engine"]["name"] == "dask"


def test_counties_linked_across_partitions_on_dask(client):
    from test_partition import _cross_county_province

    dataset, _ = _cross_county_province()
    local = zjfin.screen(dataset, as_of=AS_OF)
    on_dask = zjfin.screen(dataset, as_of=AS_OF, engine="dask", cluster=client, partition_firms=1)
    pd.testing.assert_frame_equal(local.screening, on_dask.screening)
    pd.testing.assert_frame_equal(local.tables["circles"], on_dask.tables["circles"])


def test_zjfin_screen_engine_dask_on_a_local_cluster(tmp_path, capsys):
    data = tmp_path / "input"
    zjfin.write_dataset(zjfin.datasets.synthetic_province(3_000, seed=1), data)
    common = ["screen", str(data), "--as-of", AS_OF, "--formats", "parquet,csv", "-q"]
    assert main([*common, "--out", str(tmp_path / "local")]) == 0
    assert main([*common, "--out", str(tmp_path / "dask"), "--engine", "dask", "--workers", "2",
                 "--memory-limit", "1GB", "--partition-firms", "500"]) == 0
    assert_same_files(tmp_path / "local", tmp_path / "dask", pd.read_parquet(tmp_path / "local" / "screening.parquet"))
    # The screening's parts are what `zjfin diff` reads from the output folder.
    assert main(["diff", str(tmp_path / "local"), str(tmp_path / "dask"), "--out", str(tmp_path / "diff"), "-q"]) == 0
    assert pd.read_csv(tmp_path / "diff" / "changes.csv").empty
    # ... and the bulletin: the same from either layout.
    from zjfin._report import bulletin_from_folder

    for name, table in bulletin_from_folder(tmp_path / "local").tables.items():
        pd.testing.assert_frame_equal(table, bulletin_from_folder(tmp_path / "dask").tables[name], obj=name)
    record = json.loads((tmp_path / "dask" / "manifest.json").read_text(encoding="utf-8"))["engine"]
    assert record["name"] == "dask" and record["workers"] == 2 and record["partition_firms"] == 500
    # The layout is the user's choice either way; the county files are named as their folder.
    capsys.readouterr()
    assert main([*common[:-1], "--out", str(tmp_path / "local-by-county"), "--by-county"]) == 0
    counties = len(list((tmp_path / "local-by-county" / "screening").glob("*.parquet")))
    assert f"screening/ ({counties} files, one per county)" in capsys.readouterr().out and counties > 3
    assert_same_files(tmp_path / "local", tmp_path / "local-by-county",
                      pd.read_parquet(tmp_path / "local" / "screening.parquet"))


@pytest.mark.parametrize("flags,expected", [
    (["--workers", "2"], "--workers"),
    (["--read-on", "workers"], "--read-on"),
    (["--engine", "dask", "--scheduler", "tcp://127.0.0.1:1", "--workers", "2"], "--scheduler"),
])
def test_dask_flags_need_the_dask_engine_and_one_cluster(tmp_path, capsys, flags, expected):
    data = tmp_path / "input"
    zjfin.write_dataset(zjfin.datasets.synthetic_province(300, seed=1), data)
    code = main(["screen", str(data), "--as-of", AS_OF, "--out", str(tmp_path / "out"), *flags])
    assert code == 2 and expected in capsys.readouterr().err
    assert not (tmp_path / "out").exists()


def test_an_unknown_engine_a_missing_dask_or_no_scheduler_is_a_clear_error(monkeypatch):
    import zjfin._dask

    dataset = zjfin.datasets.synthetic_province(300, seed=1)
    monkeypatch.setattr(zjfin._dask, "_CONNECT_SECONDS", 1)  # nothing answers there: no need to wait 10 s
    with pytest.raises(zjfin.ParameterError, match="tcp://127.0.0.1:9"):
        zjfin.screen(dataset, as_of=AS_OF, engine="dask", cluster="tcp://127.0.0.1:9")
    with pytest.raises(zjfin.ParameterError, match="engine"):
        zjfin.screen(dataset, as_of=AS_OF, engine="spark")
    with pytest.raises(zjfin.ParameterError, match="partition_firms"):
        zjfin.screen(dataset, as_of=AS_OF, engine="dask", partition_firms=0)
    monkeypatch.setitem(sys.modules, "distributed", None)  # as if zjfin[dask] were not installed
    with pytest.raises(zjfin.ParameterError, match=r"zjfin\[dask\]"):
        zjfin.screen(dataset, as_of=AS_OF, engine="dask")


def _square_noted(item, folder):
    (Path(folder) / f"done-{item}").touch()  # before the result goes back to the client
    return item * item


def test_partitions_go_to_the_cluster_a_few_at_a_time(client, tmp_path):
    from zjfin._dask import OnDask

    on_dask = OnDask(client, in_flight=2)
    done_when_made = []

    def partitions():
        for item in range(12):
            done_when_made.append(len(list(tmp_path.glob("done-*"))))
            yield item

    assert on_dask.map(_square_noted, partitions(), folder=str(tmp_path)) == [i * i for i in range(12)]
    # Partition k is made only once k − 2 results are back: never the whole province at once.
    assert all(done >= k - on_dask.in_flight for k, done in enumerate(done_when_made))


def _dies_once(item, marker_folder):
    import os

    marker = Path(marker_folder) / str(item)
    if item == 3 and not marker.exists():
        marker.touch()
        os._exit(1)  # the worker process is lost, as one killed over its memory limit is
    return item * item


def _always_dies(item, marker_folder):
    import os

    if item == 3:
        os._exit(1)
    return item


def test_a_partition_whose_worker_is_lost_is_sent_again_and_twice_lost_is_a_clear_error(tmp_path):
    import dask

    from zjfin._dask import OnDask

    # No rescheduling by Dask itself: what is tested is zjfin's own second try.
    with dask.config.set({"distributed.scheduler.allowed-failures": 0}):
        with distributed.LocalCluster(n_workers=2, threads_per_worker=1, processes=True,
                                      dashboard_address=":0") as cluster, distributed.Client(cluster) as dask_client:
            on_dask = OnDask(dask_client)
            assert on_dask.map(_dies_once, range(6), marker_folder=str(tmp_path)) == [i * i for i in range(6)]
            assert (tmp_path / "3").exists()
            # Partition 4 kills its worker each time (a partition in flight on the same worker
            # may be the one lost twice first).
            with pytest.raises(zjfin.ClusterError, match=r"lost partition \d+ twice.*--memory-limit"):
                on_dask.map(_always_dies, range(6), marker_folder=str(tmp_path))


def _square(item, power):
    return item ** power["power"]


@pytest.mark.parametrize("fails", [1, 2])
def test_a_worker_lost_while_a_partition_is_sent_is_passed_over(client, monkeypatch, fails):
    """The scheduler may still choose a worker lost a moment ago: the scatter's connection is
    refused until it times out (an OSError, not a lost future). Once: sent again to the
    workers left; twice: a ClusterError naming the partition, not Dask's OSError."""
    from zjfin._dask import OnDask

    real, calls = client.scatter, {"partition": 0, "shared": 0}

    def refused_first(data, broadcast=False, **options):
        kind = "shared" if broadcast else "partition"
        calls[kind] += 1
        if calls[kind] <= fails:
            raise OSError("Timed out trying to connect to tcp://127.0.0.1:1 after 30 s")
        return real(data, broadcast=broadcast, **options)

    monkeypatch.setattr(client, "scatter", refused_first)
    if fails == 1:
        assert OnDask(client).map(_square, range(5), power={"power": 2}) == [0, 1, 4, 9, 16]
        assert calls == {"partition": 6, "shared": 2}
    else:
        with pytest.raises(zjfin.ClusterError, match="lost the values every partition shares twice.*OSError"):
            OnDask(client).map(_square, range(5), power={"power": 2})
        calls.update(shared=fails)  # the shared values go through now: the first partition is refused twice
        with pytest.raises(zjfin.ClusterError, match="lost partition 1 twice.*OSError"):
            OnDask(client).map(_square, range(5), power={"power": 2})


def test_no_firm_to_screen_starts_no_cluster():
    dataset = zjfin.datasets.synthetic_province(300, seed=9)
    tables = {"firms": dataset["firms"].drop(columns="_row"),
              "financials": dataset["financials"].iloc[:0].drop(columns="_row")}
    result = zjfin.screen(zjfin.Dataset(tables), as_of=AS_OF, engine="dask")
    assert len(result.screening) == 0
    assert result.engine == {"name": "dask", "partitions": 0, "partition_firms": 100_000, "workers": 0}


def _look_up(item, figures):
    return figures["mujun"] + item


def test_common_mappings_are_sent_whole_and_never_mixed_up(client):
    """Two maps whose common argument is a dict with the same keys get each their own (a
    dict scattered as such would be stored under its keys: the second map would read the first's)."""
    from zjfin._dask import OnDask

    on_dask = OnDask(client)
    assert on_dask.map(_look_up, range(3), figures={"mujun": 1}) == [1, 2, 3]
    assert on_dask.map(_look_up, range(3), figures={"mujun": 10}) == [10, 11, 12]


def _fails_or_sleeps(item, folder):
    import time

    if item == 0:
        raise ValueError("a bug in partition 1")
    time.sleep(0.3)
    (Path(folder) / f"done-{item}").touch()
    return item


def test_a_failed_partition_stops_the_others_and_starts_no_cluster_for_nothing(client, tmp_path):
    import time

    from zjfin._dask import OnDask

    on_dask = OnDask(client, in_flight=4)
    with pytest.raises(ValueError, match="a bug in partition 1"):
        on_dask.map(_fails_or_sleeps, range(40), folder=str(tmp_path))
    time.sleep(1.5)  # what was still in flight has had the time to finish, had it not been cancelled
    assert len(list(tmp_path.glob("done-*"))) <= 2  # the two running when partition 1 failed; not the queued
    assert not client.processing() or not any(client.processing().values())

    started = []
    lazy = OnDask(lambda: started.append(1))
    assert lazy.map(_look_up, iter([]), figures={"mujun": 1}) == [] and not started


def test_groups_validated_on_the_workers_give_the_whole_report(client):
    """The firms and statements of each group validated on a worker (the statements of a firm
    held in another group handed over there), the linked tables here: the whole's report."""
    import numpy as np

    from test_validate_groups import HOSTILE, WHOLE, _random_groups, _same
    from zjfin._dask import OnDask
    from zjfin._validate_groups import validate_groups

    groups = _random_groups(HOSTILE, np.random.default_rng(7), 3)
    _same(validate_groups(HOSTILE, groups, as_of="2019-03-31", today="2026-12-05", mapper=OnDask(client)), WHOLE)


def test_a_province_read_county_by_county_on_the_workers_gives_the_whole_files(client, tmp_path):
    """Firms and statements in county files, read here a county at a time and validated and
    framed on the workers: the local engine's files to the byte (and the command line's, which
    reads them whole)."""
    from test_partition import assert_same_files, hostile_parts
    from zjfin._cli import main
    from zjfin._export import export_result

    folder = hostile_parts(tmp_path / "in")
    whole = zjfin.screen(zjfin.read_dataset(folder), as_of=AS_OF)
    export_result(whole, tmp_path / "whole", formats=("parquet", "csv"))
    on_dask = zjfin.screen(zjfin.read_dataset(folder, lazy=True), as_of=AS_OF, engine="dask", cluster=client,
                           partition_firms=400)
    export_result(on_dask, tmp_path / "dask", formats=("parquet", "csv"))
    assert on_dask._screening is None  # its rows went from the workers to files, a partition at a time
    assert_same_files(tmp_path / "whole", tmp_path / "dask", whole.screening)
    assert main(["screen", str(folder), "--as-of", AS_OF, "--out", str(tmp_path / "cli"), "--engine", "dask",
                 "--scheduler", client.scheduler.address, "--formats", "parquet,csv", "-q"]) == 1
    assert_same_files(tmp_path / "whole", tmp_path / "cli", whole.screening)


def test_a_large_argument_goes_straight_to_a_worker(client):
    """Data given to a task (a partition's table rows, the network's columns for it) is
    scattered first, not put inside the task: Dask sends a task through the scheduler and
    warned 47 times in a 4M-firm run ("Sending large graph")."""
    import warnings

    import numpy as np

    from zjfin._dask import OnDask

    mapper = OnDask(client)
    rows = pd.DataFrame({"x": np.arange(2_000_000, dtype=float)})  # 16 MB
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        handles = [mapper.submit(len, rows), mapper.submit(lambda frames: len(frames["a"]), frames={"a": rows})]
        assert mapper.gather(handles) == [2_000_000, 2_000_000]
    # A large value holding a handle is sent as it is, so the task gets what the handle names.
    handle = mapper.put(np.arange(3))
    kinds = mapper.submit(lambda pair: [type(v).__name__ for v in pair], [handle, np.zeros(300_000)])
    assert mapper.gather([kinds]) == [["ndarray", "ndarray"]]


@pytest.mark.parametrize("flags,on_workers", [([], True), (["--read-on", "here"], False)])
def test_with_an_existing_cluster_county_parts_are_read_on_its_workers(tmp_path, client, monkeypatch, flags, on_workers):
    """--scheduler (a cluster elsewhere): firms and statements in county parts are read on its
    workers unless --read-on here; a local cluster's workers share this machine's memory, so
    there they are read here unless --read-on workers."""
    import zjfin._read

    folder = tmp_path / "in"
    zjfin.datasets.write_partitioned_province(folder, 600, seed=2)
    asked, read = [], zjfin._read.read_dataset
    monkeypatch.setattr(zjfin._read, "read_dataset", lambda *a, **k: asked.append(k.get("lazy")) or read(*a, **k))
    assert main(["screen", str(folder), "--as-of", AS_OF, "--out", str(tmp_path / "out"), "--engine", "dask",
                 "--scheduler", client.scheduler.address, "--formats", "parquet", "-q", *flags]) == 0
    assert asked == [on_workers]
    assert json.loads((tmp_path / "out" / "manifest.json").read_text(encoding="utf-8"))["firms"]["screened"] == 600
