"""Carrier labels: the PDF a carrier's site gives for a parcel, kept with its order so bulk
printing can put it right after the order's slip.

**Choice:** the bytes live in the database (`order_label.data`), not in files under a data
folder. A label is a few tens of kilobytes; in the database it is written in the same
transaction as its history row, goes with every backup, is seen at once by every operator of a
shared PostgreSQL shop (a folder would have to be shared between machines too), and leaves
with its order (a deleted test order's label goes with it). One label per order: attaching
another replaces it, and the history says so."""

from __future__ import annotations

import io
from pathlib import Path

from store.errors import ValidationError
from store.models import OrderLabel, db, utcnow
from store.operators import Actor, require
from store.order_rows import event, insert_events, load_for_write
from store.shop import Shop
from store.text import clean

MAX_BYTES = 10 * 1024 * 1024


def pdf_pages(data: bytes, what: str = "the label") -> int:
    """How many pages a PDF has; anything that is not a readable PDF is refused."""
    from pypdf import PdfReader

    if not data.startswith(b"%PDF-"):
        raise ValidationError(f"{what} is not a PDF (it does not start with %PDF-)",
                              field="label")
    try:
        pages = len(PdfReader(io.BytesIO(data)).pages)
    except Exception as exc:  # pypdf raises several kinds on a broken file
        raise ValidationError(f"{what} is not a readable PDF: {exc}", field="label") from None
    if pages < 1:
        raise ValidationError(f"{what} has no page", field="label")
    return pages


def attach_label(shop: Shop, actor: Actor, order_id: int, data: bytes,
                 filename: str = "label.pdf", expected_version: int | None = None) -> int:
    """Keep a carrier's label PDF with an order (replacing the one it had); its page count."""
    require(actor, "attach_label")
    name = Path(clean(filename, "filename")).name or "label.pdf"
    if len(data) > MAX_BYTES:
        raise ValidationError(f"{name} is {len(data) / 1024 / 1024:.1f} MB; a label is at most "
                              f"{MAX_BYTES // 1024 // 1024} MB", field="label")
    pages = pdf_pages(data, name)
    with db.atomic():
        order = load_for_write(order_id, expected_version)
        replaced = OrderLabel.delete().where(OrderLabel.order == order.id).execute()
        now = utcnow()
        OrderLabel.create(order=order.id, filename=name, pages=pages, size=len(data),
                          data=data, operator_login=actor.login, created_at=now,
                          updated_at=now)
        message = f"carrier label {name} attached ({pages} page{'s' if pages != 1 else ''})"
        if replaced:
            message += ", replacing the one before"
        insert_events([event(order.id, actor, "label", message,
                             data={"filename": name, "pages": pages, "size": len(data)})])
    return pages


def read_label_file(path: str | Path) -> tuple[bytes, str]:
    """The bytes and name of a label file given by path (the command line, the app)."""
    file = Path(path).expanduser()
    try:
        if file.stat().st_size > MAX_BYTES:
            raise ValidationError(f"{file} is larger than a label can be "
                                  f"({MAX_BYTES // 1024 // 1024} MB)", field="label")
        return file.read_bytes(), file.name
    except FileNotFoundError:
        raise ValidationError(f"no such file: {file}", field="label") from None
    except IsADirectoryError:
        raise ValidationError(f"{file} is a folder, not a label PDF", field="label") from None
    except OSError as exc:
        raise ValidationError(f"cannot read {file}: {exc.strerror}", field="label") from None
