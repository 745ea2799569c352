"""Data cards: fields (admins), file and folder cards (writers edit, everyone reads), bulk set, CSV, where-used
links and part packets."""

from __future__ import annotations

from typing import Annotated
from urllib.parse import urlencode

from fastapi import APIRouter, Path, Query, Request, Response
from fastapi.responses import StreamingResponse

from app.api.deps import (
    PACKET_LINK,
    AdminUser,
    AuthServiceDep,
    CardCsvServiceDep,
    CardFieldServiceDep,
    CardServiceDep,
    LinkServiceDep,
    PacketDownloadUser,
    PacketServiceDep,
    ReaderUser,
    WriterUser,
)
from app.api.params import FileId, NoNul
from app.api.responses import errors
from app.api.routes.files import content_disposition
from app.core.errors import BadRequest
from app.schemas.card import (
    BulkIn,
    BulkOut,
    CardHistory,
    CardIn,
    CardOut,
    FieldCreate,
    FieldKey,
    FieldList,
    FieldOut,
    FieldUpdate,
    FolderCardOut,
    ImportOut,
    LinkIn,
    LinksOut,
    PacketOut,
)
from app.schemas.common import INT32_MAX
from app.schemas.file import DownloadLink
from app.services.cards_links import zip_stream

router = APIRouter(tags=["cards"], responses=errors(401, 403))

FolderPath = Annotated[str, Query(max_length=1024, description="The folder, e.g. `customers/ACME`"), NoNul]


@router.get("/cards/fields", response_model=FieldList)
async def list_fields(
    user: ReaderUser,
    fields: CardFieldServiceDep,
    include_removed: Annotated[bool, Query(description="Removed fields too (their values are kept)")] = False,
) -> FieldList:
    """The card's fields in display order: key, label, type, choices, required-for-release, where they apply."""
    return await fields.listed(user, include_removed=include_removed)


@router.post("/cards/fields", response_model=FieldOut, status_code=201, responses=errors(409, 422))
async def create_field(body: FieldCreate, admin: AdminUser, fields: CardFieldServiceDep) -> FieldOut:
    """Add a field (admin). Its key is fixed once made; 409 if the key exists (a removed field keeps its key)."""
    return await fields.create(admin, body)


@router.patch("/cards/fields/{key}", response_model=FieldOut, responses=errors(404, 422))
async def update_field(key: FieldKey, body: FieldUpdate, admin: AdminUser, fields: CardFieldServiceDep) -> FieldOut:
    """Change a field's label, choices, required-for-release, extensions, folders or position (admin). Values
    belong to the key, so a new label loses nothing."""
    return await fields.update(admin, key, body)


@router.delete("/cards/fields/{key}", response_model=FieldOut, responses=errors(404))
async def remove_field(key: FieldKey, admin: AdminUser, fields: CardFieldServiceDep) -> FieldOut:
    """Remove a field from cards and filters (admin). Its values stay in the database and the card history."""
    return await fields.remove(admin, key)


@router.get("/files/{file_id}/card", response_model=CardOut, responses=errors(404))
async def file_card(file_id: FileId, user: ReaderUser, cards: CardServiceDep) -> CardOut:
    """The file's card: every field on it, each with its value, whether it is the file's own or inherited
    (and from which folder), and the required fields still empty."""
    return await cards.card(file_id, user)


@router.patch("/files/{file_id}/card", response_model=CardOut, responses=errors(400, 404, 422))
async def edit_file_card(file_id: FileId, body: CardIn, user: WriterUser, cards: CardServiceDep) -> CardOut:
    """Set values on the file's card (writers; no check-out needed). `null` or `""` clears a value (the
    folder's, if any, shows through again). 422 names a field whose value is not valid for its type; nothing
    changes then. Audited with old and new values; a `card_changed` event."""
    return await cards.set_card(file_id, user, body.values)


@router.get("/files/{file_id}/card/history", response_model=CardHistory, responses=errors(404))
async def file_card_history(file_id: FileId, user: ReaderUser, cards: CardServiceDep) -> CardHistory:
    """Every change of the file's card values, newest first, with who, when, how and old → new: its own card's,
    and those of the cards of the folders it was in at the time (`inherited_from` names the folder; a folder
    deleted clears its card, `via: folder_deleted`)."""
    return await cards.history(file_id, user)


@router.get("/folders/card", response_model=FolderCardOut, responses=errors(400))
async def folder_card(path: FolderPath, user: ReaderUser, cards: CardServiceDep) -> FolderCardOut:
    """A folder's card: its own values and those it inherits from folders above it."""
    return await cards.folder_card(path, user)


@router.patch("/folders/card", response_model=FolderCardOut, responses=errors(400, 404, 422))
async def edit_folder_card(path: FolderPath, body: CardIn, user: WriterUser, cards: CardServiceDep) -> FolderCardOut:
    """Set a folder's values: the defaults of every file below it (a file's own value wins; a nearer folder's
    value wins over a farther one). `null` or `""` clears one."""
    return await cards.set_folder_card(path, user, body.values)


@router.post("/cards/bulk", response_model=BulkOut, responses=errors(400, 404, 422))
async def bulk_set(body: BulkIn, user: WriterUser, cards: CardServiceDep) -> BulkOut:
    """Set the same values on many files: a selection (`file_ids`) or every live file in a `folder`. All or
    nothing: one value that does not fit one file (or a missing file) changes no file."""
    return await cards.bulk(user, file_ids=body.file_ids, folder=body.folder, raw=body.values)


