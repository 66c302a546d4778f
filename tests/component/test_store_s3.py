"""Collections on object storage (issue 18): a moto S3 server on 127.0.0.1 stands in for
S3. Ingest, ask (retrieval), sync, remove-doc and delete work on it as on the data dir;
two "hosts" (processes with their own data dirs, so no shared lock file) ingest into one
collection at once without losing or duplicating a document; a reader querying while a
writer commits always sees whole files; the credentials never reach any output."""

from __future__ import annotations

import os
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest

pytest.importorskip("moto", reason="the shared-storage tests need the [scale] extra")

from paths import PYTHONPATH
from servers.s3 import ACCESS_KEY, SECRET_KEY, S3Endpoint, moto_s3


@pytest.fixture(scope="session")
def s3() -> S3Endpoint:
    with moto_s3() as endpoint:
        yield endpoint


def _notes(folder: Path, prefix: str, n: int, sentences: int = 6) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    for i in range(n):
        body = " ".join(
            f"{prefix} note {i}.{j}: the {prefix} heron {i} waited by mill {j} for the barge."
            for j in range(sentences + i)
        )
        (folder / f"{prefix}{i:02d}.txt").write_text(body)
    return folder


def _settings(s3: S3Endpoint, uri: str, monkeypatch: pytest.MonkeyPatch):
    from h2otui.config import load_settings

    for k, v in s3.env(uri).items():
        monkeypatch.setenv(k, v)
    return load_settings()


def _h2otui(env: dict[str, str], *args: str, home: Path | None = None) -> subprocess.Popen[str]:
    full = {**os.environ, **env, "PYTHONPATH": PYTHONPATH}
    if home is not None:
        home.mkdir(mode=0o700, parents=True, exist_ok=True)
        full["H2OTUI_HOME"] = str(home)
    return subprocess.Popen(
        [sys.executable, "-m", "h2otui", *args],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=full,
    )  # fmt: skip


def _assert_no_secret(*texts: str) -> None:
    for text in texts:
        assert SECRET_KEY not in text
        assert ACCESS_KEY not in text


def _chunk_ids(col) -> list[str]:
    return col.chunks.search().select(["chunk_id"]).limit(None).to_arrow().column(0).to_pylist()


def test_ingest_ask_sync_remove_delete_on_s3(s3, tmp_path, monkeypatch):
    from h2otui.ingest.pipeline import run_ingest
    from h2otui.qa.collection import list_collections, open_collection
    from h2otui.qa.retrieval import Retriever
    from h2otui.store.collections import CollectionStore

    uri = s3.uri()
    settings = _settings(s3, uri, monkeypatch)
    docs = _notes(tmp_path / "docs", "river", 3)
    (docs / "lighthouse.txt").write_text(
        "The harbor inspection found a purple submarine near the lighthouse at dawn."
    )
    summary = run_ingest([docs], "Team", settings)
    assert summary.ok and len(summary.added) == 4, summary.failed
    # nothing went to the data dir: the tables are on the bucket
    assert not (settings.data_path / "lancedb").exists()
    store = CollectionStore.for_settings(settings)
    assert store.shared and store.names() == ["Team"]
    assert list_collections(settings) == [("Team", store.open("Team").count_chunks())]

    # ask: retrieval over the S3 collection finds the right document
    col = open_collection(settings, "Team")
    hits = Retriever(col).search("what was found near the lighthouse?", top_k=1).passages
    assert hits and Path(hits[0].source).name == "lighthouse.txt"

    # a second workstation (its own data dir) sees the hashes: everything is unchanged
    other_home = tmp_path / "other-host"
    other_home.mkdir(mode=0o700)
    monkeypatch.setenv("H2OTUI_HOME", str(other_home))
    from h2otui.config import load_settings

    again = run_ingest([docs], "Team", load_settings())
    assert len(again.unchanged) == 4 and not again.added and not again.updated

    # sync: a changed file is replaced, a gone one removed
    (docs / "river00.txt").write_text("River note rewritten: the otter counted seven boats.")
    (docs / "river01.txt").unlink()
    synced = run_ingest([docs], "Team", load_settings(), sync=True)
    assert [Path(p).name for p in synced.updated] == ["river00.txt"]
    assert [Path(p).name for p in synced.removed] == ["river01.txt"]
    col = CollectionStore.for_settings(load_settings()).open("Team")
    names = sorted(Path(r["path"]).name for r in col.document_rows())
    assert names == ["lighthouse.txt", "river00.txt", "river02.txt"]
    ids = _chunk_ids(col)
    assert len(ids) == len(set(ids)) == sum(r["chunk_count"] for r in col.document_rows())

    # remove-doc and delete through the CLI, whose output never shows a credential
    env = s3.env(uri)
    p = _h2otui(env, "collections", "remove-doc", "Team", str(docs / "lighthouse.txt"))
    out, err = p.communicate(timeout=120)
    assert p.returncode == 0, err
    p2 = _h2otui(env, "collections", "show", "Team", "--json")
    show_out, show_err = p2.communicate(timeout=120)
    assert p2.returncode == 0, show_err
    assert '"documents": 2' in show_out
    p3 = _h2otui(env, "collections", "delete", "Team", "--yes")
    del_out, del_err = p3.communicate(timeout=120)
    assert p3.returncode == 0, del_err
    assert CollectionStore.for_settings(load_settings()).names() == []
    _assert_no_secret(out, err, show_out, show_err, del_out, del_err)


