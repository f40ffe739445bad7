"""Document previews: PDF pages rendered, office documents through
LibreOffice then rendered, text excerpts; the text found is kept."""

from uuid import UUID


def make_preview(attachment_id: UUID) -> None:
    raise NotImplementedError
