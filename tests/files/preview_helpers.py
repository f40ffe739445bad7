"""Attachments made directly for the preview tests: the bytes stored under
their key, the row written as an upload would leave it (pending)."""

import uuid

from messaging.files import storage
from messaging.files.models import Attachment, AttachmentKind, PreviewState
from tests.files.factories import stored_row

# kind, detected type, stored extension
PDF = (AttachmentKind.PDF, "application/pdf", ".pdf")
DOCX = (
    AttachmentKind.OFFICE,
    "application/vnd.openxmlformats-officedocument.wordprocessingml.document",
    ".docx",
)
TEXT = (AttachmentKind.TEXT, "text/plain", ".txt")
CSV = (AttachmentKind.TEXT, "text/csv", ".csv")


def stored_attachment(
    *,
    conversation,
    uploader,
    data: bytes,
    kind_type_extension: tuple[str, str, str] = PDF,
    message=None,
    preview_state: str = PreviewState.PENDING,
) -> Attachment:
    kind, content_type, extension = kind_type_extension
    return stored_row(
        uuid.uuid4(),
        conversation=conversation,
        uploader=uploader,
        data=data,
        kind=kind,
        content_type=content_type,
        extension=extension,
        name=f"file{extension}",
        message=message,
        preview_state=preview_state,
    )


def stored_objects(attachment: Attachment) -> list[str]:
    """The names stored in the attachment's folder."""
    folder = storage.key_for(attachment.pk, "x", "").rsplit("/", 1)[0]
    backend = storage.backend()
    if not backend.exists(folder):
        return []
    return sorted(backend.listdir(folder)[1])


def docx_with_linked_image(url: str, text: str = "Before the picture") -> bytes:
    """A DOCX whose picture is not in the file but linked (``r:link``, an
    external relationship): a converter that follows links fetches ``url``."""
    import io

    from docx import Document
    from docx.opc.constants import RELATIONSHIP_TYPE
    from docx.oxml import parse_xml

    document = Document()
    document.add_paragraph(text)
    rid = document.part.relate_to(url, RELATIONSHIP_TYPE.IMAGE, is_external=True)
    size = 'cx="1828800" cy="1828800"'  # 2 inches
    run = f"""<w:r xmlns:w="http://schemas.openxmlformats.org/wordprocessingml/2006/main"
 xmlns:wp="http://schemas.openxmlformats.org/drawingml/2006/wordprocessingDrawing"
 xmlns:a="http://schemas.openxmlformats.org/drawingml/2006/main"
 xmlns:pic="http://schemas.openxmlformats.org/drawingml/2006/picture"
 xmlns:r="http://schemas.openxmlformats.org/officeDocument/2006/relationships">
<w:drawing><wp:inline><wp:extent {size}/><wp:docPr id="1" name="linked"/>
<a:graphic><a:graphicData uri="http://schemas.openxmlformats.org/drawingml/2006/picture">
<pic:pic><pic:nvPicPr><pic:cNvPr id="1" name="linked"/><pic:cNvPicPr/></pic:nvPicPr>
<pic:blipFill><a:blip r:link="{rid}"/><a:stretch><a:fillRect/></a:stretch></pic:blipFill>
<pic:spPr><a:xfrm><a:off x="0" y="0"/><a:ext {size}/></a:xfrm><a:prstGeom prst="rect"/>
</pic:spPr></pic:pic></a:graphicData></a:graphic></wp:inline></w:drawing></w:r>"""
    document.add_paragraph()._p.append(parse_xml(run))
    out = io.BytesIO()
    document.save(out)
    return out.getvalue()
