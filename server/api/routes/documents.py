"""Briefing documents of a scenario: text or PDF uploads, shown open-book beside the call and given to the persona."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, File, Form, HTTPException, Response, UploadFile, status
from fastapi.responses import FileResponse

from server.api.access import managed_scenario, visible_scenario
from server.api.common import DataDir, not_found, unprocessable
from server.api.deps import DB, Member, Reader
from server.api.limits import upload_limit
from server.api.schemas.scenarios import DocumentDetail, DocumentOut
from server.store.tables import Scenario, ScenarioDocument, new_id
from server.workspace.audit import record
from server.workspace.documents import (
    MAX_DOCUMENT_BYTES,
    MAX_DOCUMENTS_PER_SCENARIO,
    DocumentError,
    content_type_of,
    extract,
    store_file,
)
from server.workspace.files import remove_files, resolve_in

router = APIRouter(
    prefix="/api/v1/scenarios/{scenario_id}/documents",
    tags=["scenarios"],
    route_class=upload_limit(
        MAX_DOCUMENT_BYTES, f"the document is larger than the {MAX_DOCUMENT_BYTES >> 20} MB limit"
    ),
)


def _document(scenario: Scenario, document_id: str) -> ScenarioDocument:
    for document in scenario.documents:
        if document.id == document_id:
            return document
    not_found("document")


@router.get("", response_model=list[DocumentOut])
def list_documents(scenario_id: str, principal: Reader, db: DB) -> list[DocumentOut]:
    return [DocumentOut.model_validate(d) for d in visible_scenario(db, scenario_id, principal).documents]


@router.post("", response_model=DocumentDetail, status_code=201)
def upload_document(
    scenario_id: str,
    principal: Member,
    db: DB,
    data_dir: DataDir,
    file: Annotated[UploadFile, File(description="plain text, Markdown or PDF; at most 5 MB, PDFs 50 pages")],
    name: Annotated[str | None, Form(max_length=255)] = None,
) -> DocumentDetail:
    scenario = managed_scenario(db, scenario_id, principal)
    if len(scenario.documents) >= MAX_DOCUMENTS_PER_SCENARIO:
        unprocessable(f"a scenario has at most {MAX_DOCUMENTS_PER_SCENARIO} documents")
    filename = (name or file.filename or "document").strip()[:255] or "document"
    try:
        content_type = content_type_of(file.content_type, file.filename or filename)
        data = file.file.read(MAX_DOCUMENT_BYTES + 1)
        extracted = extract(data, content_type)
    except DocumentError as error:
        code = status.HTTP_415_UNSUPPORTED_MEDIA_TYPE if error.unsupported_type else 422
        raise HTTPException(code, str(error)) from error
    document = ScenarioDocument(
        id=new_id(),
        scenario_id=scenario.id,
        name=filename,
        content_type=extracted.content_type,
        text=extracted.text,
        size=len(data),
    )
    document.path = store_file(data_dir, scenario.workspace_id, scenario.id, document.id, extracted.extension, data)
    scenario.documents.append(document)
    db.flush()
    return DocumentDetail.model_validate(document)


@router.get("/{document_id}", response_model=DocumentDetail)
def get_document(scenario_id: str, document_id: str, principal: Reader, db: DB) -> DocumentDetail:
    return DocumentDetail.model_validate(_document(visible_scenario(db, scenario_id, principal), document_id))


@router.get("/{document_id}/file", response_class=FileResponse)
def download_document(scenario_id: str, document_id: str, principal: Reader, db: DB, data_dir: DataDir) -> Response:
    """The original upload (for the open-book panel); plain text when the original is gone."""
    document = _document(visible_scenario(db, scenario_id, principal), document_id)
    path = resolve_in(data_dir, document.path) if document.path else None
    headers = {"X-Content-Type-Options": "nosniff"}
    if path is None or not path.is_file():
        return Response(document.text, media_type="text/plain; charset=utf-8", headers=headers)
    media_type = document.content_type + ("; charset=utf-8" if document.content_type.startswith("text/") else "")
    return FileResponse(
        path, media_type=media_type, filename=document.name, content_disposition_type="inline", headers=headers
    )


@router.delete("/{document_id}", status_code=204)
def delete_document(scenario_id: str, document_id: str, principal: Member, db: DB, data_dir: DataDir) -> Response:
    scenario = managed_scenario(db, scenario_id, principal)
    document = _document(scenario, document_id)
    path = document.path
    scenario.documents.remove(document)
    record(
        db,
        principal.workspace_id,
        principal.user_id,
        "document.delete",
        document.id,
        name=document.name,
        scenario=scenario.id,
    )
    db.commit()
    if path:
        remove_files(data_dir, [path])
    return Response(status_code=204)
