"""API: the case documents as PDF (mounted at ``/reports`` next to the reports router)."""

from django.http import HttpResponse
from django.utils.http import content_disposition_header
from ninja import Router

from beistand.reports import documents

router = Router(tags=["Meldungen"])

_PDF_RESPONSE = {
    "responses": {
        200: {"description": "Das Dokument als PDF (DIN A4).",
              "content": {"application/pdf": {"schema": {"type": "string",
                                                         "format": "binary"}}}},
    },
}


@router.get("/{int:report_id}/documents/{kind}", summary="Dokument zum Fall (PDF)",
            openapi_extra=_PDF_RESPONSE, operation_id="report_document")
def document(request, report_id: int, kind: str, victim_id: int | None = None):
    """Ein Dokument zum Fall als PDF: `complaint` (Strafanzeige, ab Freigabe; Amt 11 und ZKS),
    `accident` (Unfallanzeige je betroffener Person, `victim_id` wählt sie; Amt 11 und die
    betroffene Person selbst), `summary` (Fallübersicht; ZKS, Amt 11, direkte/r Vorgesetzte/r).
    Jeder Abruf wird protokolliert."""
    filename, pdf = documents.document_for(request.auth, report_id, kind, victim_id)
    response = HttpResponse(pdf, content_type="application/pdf")
    response["Content-Disposition"] = content_disposition_header(True, filename)
    # Personal data: no copy in browser or proxy caches.
    response["Cache-Control"] = "no-store"
    return response