def test_two_hosts_ingest_into_one_collection_while_a_reader_queries(s3, tmp_path):
    """Two "hosts" (their own data dirs: no lock file is shared, only the bucket) ingest
    into one collection at once, committing file by file, while a reader queries: host A
    folder a, host B folders a and b -- the files of a by both at the same time. Nothing
    is lost or duplicated (the commit lease keeps the hosts' commits apart), and every
    version the reader saw held each file whole or not at all."""
    from h2otui.store.collections import CollectionStore
    from h2otui.store.location import StorageLocation

    uri = s3.uri()
    env = {**s3.env(uri), "_H2OTUI_TEST_FLUSH_ROWS": "1"}  # a commit per file
    loc = StorageLocation(uri, {"endpoint": s3.endpoint, "region": "us-east-1",
                                "allow_http": "true", "aws_access_key_id": ACCESS_KEY,
                                "aws_secret_access_key": SECRET_KEY})  # fmt: skip
    store = CollectionStore(tmp_path / "reader", loc)
    a = _notes(tmp_path / "a", "alpha", 8)
    b = _notes(tmp_path / "b", "beta", 8)
    # the collection exists (one file in it) before the hosts start, so the reader is
    # already polling when their commits land, however slowly this machine opens it
    seed = _notes(tmp_path / "seed", "gamma", 1)
    first = _h2otui(env, "ingest", str(seed), "--collection", "Team", home=tmp_path / "host-a")
    assert first.wait(timeout=300) == 0, first.communicate()[1]
    col = store.open("Team")  # the reader's handle, opened before any host commits
    runs = [
        _h2otui(env, "ingest", str(a), "--collection", "Team", home=tmp_path / "host-a"),
        _h2otui(env, "ingest", str(a), str(b), "--collection", "Team", home=tmp_path / "host-b"),
    ]
    snapshots: list[dict[str, int]] = []
    errors: list[BaseException] = []

    def read() -> None:
        while any(p.poll() is None for p in runs):
            try:
                col.chunks.checkout_latest()
                ids = col.chunks.search().select(["doc_id"]).limit(None).to_arrow()
                counts: dict[str, int] = {}
                for d in ids.column(0).to_pylist():
                    counts[d] = counts.get(d, 0) + 1
                snapshots.append(counts)
                if counts and col.chunks.list_indices():
                    assert col.text_search("heron", 3)
            except BaseException as exc:  # surfaced below
                errors.append(exc)
                return
            time.sleep(0.05)

    reader = threading.Thread(target=read)
    reader.start()
    results = [p.communicate(timeout=300) for p in runs]
    reader.join(timeout=60)
    for p, (out, err) in zip(runs, results, strict=True):
        assert p.returncode == 0, err
        assert "Traceback" not in err
        _assert_no_secret(out, err)
    assert not errors, errors

    col = store.open("Team")
    col.chunks.checkout_latest()
    col.documents.checkout_latest()
    rows = col.document_rows()
    assert sorted(Path(r["path"]).name for r in rows) == sorted(
        [f"alpha{i:02d}.txt" for i in range(8)]
        + [f"beta{i:02d}.txt" for i in range(8)]
        + ["gamma00.txt"]
    )
    assert all(r["status"] == "ok" for r in rows)
    ids = _chunk_ids(col)
    assert len(ids) == len(set(ids)) == sum(r["chunk_count"] for r in rows)
    expected = {r["doc_id"]: r["chunk_count"] for r in rows}
    seen = [s for s in snapshots if s]
    assert len({len(s) for s in seen}) > 1, "the reader never saw a commit land"
    for snap in seen:
        for doc_id, n in snap.items():
            assert n == expected[doc_id], (doc_id, n, expected[doc_id])


