"""Briefing documents: text and PDF uploads with their text extracted; oversized files, wrong types,
PDF bombs and page floods refused with a clear message and nothing stored."""

from __future__ import annotations

from typing import Any

import pytest

from server.workspace.documents import MAX_DOCUMENT_BYTES, MAX_PDF_PAGES
from tests.server.conftest import World, make_pdf, scenario_body


@pytest.fixture
def scenario(world: World) -> dict[str, Any]:
    return world.author.ok("POST", "/api/v1/scenarios", json=scenario_body())


def upload(world: World, scenario: dict[str, Any], name: str, data: bytes, content_type: str) -> Any:
    return world.author.post(
        f"/api/v1/scenarios/{scenario['id']}/documents", files={"file": (name, data, content_type)}
    )


def test_text_and_pdf_documents_are_read(world: World, scenario: dict[str, Any]) -> None:
    text = upload(world, scenario, "pricing.txt", "Seats: 40 € each.\n".encode(), "text/plain; charset=utf-8")
    assert text.status_code == 201 and text.json()["text"] == "Seats: 40 € each.\n"
    pdf = make_pdf(["Quarterly review (draft)", "Churn rose 4 points"], compress=True)
    document = upload(world, scenario, "review.pdf", pdf, "application/pdf").json()
    assert document["content_type"] == "application/pdf" and document["size"] == len(pdf)
    assert "Quarterly review (draft)" in document["text"] and "Churn rose 4 points" in document["text"]
    by_extension = upload(world, scenario, "notes.md", b"# Notes", "application/octet-stream")
    assert by_extension.status_code == 201 and by_extension.json()["content_type"] == "text/markdown"
    path = f"/api/v1/scenarios/{scenario['id']}/documents/{document['id']}"
    assert world.reader.ok("GET", path)["text"] == document["text"]
    original = world.reader.get(f"{path}/file")
    assert original.content == pdf and original.headers["content-type"] == "application/pdf"
    assert original.headers["x-content-type-options"] == "nosniff"
    listed = world.reader.ok("GET", f"/api/v1/scenarios/{scenario['id']}")["documents"]
    assert [d["name"] for d in listed] == ["pricing.txt", "review.pdf", "notes.md"]
    stored = list((world.h.data_dir / "documents").rglob("*.pdf"))
    assert len(stored) == 1
    world.author.ok("DELETE", path)
    assert not stored[0].exists() and world.reader.get(path).status_code == 404


@pytest.mark.parametrize(
    ("name", "data", "content_type", "status", "message"),
    [
        ("big.txt", b"a" * (MAX_DOCUMENT_BYTES + 1), "text/plain", 422, "larger than the 5 MB limit"),
        ("empty.txt", b"", "text/plain", 422, "the document is empty"),
        ("image.png", b"\x89PNG\r\n\x1a\n", "image/png", 415, "unsupported document type 'image/png'"),
        ("script.html", b"<script>", "text/html", 415, "unsupported document type"),
        ("fake.pdf", b"hello, I am text", "application/pdf", 422, "not a PDF"),
        ("binary.txt", b"\x00\x01\x02", "text/plain", 422, "not plain text"),
        ("latin1.txt", "café".encode("latin-1"), "text/plain", 422, "not UTF-8"),
        ("broken.pdf", b"%PDF-1.4\n1 0 obj << /Type /Catalog", "application/pdf", 422, "could not be read"),
        ("blank.pdf", make_pdf([" "]), "application/pdf", 422, "no text found"),
        ("long.pdf", make_pdf(["page"] * (MAX_PDF_PAGES + 1)), "application/pdf", 422, "the limit is 50"),
    ],
)
def test_bad_documents_are_refused_and_nothing_is_stored(
    world: World, scenario: dict[str, Any], name: str, data: bytes, content_type: str, status: int, message: str
) -> None:
    response = upload(world, scenario, name, data, content_type)
    assert response.status_code == status and message in response.json()["detail"], response.text
    assert world.author.ok("GET", f"/api/v1/scenarios/{scenario['id']}/documents") == []
    assert not (world.h.data_dir / "documents").exists() or not any((world.h.data_dir / "documents").rglob("*.*"))


def test_a_pdf_bomb_is_refused_quickly(world: World, scenario: dict[str, Any]) -> None:
    bomb = make_pdf(["x"], compress=True, stream=b" " * 60_000_000)  # ~60 KB that inflates to 60 MB
    assert len(bomb) < 100_000
    response = upload(world, scenario, "bomb.pdf", bomb, "application/pdf")
    assert response.status_code == 422 and "PDF bomb" in response.json()["detail"]


def test_document_count_is_limited(world: World, scenario: dict[str, Any]) -> None:
    for index in range(10):
        assert upload(world, scenario, f"{index}.txt", b"note", "text/plain").status_code == 201
    refused = upload(world, scenario, "eleven.txt", b"note", "text/plain")
    assert refused.status_code == 422 and "at most 10 documents" in refused.json()["detail"]


def test_oversized_uploads_are_refused_before_they_are_read(world: World, scenario: dict[str, Any]) -> None:
    huge = upload(world, scenario, "huge.txt", b"a" * (MAX_DOCUMENT_BYTES + 200_000), "text/plain")
    assert huge.status_code == 422 and "larger than the 5 MB limit" in huge.json()["detail"]

    def chunks() -> Any:
        yield b'--x\r\nContent-Disposition: form-data; name="file"; filename="a.txt"\r\n\r\nhello\r\n--x--\r\n'

    unknown_size = world.author.post(
        f"/api/v1/scenarios/{scenario['id']}/documents",
        content=chunks(),
        headers={"content-type": "multipart/form-data; boundary=x"},
    )
    assert unknown_size.status_code == 411
    big_csv = world.member.post("/api/v1/contacts/import", files={"file": ("c.csv", b"n\n" * 600_000, "text/csv")})
    assert big_csv.status_code == 422 and "KB limit" in big_csv.json()["detail"]
    assert world.author.ok("GET", f"/api/v1/scenarios/{scenario['id']}/documents") == []
