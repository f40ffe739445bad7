"""Files for the demo data (``manage.py seed_demo``): a picture, a PDF and a
Word document, made here rather than shipped, so the repository holds no
binaries and each file is the same on every run."""

import io
import math

from PIL import Image, ImageDraw


def whiteboard_png(width: int = 960, height: int = 600) -> bytes:
    """A whiteboard photo stand-in: a few boxes joined by arrows and a line
    chart, drawn with Pillow (no font files needed)."""
    image = Image.new("RGB", (width, height), (250, 250, 246))
    draw = ImageDraw.Draw(image)
    draw.rectangle((0, 0, width - 1, height - 1), outline=(200, 200, 190), width=6)
    boxes = [(60, 70, 260, 170), (380, 70, 580, 170), (700, 70, 900, 170)]
    colors = [(79, 70, 229), (31, 157, 85), (192, 57, 43)]
    for (x0, y0, x1, y1), color in zip(boxes, colors, strict=True):
        draw.rounded_rectangle((x0, y0, x1, y1), radius=18, outline=color, width=5)
        for line in range(3):
            y = y0 + 30 + line * 22
            draw.line((x0 + 25, y, x1 - 25 - line * 30, y), fill=color, width=4)
    for (_, _, x1, _), (x0, _, _, _) in zip(boxes, boxes[1:], strict=False):
        draw.line((x1 + 10, 120, x0 - 10, 120), fill=(60, 60, 60), width=4)
        draw.polygon([(x0 - 10, 120), (x0 - 28, 110), (x0 - 28, 130)], fill=(60, 60, 60))
    # A chart: axes and a rising, wobbling line.
    draw.line((80, 540, 880, 540), fill=(60, 60, 60), width=3)
    draw.line((80, 540, 80, 250), fill=(60, 60, 60), width=3)
    points = [(80 + i * 40, 520 - i * 11 - 30 * math.sin(i / 2)) for i in range(21)]
    draw.line(points, fill=(79, 70, 229), width=5, joint="curve")
    for px, py in points[::4]:
        draw.ellipse((px - 7, py - 7, px + 7, py + 7), fill=(79, 70, 229))
    out = io.BytesIO()
    image.save(out, "PNG", optimize=True)
    return out.getvalue()


def pdf_from_objects(objects: list[bytes]) -> bytes:
    """A PDF file of numbered objects (from 1; object 1 the catalog), with
    its cross-reference table: enough for a few pages of text."""
    out = io.BytesIO()
    out.write(b"%PDF-1.4\n%\xe2\xe3\xcf\xd3\n")
    offsets = []
    for number, body in enumerate(objects, start=1):
        offsets.append(out.tell())
        out.write(b"%d 0 obj\n" % number + body + b"\nendobj\n")
    xref = out.tell()
    out.write(b"xref\n0 %d\n0000000000 65535 f \n" % (len(objects) + 1))
    for offset in offsets:
        out.write(b"%010d 00000 n \n" % offset)
    out.write(
        b"trailer\n<< /Size %d /Root 1 0 R >>\nstartxref\n%d\n%%%%EOF\n" % (len(objects) + 1, xref)
    )
    return out.getvalue()


def _escape(text: str) -> bytes:
    return text.replace("\\", "\\\\").replace("(", "\\(").replace(")", "\\)").encode("latin-1")


def project_plan_pdf(pages: list[list[str]] | None = None) -> bytes:
    """A small PDF (Helvetica text, one page per list of lines) written by
    hand: objects, a cross-reference table, a trailer."""
    pages = pages or [
        [
            "Capstone project plan",
            "",
            "Sam Student - tutoring schedules web app",
            "",
            "1. Problem: students cannot find free tutoring slots.",
            "2. Goal: book, move and cancel sessions in two clicks.",
            "3. Users: students, tutors, the programme office.",
        ],
        [
            "Milestones",
            "",
            "Week 1-2: interviews with five students and two tutors",
            "Week 3-4: data model, booking API, first screens",
            "Week 5-6: calendar sync and reminders",
            "Week 7: usability test, fixes",
            "Week 8: report and demo",
        ],
        [
            "Risks",
            "",
            "- Calendar providers' rate limits",
            "- Time zones of remote students",
            "- Tutors who do not keep their availability current",
        ],
        ["Appendix: interview questions", "", "What do you do today when you need help?"],
    ]
    objects: list[bytes] = []
    first_page = 4
    kids = " ".join(f"{first_page + 2 * i} 0 R" for i in range(len(pages))).encode()
    objects.append(b"<< /Type /Catalog /Pages 2 0 R >>")
    objects.append(b"<< /Type /Pages /Kids [" + kids + b"] /Count %d >>" % len(pages))
    objects.append(b"<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica >>")
    for index, lines in enumerate(pages):
        parts = [b"BT /F1 26 Tf 72 720 Td (" + _escape(lines[0]) + b") Tj /F1 14 Tf"]
        for line in lines[1:]:
            parts.append(b"0 -24 Td (" + _escape(line) + b") Tj")
        parts.append(b"ET")
        stream = b" ".join(parts)
        objects.append(
            b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 612 792] "
            b"/Resources << /Font << /F1 3 0 R >> >> /Contents %d 0 R >>"
            % (first_page + 2 * index + 1)
        )
        objects.append(b"<< /Length %d >>\nstream\n" % len(stream) + stream + b"\nendstream")
    return pdf_from_objects(objects)


def report_docx() -> bytes:
    """A short Word document (python-docx)."""
    from docx import Document

    document = Document()
    document.add_heading("Interview notes - draft", level=1)
    document.add_paragraph(
        "Five students and two tutors, 30 minutes each. What they said, grouped by theme."
    )
    document.add_heading("Finding a slot", level=2)
    document.add_paragraph("Most students check three places before they find a free tutor.")
    document.add_heading("Reminders", level=2)
    document.add_paragraph("Everyone wants a reminder the day before, not the hour before.")
    out = io.BytesIO()
    document.save(out)
    return out.getvalue()