def test_bad_credentials_are_reported_without_the_secret(s3, tmp_path):
    env = s3.env(s3.uri())
    env["AWS_SECRET_ACCESS_KEY"] = SECRET_KEY + "-wrong"
    # moto accepts any key; a wrong endpoint port is what a user gets wrong instead
    env["H2OTUI_STORAGE__OPTIONS"] = env["H2OTUI_STORAGE__OPTIONS"].replace(
        s3.endpoint, "http://127.0.0.1:9"
    )
    env["H2OTUI_STORAGE__OPTIONS"] = env["H2OTUI_STORAGE__OPTIONS"].replace(
        '"region"',
        '"timeout": "3s", "connect_timeout": "2s", "client_max_retries": "1", '
        '"client_retry_timeout": "5", "region"',
    )
    p = _h2otui(env, "collections", "list")
    out, err = p.communicate(timeout=120)
    assert p.returncode != 0
    assert "collection storage s3://" in err and "storage.uri" in err
    assert "Traceback" not in err
    _assert_no_secret(out, err)
    assert SECRET_KEY + "-wrong" not in err


def test_plain_http_endpoint_needs_allow_http(s3, monkeypatch):
    from h2otui.store.collections import CollectionStore, StoreError

    settings = _settings(s3, s3.uri(), monkeypatch)
    monkeypatch.setenv("H2OTUI_STORAGE__ALLOW_HTTP", "false")
    from h2otui.config import load_settings

    with pytest.raises(StoreError, match="allow_http"):
        CollectionStore.for_settings(load_settings())
    assert CollectionStore.for_settings(settings).shared
    monkeypatch.setenv("H2OTUI_STORAGE__OPTIONS", f'{{"aws_secret_access_key": "{SECRET_KEY}"}}')
    with pytest.raises(StoreError, match="keep credentials out of config files") as err:
        CollectionStore.for_settings(load_settings())
    _assert_no_secret(str(err.value))


def test_profile_credentials_and_region(tmp_path, monkeypatch):
    from h2otui.store.location import StorageConfigError, profile_credentials

    creds = tmp_path / "credentials"
    creds.write_text(
        f"[team]\naws_access_key_id = {ACCESS_KEY}\naws_secret_access_key = {SECRET_KEY}\n"
    )
    conf = tmp_path / "config"
    conf.write_text("[profile team]\nregion = eu-west-1\n")
    env = {"AWS_SHARED_CREDENTIALS_FILE": str(creds), "AWS_CONFIG_FILE": str(conf)}
    assert profile_credentials("team", env) == {
        "aws_access_key_id": ACCESS_KEY,
        "aws_secret_access_key": SECRET_KEY,
        "region": "eu-west-1",
    }
    with pytest.raises(StorageConfigError, match=r"no profile \[other\]") as err:
        profile_credentials("other", env)
    _assert_no_secret(str(err.value))


def test_commit_lease_serialises_hosts_and_a_crashed_holder_expires(s3, tmp_path):
    """The commit lease (a compare-and-swap on the meta table) keeps two hosts' commits
    apart: the second waits until the first lets go; a crashed holder's lease is taken
    over once it is past its expiry time."""
    from h2otui.store.collections import _LEASE_KEY, CollectionStore
    from h2otui.store.location import StorageLocation

    loc = StorageLocation(s3.uri(), {"endpoint": s3.endpoint, "region": "us-east-1",
                                     "allow_http": "true", "aws_access_key_id": ACCESS_KEY,
                                     "aws_secret_access_key": SECRET_KEY})  # fmt: skip
    host_a = CollectionStore(tmp_path / "a", loc).create("Team", "m", 4)
    host_b = CollectionStore(tmp_path / "b", loc).open("Team")
    log: list[str] = []

    def b_commits() -> None:
        with host_b.commit_lease():
            log.append("b in")

    with host_a.commit_lease():
        waiter = threading.Thread(target=b_commits)
        waiter.start()
        time.sleep(1.0)
        log.append("a out")
    waiter.join(timeout=60)
    assert log == ["a out", "b in"]

    def lease() -> str:
        host_b.meta.checkout_latest()
        rows = host_b.meta.to_arrow().to_pylist()
        return next(r["value"] for r in rows if r["key"] == _LEASE_KEY)

    assert lease() == ""
    host_a.set_meta(_LEASE_KEY, "2000-01-01T00:00:00Z crashed-host:1:dead")
    t0 = time.monotonic()
    with host_b.commit_lease():
        assert "crashed-host" not in lease() and lease() > "2000"
    assert time.monotonic() - t0 < 30 and lease() == ""
