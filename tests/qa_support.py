"""Helpers for the document-QA tests: collections with known facts, written straight
into the store's schema (real LanceDB, real all-MiniLM-L6-v2 vectors)."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from pathlib import Path
from typing import Any


@dataclass
class Chunk:
    source: str
    text: str
    page: int | None = None
    start_time: float | None = None
    end_time: float | None = None
    part_index: int = 0
    chunk_index: int = 0
    kind: str = "text"


def write_collection(data_dir: Path, name: str, chunks: list[Chunk], *, fts: bool = True) -> Any:
    """Create collection ``name`` holding ``chunks`` (one part per (source, part_index))."""
    from h2otui.qa.embed import query_embedder
    from h2otui.store.collections import CollectionStore

    embedder = query_embedder("all-MiniLM-L6-v2", data_dir=data_dir)
    store = CollectionStore(data_dir)
    col = store.create(name, "all-MiniLM-L6-v2", embedder.dim, "int8")
    vectors = embedder.encode([c.text for c in chunks])
    rows = []
    offsets: dict[tuple[str, int], int] = {}
    parts: dict[tuple[str, int], list[Chunk]] = {}
    for c, v in zip(chunks, vectors, strict=True):
        key = (c.source, c.part_index)
        start = offsets.get(key, 0)
        offsets[key] = start + len(c.text) + 1
        parts.setdefault(key, []).append(c)
        doc_id = hashlib.sha1(c.source.encode()).hexdigest()[:16]
        rows.append(
            {
                "chunk_id": f"{doc_id}:{c.part_index}:{c.chunk_index}",
                "doc_id": doc_id,
                "source": c.source,
                "text": c.text,
                "vector": v.tolist(),
                "page": c.page,
                "start_time": c.start_time,
                "end_time": c.end_time,
                "frame_time": None,
                "part_index": c.part_index,
                "chunk_index": c.chunk_index,
                "char_start": start,
                "char_end": start + len(c.text),
                "kind": c.kind,
            }
        )
    col.chunks.add(rows)
    part_rows = []
    for (source, idx), members in parts.items():
        first = members[0]
        doc_id = hashlib.sha1(source.encode()).hexdigest()[:16]
        part_rows.append(
            {
                "part_id": f"{doc_id}:{idx}",
                "doc_id": doc_id,
                "source": source,
                "part_index": idx,
                "page": first.page,
                "start_time": first.start_time,
                "end_time": members[-1].end_time,
                "frame_time": None,
                "kind": first.kind,
                "text": " ".join(m.text for m in sorted(members, key=lambda m: m.chunk_index)),
            }
        )
    col.parts.add(part_rows)
    doc_rows = []
    for source in dict.fromkeys(c.source for c in chunks):
        doc_id = hashlib.sha1(source.encode()).hexdigest()[:16]
        doc_rows.append(
            {
                "doc_id": doc_id,
                "path": source,
                "source": source,
                "sha256": doc_id,
                "size": 1,
                "mtime": 0.0,
                "parser": "test",
                "status": "ok",
                "error": None,
                "warnings": None,
                "chunk_count": sum(1 for c in chunks if c.source == source),
                "part_count": len({c.part_index for c in chunks if c.source == source}),
                "pages": None,
                "media_seconds": None,
                "ingested_at": None,
                "embedding_model": "all-MiniLM-L6-v2",
            }
        )
    col.documents.add(doc_rows)
    if fts:
        col.ensure_fts_index()
    return store.open(name)


FILLER_TOPICS = [
    "The cafeteria menu rotates weekly and includes soup, salad and a hot dish.",
    "Parking permits are renewed every January at the facilities office.",
    "The annual picnic takes place by the lake when the weather allows.",
    "Printers on the third floor need a badge to release print jobs.",
    "The library lends laptops to visitors for up to two hours.",
    "Fire drills are announced a day in advance by email.",
    "The gym in the basement opens at six in the morning.",
    "Meeting rooms can be booked through the shared calendar.",
]


def facts_corpus(root: str = "/docs") -> list[Chunk]:
    """Distinct facts in distinct documents, plus filler, with a PDF page and an audio span."""
    chunks = [
        Chunk(
            f"{root}/fleet.txt",
            "The delivery fleet consists of 42 electric vans, most of them parked at the Rotterdam depot.",
        ),
        Chunk(
            f"{root}/report.pdf",
            "Introduction to the annual report of the research lab.",
            page=1,
            part_index=0,
        ),
        Chunk(
            f"{root}/report.pdf",
            "Budget overview: spending stayed flat compared to last year.",
            page=2,
            part_index=1,
        ),
        Chunk(
            f"{root}/report.pdf",
            "The Zephyr project was led by Dr. Amara Okafor, who joined the lab in 2019.",
            page=3,
            part_index=2,
        ),
        Chunk(
            f"{root}/talk.mp3",
            "Welcome everyone to the quarterly all-hands meeting.",
            start_time=0.0,
            end_time=9.5,
            part_index=0,
            kind="segment",
        ),
        Chunk(
            f"{root}/talk.mp3",
            "Our customer churn fell to 3.1 percent after the pricing change in March.",
            start_time=192.0,
            end_time=201.0,
            part_index=1,
            kind="segment",
        ),
        Chunk(
            f"{root}/vault.txt",
            "Maintenance log: the backup generator was serviced, access code QZX-7781 was rotated.",
        ),
    ]
    for i, text in enumerate(FILLER_TOPICS):
        chunks.append(Chunk(f"{root}/misc{i}.txt", text))
    return chunks