@router.get("/files/{file_id}/links", response_model=LinksOut, responses=errors(404))
async def file_links(file_id: FileId, user: ReaderUser, links: LinkServiceDep) -> LinksOut:
    """Where used: what this file uses (**Uses**) and which files use it (**Used by**). Links are by file, so
    they survive renames and moves; a deleted file shows with `deleted: true`."""
    return await links.links_of(file_id, user)


@router.post("/files/{file_id}/links", response_model=LinksOut, status_code=201, responses=errors(400, 404, 409))
async def add_file_link(file_id: FileId, body: LinkIn, user: WriterUser, links: LinkServiceDep) -> LinksOut:
    """Record that this file uses another (`target_id` or `target_path`), with an optional note. Writers."""
    return await links.add(file_id, user, body)


@router.delete("/files/{file_id}/links/{link_id}", response_model=LinksOut, responses=errors(404))
async def remove_file_link(
    file_id: FileId,
    link_id: Annotated[int, Path(ge=1, le=INT32_MAX)],
    user: WriterUser,
    links: LinkServiceDep,
) -> LinksOut:
    return await links.remove(file_id, link_id, user)


PartNumber = Annotated[str, Query(min_length=1, max_length=1000, description="The part number, any case"), NoNul]


@router.get("/cards/packet", response_model=PacketOut, responses=errors(400))
async def part_packet(part_number: PartNumber, user: ReaderUser, packets: PacketServiceDep) -> PacketOut:
    """Every file whose card carries this part number (its own or from a folder card): programs, then setup
    sheets, models and the rest, with states and revisions. The floor sees released revisions only."""
    packet = await packets.packet(user, part_number)
    packet.zip_url = f"/api/cards/packet/zip?{urlencode({'part_number': packet.part_number})}"
    return packet


@router.post("/cards/packet/download-link", response_model=DownloadLink, responses=errors(400, 404))
async def packet_download_link(
    part_number: PartNumber, user: ReaderUser, packets: PacketServiceDep, auth: AuthServiceDep
) -> DownloadLink:
    """A link to the packet's zip that works without an Authorization header for DOWNLOAD_LINK_SECONDS, so a
    browser streams it to disk; the zip route checks again, as the link's user, what that user may read."""
    await packets.entries(user, part_number)  # 404 now rather than from a link
    token, expires_at = auth.download_link(user, PACKET_LINK)
    query = urlencode({"part_number": part_number.strip(), "dl": token})
    return DownloadLink(url=f"/api/cards/packet/zip?{query}", expires_at=expires_at)


@router.get(
    "/cards/packet/zip",
    response_class=StreamingResponse,
    responses={200: {"content": {"application/zip": {}}, "description": "The packet"}, **errors(400, 404)},
)
async def part_packet_zip(part_number: PartNumber, user: PacketDownloadUser, packets: PacketServiceDep) -> Response:
    """The packet as one zip (each file at its vault path; on the floor, each current revision), streamed as it
    is read from the vault: no temp copy, a chunk of a file in memory at a time."""
    entries = await packets.entries(user, part_number)
    name = f"packet-{part_number.strip()}.zip"
    return StreamingResponse(
        zip_stream(packets.vault.store.reads, entries),
        media_type="application/zip",
        headers={"Content-Disposition": content_disposition(name), "Cache-Control": "private, no-cache"},
    )


@router.get(
    "/cards/export",
    response_class=Response,
    responses={200: {"content": {"text/csv": {}}, "description": "`path` and one column per field"}},
)
async def export_cards(
    user: ReaderUser,
    csv_cards: CardCsvServiceDep,
    folder: Annotated[str, Query(max_length=1024, description='A folder (`""`: the whole vault)'), NoNul] = "",
) -> Response:
    """The own card values of every file in a folder and below, as CSV (inherited values belong to the folder
    cards, so they are left out: importing the export unchanged changes nothing)."""
    text = await csv_cards.export(user, folder)
    name = f"cards-{folder.strip('/').replace('/', '-') or 'vault'}.csv"
    return Response(
        text, media_type="text/csv; charset=utf-8", headers={"Content-Disposition": content_disposition(name)}
    )


@router.post(
    "/cards/import",
    response_model=ImportOut,
    responses={**errors(400, 422), 413: {**errors(413)[413], "description": "Larger than MAX_CSV_IMPORT_BYTES"}},
    openapi_extra={
        "requestBody": {
            "required": True,
            "content": {"text/csv": {"schema": {"type": "string", "description": "`path`, then field keys"}}},
        }
    },
)
async def import_cards(
    request: Request,
    user: WriterUser,
    csv_cards: CardCsvServiceDep,
    dry_run: Annotated[bool, Query(description="Only answer what would change; write nothing")] = False,
) -> ImportOut:
    """Set card values from CSV (as exported): rows matched by path, any case; an empty cell clears the file's
    own value; a column left out leaves the field alone. All or nothing: one bad row (no such file, a value its
    field refuses) is 422 naming the line, and nothing changes. Bodies up to MAX_CSV_IMPORT_BYTES (413 past it,
    counted as it arrives)."""
    try:
        text = (await request.body()).decode("utf-8")
    except UnicodeDecodeError:
        raise BadRequest("The CSV must be UTF-8") from None
    return await csv_cards.import_(user, text, dry_run=dry_run)
