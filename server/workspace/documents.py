"""Briefing documents: text or PDF uploads, checked and turned into text the persona and the learner can read.

Uploads are untrusted. Limits: the file size, the PDF page count, the decompressed size of every PDF
stream (a small file can inflate to gigabytes: a "PDF bomb"), the extracted text and the time spent.
"""

from __future__ import annotations

import io
import logging
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from pypdf import PdfReader, apply_configuration, get_configuration
from pypdf.errors import LimitReachedError, PyPdfError

log = logging.getLogger(__name__)

MAX_DOCUMENT_BYTES = 5 * 1024 * 1024
MAX_PDF_PAGES = 50
MAX_STREAM_BYTES = 20 * 1024 * 1024  # decompressed, per PDF stream
MAX_TEXT_CHARS = 200_000
MAX_EXTRACT_SECONDS = 10.0
MAX_DOCUMENTS_PER_SCENARIO = 10
TEXT_TYPES = {"text/plain": ".txt", "text/markdown": ".md", "text/x-markdown": ".md"}
PDF_TYPE = "application/pdf"
EXTENSIONS = {".txt": "text/plain", ".md": "text/markdown", ".pdf": PDF_TYPE}


class DocumentError(ValueError):
    """The upload is refused; the message says why (HTTP 422, or 415 when `unsupported_type`)."""

    def __init__(self, message: str, *, unsupported_type: bool = False) -> None:
        super().__init__(message)
        self.unsupported_type = unsupported_type


@dataclass(frozen=True)
class ExtractedDocument:
    content_type: str
    text: str
    extension: str
    pages: int = 0


def content_type_of(declared: str | None, filename: str) -> str:
    """The checked content type: the declared one if we accept it, else the file extension's."""
    declared = (declared or "").split(";")[0].strip().lower()
    if declared in TEXT_TYPES or declared == PDF_TYPE:
        return declared
    if declared in ("", "application/octet-stream"):
        suffix = Path(filename).suffix.lower()
        if suffix in EXTENSIONS:
            return EXTENSIONS[suffix]
    raise DocumentError(
        f"unsupported document type {declared or 'unknown'!r}: upload plain text, Markdown or PDF",
        unsupported_type=True,
    )


def extract(data: bytes, content_type: str) -> ExtractedDocument:
    if not data:
        raise DocumentError("the document is empty")
    if len(data) > MAX_DOCUMENT_BYTES:
        raise DocumentError(f"the document is larger than the {MAX_DOCUMENT_BYTES // (1024 * 1024)} MB limit")
    if content_type == PDF_TYPE:
        return _extract_pdf(data)
    if b"\x00" in data[:8192] or data.startswith(b"%PDF-"):
        raise DocumentError(f"the document is not plain text (declared {content_type})")
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError as error:
        raise DocumentError("the document is not UTF-8 text") from error
    return ExtractedDocument(content_type, _clip(text), TEXT_TYPES.get(content_type, ".txt"))


def _extract_pdf(data: bytes) -> ExtractedDocument:
    if not data.lstrip()[:5] == b"%PDF-":
        raise DocumentError("the file is not a PDF (it does not start with %PDF-)")
    started = time.monotonic()
    limits: dict[str, Any] = {
        "zlib_maximum_output_length": MAX_STREAM_BYTES,
        "lzw_maximum_output_length": MAX_STREAM_BYTES,
        "run_length_maximum_output_length": MAX_STREAM_BYTES,
        "array_based_stream_maximum_output_length": MAX_STREAM_BYTES,
        "maximum_declared_stream_length": MAX_STREAM_BYTES,
        "brotli_maximum_output_length": MAX_STREAM_BYTES,
        "stream_decoding_work_maximum_length": 4 * MAX_STREAM_BYTES,
        "image_maximum_buffer_size": MAX_STREAM_BYTES,
        "jbig2dec_binary": None,  # never run an external decoder on uploads
        "page_tree_maximum_entries": 10 * MAX_PDF_PAGES,
    }
    try:
        with apply_configuration(get_configuration().with_overwrites(**limits)):
            reader = PdfReader(io.BytesIO(data), strict=False)
            if reader.is_encrypted:
                raise DocumentError("the PDF is encrypted; upload an unprotected copy")
            pages = len(reader.pages)
            if pages > MAX_PDF_PAGES:
                raise DocumentError(f"the PDF has {pages} pages; the limit is {MAX_PDF_PAGES}")
            parts: list[str] = []
            size = 0
            for page in reader.pages:
                if time.monotonic() - started > MAX_EXTRACT_SECONDS:
                    raise DocumentError("the PDF took too long to read; upload a simpler or smaller file")
                part = page.extract_text() or ""
                parts.append(part)
                size += len(part)
                if size > MAX_TEXT_CHARS:
                    break
    except DocumentError:
        raise
    except LimitReachedError as error:
        limit = MAX_STREAM_BYTES // (1024 * 1024)
        raise DocumentError(f"the PDF expands past the {limit} MB limit when decompressed (a PDF bomb?)") from error
    except (PyPdfError, ValueError, KeyError, TypeError, IndexError, AttributeError, RecursionError, OSError) as error:
        log.info("refused a PDF: %s", error)
        raise DocumentError(f"the PDF could not be read ({type(error).__name__}: {str(error)[:200]})") from error
    text = _clip("\n\n".join(p.strip() for p in parts if p.strip()))
    if not text:
        raise DocumentError("no text found in the PDF (a scanned image?); upload a PDF with selectable text")
    return ExtractedDocument(PDF_TYPE, text, ".pdf", pages)


def _clip(text: str) -> str:
    text = text.replace("\r\n", "\n").replace("\x00", "")
    return text[:MAX_TEXT_CHARS]


def store_file(data_dir: Path, workspace_id: str, scenario_id: str, document_id: str, ext: str, data: bytes) -> str:
    """Write the original upload under the data directory; returns the path to store (relative to data_dir)."""
    relative = Path("documents") / workspace_id / scenario_id / f"{document_id}{ext}"
    path = data_dir / relative
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(data)
    return str(relative)
