"""Cards as CSV, for the part lists shops keep in spreadsheets: export a folder's cards, import them back.

The CSV has a `path` column and one column per field key. It carries each file's *own* values: inherited ones
belong to the folder cards, and writing them onto every file would turn defaults into copies. So an export
imported unchanged changes nothing. On import an empty cell clears the file's own value; a column left out
leaves that field alone. Rows are matched by path (any case). The whole file is checked first, and one bad row
(unknown path, a value its field refuses) refuses the import with 422 naming the row: nothing is half-applied.
A dry run answers what would change and writes nothing.
"""

from __future__ import annotations

import csv
import io
from typing import Any

from app.core.errors import BadRequest, DomainError, Unprocessable
from app.models import User
from app.repositories.cards import CardValueRepository
from app.schemas.card import FileCardChange, ImportOut
from app.services import roles
from app.services.cards import CardService, Parsed, Planned
from app.services.paths import normalise_folder, path_key
from app.services.visibility import view_of

MAX_ROWS = 100_000  # a shop's part list (50,000 rows) fits; MAX_CSV_IMPORT_BYTES bounds the bytes


class CardCsvService:
    def __init__(self, cards: CardService) -> None:
        self.cards = cards
        self.session = cards.session

    async def export(self, user: User, folder: str) -> str:
        """The own card values of every live file in `folder` and below ("" for the whole vault), by name."""
        view = view_of(user, self.cards.settings)
        key = path_key(normalise_folder(folder)) if folder.strip("/ ") else None
        files = await self.cards.files.live_listed(key, released_only=view.floor)
        fields = list(await self.cards.fields.listed())
        values = await CardValueRepository(self.session).of_files([f.id for f in files])
        out = io.StringIO()
        writer = csv.writer(out, lineterminator="\r\n")
        writer.writerow(["path", *(f.key for f in fields)])
        for file in files:
            own = {v.field_id: v.value_text for v in values[file.id] if v.source_folder is None}
            writer.writerow([file.path, *(own.get(f.id, "") for f in fields)])
        return out.getvalue()

    async def import_(self, user: User, text: str, *, dry_run: bool) -> ImportOut:
        roles.require(user, roles.WRITERS, "Viewers can read cards but not change them")
        if "\x00" in text:
            raise BadRequest("The CSV holds a NUL character")
        try:
            table = list(csv.reader(io.StringIO(text.lstrip("\ufeff"), newline="")))
        except csv.Error as exc:
            raise BadRequest(f"Not a CSV file: {exc}") from None
        header = table[0] if table else None
        if not header or header[0].strip().lower() != "path":
            raise BadRequest("The first column must be `path`, then one column per card field key")
        keys = [h.strip() for h in header[1:]]
        known = {f.key for f in await self.cards.fields.listed()}
        unknown = [k for k in keys if k not in known]
        if unknown or len(set(keys)) != len(keys):
            raise BadRequest(
                {"message": f"Unknown or repeated columns: {', '.join(unknown) or 'repeated'}", "fields": unknown}
            )
        rows = table[1:]
        if len(rows) > MAX_ROWS:
            raise BadRequest(f"At most {MAX_ROWS} rows in one import")
        changed: list[FileCardChange] = []
        async with self.cards.vault.write() as w:
            # Every file named, in one query (a part list has tens of thousands of rows).
            path_keys = [path_key(row[0].strip()) for row in rows if row]
            files = {f.path_key: f for f in await self.cards.files.live_by_keys(path_keys)}
            planned: list[tuple[Any, list[Parsed]]] = []
            seen: set[int] = set()
            for number, row in enumerate(rows, start=2):  # the header is line 1
                if not any(cell.strip() for cell in row):
                    continue
                if len(row) != len(header):
                    raise _bad_row(number, f"{len(row)} cells, the header has {len(header)}")
                file = files.get(path_key(row[0].strip()))
                if file is None:
                    raise _bad_row(number, f"no file at {row[0].strip()!r}")
                if file.id in seen:
                    raise _bad_row(number, f"{file.path!r} is named twice")
                seen.add(file.id)
                try:
                    parsed = await self.cards.parse(dict(zip(keys, row[1:], strict=True)), file.path_key)
                except DomainError as exc:
                    raise _bad_row(number, exc.detail) from None
                planned.append((file, parsed))
            # Row locks in id order, as bulk set takes them, so the two never deadlock.
            await self.cards.files.lock_rows([file.id for file, _ in planned])
            current = await CardValueRepository(self.session).of_files([file.id for file, _ in planned])
            plans = [Planned(file, parsed, current[file.id]) for file, parsed in planned]
            if dry_run:
                changed = [
                    FileCardChange(file_id=p.file.id, path=p.file.path, changes=changes)
                    for p in plans
                    if (changes := await self.cards.preview(p.file, p.parsed, p.current))
                ]
            else:
                written = await self.cards.write_many(w, user, plans, via="import")
                changed = [FileCardChange(file_id=f.id, path=f.path, changes=c) for f, c in written]
            if dry_run:
                await self.session.rollback()
        return ImportOut(dry_run=dry_run, rows=len(planned), changed=changed, applied=not dry_run)


def _bad_row(number: int, reason: Any) -> Unprocessable:
    message = reason.get("message", reason) if isinstance(reason, dict) else reason
    fields = reason.get("fields", []) if isinstance(reason, dict) else []
    return Unprocessable(
        {"message": f"Line {number}: {message}; nothing was imported", "line": number, "fields": fields}
    )
