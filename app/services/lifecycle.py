"""The release lifecycle: submit, approve, reject, obsolete, reinstate, and adopting a library as released.

States (app/models/lifecycle.py) say where a file's newest work stands; its revision is what the shop floor
gets. Every transition is one vault write (app/vault/pipeline.py): the file's row is locked FOR UPDATE first,
so a transition, a check-out and a check-in of one file take turns and each sees what the one before did
(two approvals at once: one release, one label; a check-out racing a submit: one winner). A release, an
obsolete, a reinstate, and an admin's delete or restore of a released file are each one commit on the
`released` branch (app/vault/released.py), in the same transaction as their rows and journal entry.

    wip ──submit──► in_review ──approve (RELEASE_APPROVALS)──► released ──check-in of a new version──► wip
     ▲                  │                                          │
     └─────reject───────┘          obsolete (approver) ◄───────────┘──► reinstate (admin) ──► released
"""

from __future__ import annotations

import logging
from collections import Counter
from collections.abc import Sequence
from datetime import UTC, datetime

from sqlalchemy.ext.asyncio import AsyncSession

from app.core.config import Settings
from app.core.errors import Conflict, Forbidden, NotFound, Unprocessable
from app.journal.lifecycle import (
    FileObsoleted,
    FileReinstated,
    FileReleased,
    FilesAdopted,
    FileSubmitted,
    ReviewApproved,
    ReviewRejected,
)
from app.models import File, FileRevision, FileState, FileVersion, Review, ReviewApproval, ReviewStatus, User
from app.repositories.files import FileRepository, VersionRepository
from app.repositories.lifecycle import ReviewRepository, ReviewScope, RevisionRepository
from app.repositories.locks import LockRepository
from app.repositories.users import UserRepository
from app.schemas.lifecycle import (
    AdoptionOut,
    ApprovalOut,
    BaseRevision,
    LifecyclePolicy,
    ReviewOut,
    ReviewPage,
    RevisionList,
    RevisionOut,
    TransitionOut,
)
from app.services import roles
from app.services.answers import file_out
from app.services.checked_out import refuse_if_checked_out
from app.services.cursors import decode_cursor, encode_cursor
from app.services.paths import normalise_folder, path_key
from app.services.release_requirements import missing_for_release, released_users
from app.services.revision_labels import label_for, seq_of
from app.services.visibility import require_visible, view_of
from app.storage.git_store import TreeChange
from app.vault.pipeline import Vault, VaultWrite
from app.vault.released import RELEASED, ReleasedFile, released_message

logger = logging.getLogger(__name__)


def state_with_revision(head_version: int, revision_version: int | None) -> FileState:
    """The state of a file that is not in review or obsolete: released when its head is its revision."""
    return FileState.released if revision_version == head_version else FileState.wip


def _required(comment: str, what: str) -> str:
    text = comment.strip()
    if not text:
        raise Unprocessable(f"A comment is required to {what}")
    return text


class LifecycleService:
    def __init__(self, session: AsyncSession, settings: Settings, vault: Vault) -> None:
        self.session = session
        self.settings = settings
        self.vault = vault
        self.files = FileRepository(session)
        self.versions = VersionRepository(session)
        self.revisions = RevisionRepository(session)
        self.reviews = ReviewRepository(session)
        self.locks = LockRepository(session)
        self.users = UserRepository(session)

    # -- reading -------------------------------------------------------------------------

    def policy(self, user: User) -> LifecyclePolicy:
        return LifecyclePolicy(
            revision_scheme=self.settings.revision_scheme,
            release_approvals=self.settings.release_approvals,
            allow_self_approval=self.settings.allow_self_approval,
            sees_work=roles.sees_work(user, self.settings.viewers_see_work),
            can_approve=roles.can_approve(user),
        )

    async def revisions_of(self, file_id: int, user: User) -> RevisionList:
        view = view_of(user, self.settings)
        row = require_visible(await self.files.row(file_id), view, file_id, include_deleted=not view.floor)
        current = row.file.revision_id if row.file.state != FileState.obsolete else None
        items = [revision_out(r, current=r.id == current) for r in await self.revisions.for_file(file_id)]
        return RevisionList(path=row.file.path, items=items)

    async def reviews_page(self, user: User, scope: ReviewScope, *, cursor: str | None, limit: int) -> ReviewPage:
        if not roles.sees_work(user, self.settings.viewers_see_work):
            raise Forbidden("Reviews are work in progress; the shop floor sees released revisions only")
        before = decode_cursor(cursor, int)[0] if cursor else None
        rows = await self.reviews.page(
            scope,
            user,
            may_approve=roles.can_approve(user),
            allow_self=self.settings.allow_self_approval,
            before=before,
            limit=limit + 1,
        )
        page = list(rows[:limit])
        approvals = await self.reviews.approvals([review.id for review, _, _ in page])
        items = [self._review_out(review, file, base, approvals[review.id], user) for review, file, base in page]
        next_cursor = encode_cursor(page[-1][0].id) if len(rows) > limit else None
        return ReviewPage(items=items, next_cursor=next_cursor)

    # -- transitions -----------------------------------------------------------------------

    async def submit(self, file_id: int, user: User, comment: str) -> TransitionOut:
        """wip → in_review: the head version is frozen for review (no check-out until approved or rejected)."""
        roles.require(user, roles.WRITERS, "Viewers cannot submit files for review")
        async with self.vault.write() as w:
            file = await self._live_file(file_id)
            if file.state == FileState.in_review:
                raise Conflict(await self.in_review_message(file, "is in review already"))
            if file.state == FileState.obsolete:
                raise Conflict(f"{file.path!r} is obsolete; an admin can reinstate it")
            current = await self._revision(file)
            if file.state == FileState.released or (current is not None and current.version == file.version):
                label = current.label if current else "?"
                raise Conflict(
                    f"Version {file.version} of {file.path!r} is released already (revision {label}); "
                    "check it out and check in a new version to release again"
                )
            refuse_if_checked_out(await self.locks.live_with_holder(file.id))
            missing = await missing_for_release(self.session, file)
            if missing:
                raise Unprocessable(
                    {"message": f"{file.path!r} lacks what a release needs: {', '.join(missing)}", "fields": missing}
                )
            review = Review(
                file_id=file.id,
                version=file.version,
                submitted_by=user.id,
                submitted_by_name=user.username,
                comment=comment.strip(),
                approvals_required=self.settings.release_approvals,
            )
            await self.reviews.add(review)
            file.state = FileState.in_review
            entry = FileSubmitted(
                file_id=file.id,
                path=file.path,
                user=user.username,
                version=file.version,
                review_id=review.id,
                comment=review.comment,
            )
            await w.journal(entry, actor=user)
            out = await self._answer(file.id, review, user)
        logger.info("submitted path=%s version=%d user=%s", out.file.path, review.version, user.username)
        return out

    async def approve(self, file_id: int, user: User, comment: str) -> TransitionOut:
        """One approval; the one that makes RELEASE_APPROVALS releases the reviewed version as the next revision."""
        roles.require_approver(user, "approve releases")
        async with self.vault.write() as w:
            file = await self._live_file(file_id)
            review = await self._open_review(file)
            if review.submitted_by == user.id and not self.settings.allow_self_approval:
                raise Forbidden(
                    f"You submitted {file.path!r}: another approver must approve it "
                    "(four-eyes rule; ALLOW_SELF_APPROVAL is off)"
                )
            approvals = (await self.reviews.approvals([review.id]))[review.id]
            if any(a.user_id == user.id for a in approvals):
                raise Conflict(
                    f"You approved {file.path!r} already; {len(approvals)} of {review.approvals_required} "
                    "approvals are in, it needs another approver"
                )
            approvals.append(await self.reviews.add_approval(review, user, comment.strip()))
            entry = ReviewApproved(
                file_id=file.id,
                path=file.path,
                user=user.username,
                version=review.version,
                review_id=review.id,
                approvals=len(approvals),
                required=review.approvals_required,
                comment=comment.strip(),
            )
            await w.journal(entry, actor=user)
            label = None
            if len(approvals) >= review.approvals_required:
                version = await self._version(file, review.version)
                revision = (
                    await self._release(
                        w,
                        [(file, version)],
                        by=user,
                        action="release",
                        approved_by=[a.user_name for a in approvals],
                        submitted_by=review.submitted_by_name,
                        comment=comment,
                    )
                )[0]
                self._close(review, ReviewStatus.approved, user, comment, at=revision.released_at)
                review.revision_label = label = revision.label
            out = await self._answer(file.id, review, user, released=label)
        return out

    async def reject(self, file_id: int, user: User, comment: str) -> TransitionOut:
        """in_review → wip, with a comment saying what to change."""
        roles.require_approver(user, "reject submissions")
        text = _required(comment, "reject a submission (say what to change)")
        async with self.vault.write() as w:
            file = await self._live_file(file_id)
            review = await self._open_review(file)
            self._close(review, ReviewStatus.rejected, user, text)
            current = await self._revision(file)
            file.state = state_with_revision(file.version, current.version if current else None)
            entry = ReviewRejected(
                file_id=file.id,
                path=file.path,
                user=user.username,
                version=review.version,
                review_id=review.id,
                submitter=review.submitted_by_name,
                submitter_id=review.submitted_by,
                comment=text,
            )
            await w.journal(entry, actor=user)
            out = await self._answer(file.id, review, user)
        return out

    async def obsolete(self, file_id: int, user: User, comment: str) -> TransitionOut:
        """Withdraw a released file from the floor: no check-out, no new versions, gone from the released branch."""
        roles.require_approver(user, "make files obsolete")
        text = _required(comment, "make a file obsolete (say why)")
        async with self.vault.write() as w:
            file = await self._live_file(file_id)
            if file.state == FileState.obsolete:
                raise Conflict(f"{file.path!r} is obsolete already")
            if file.state == FileState.in_review:
                raise Conflict(await self.in_review_message(file, "is in review: approve or reject it first"))
            current = await self._revision(file)
            if current is None:
                raise Conflict(
                    f"{file.path!r} was never released, so there is nothing to withdraw from the floor "
                    "(an admin can delete it instead)"
                )
            refuse_if_checked_out(await self.locks.live_with_holder(file.id))
            users = await released_users(self.session, file)
            if users:
                raise Conflict(
                    {"message": f"{file.path!r} is used by released files: {', '.join(users)}", "used_by": users}
                )
            commit = await self._floor_commit(
                w, file, current, None, by=user, action="obsolete", summary=f"Obsolete {file.path}", comment=text
            )
            file.state = FileState.obsolete
            entry = FileObsoleted(
                file_id=file.id, path=file.path, user=user.username, revision=current.label, comment=text, commit=commit
            )
            await w.journal(entry, actor=user)
            out = await self._answer(file.id, None, user)
        return out

    async def reinstate(self, file_id: int, admin: User, comment: str) -> TransitionOut:
        """obsolete → released at its last revision (back on the floor and the released branch)."""
        roles.require(admin, roles.ADMINS, "Only admins can reinstate obsolete files")
        async with self.vault.write() as w:
            file = await self._live_file(file_id)
            if file.state != FileState.obsolete:
                raise Conflict(f"{file.path!r} is not obsolete")
            current = await self._revision(file)
            assert current is not None  # only released files become obsolete
            blob = await self.vault.existing_blob(current.blob_sha)
            commit = await self._floor_commit(
                w,
                file,
                current,
                TreeChange(file.path, blob),
                by=admin,
                action="reinstate",
                summary=f"Reinstate {file.path}",
                comment=comment,
            )
            file.state = state_with_revision(file.version, current.version)
            entry = FileReinstated(
                file_id=file.id,
                path=file.path,
                user=admin.username,
                revision=current.label,
                state=file.state,
                comment=comment.strip(),
                commit=commit,
            )
            await w.journal(entry, actor=admin)
            out = await self._answer(file.id, None, admin)
        return out

    async def release_all(self, approver: User, folder: str | None, revision: str | None) -> AdoptionOut:
        """Adopt a library: every never-released work-in-progress file (in `folder` and below) is released at its
        head, as `revision` or its first label, in one released-branch commit and one audit row.

        Files in review, obsolete, or released already are skipped (counted); so are files that lack what a
        release needs.
        """
        roles.require_approver(approver, "release files")
        if not approver.is_active:
            raise Forbidden(f"{approver.username} is deactivated")
        seq = seq_of(revision, self.settings.revision_scheme) if revision else 1
        label = label_for(seq, self.settings.revision_scheme)
        where = normalise_folder(folder) if folder else ""
        async with self.vault.write() as w:
            skipped: Counter[str] = Counter()
            chosen: list[tuple[File, FileVersion]] = []
            for file in await self.files.live_for_update(path_key(where) if where else None):
                if file.state in (FileState.in_review, FileState.obsolete):
                    skipped[file.state] += 1
                elif file.revision_id is not None:
                    skipped["released"] += 1
                elif await missing_for_release(self.session, file):
                    skipped["incomplete"] += 1
                else:
                    chosen.append((file, await self._version(file, file.version)))
            commit = None
            if chosen:
                made = await self._release(
                    w,
                    chosen,
                    by=approver,
                    action="adopt",
                    approved_by=[approver.username],
                    seq=seq,
                    summary=f"Adopt {len(chosen)} file{'s' if len(chosen) != 1 else ''} as released revision {label}",
                )
                commit = made[0].commit_sha
                entry = FilesAdopted(
                    folder=where,
                    user=approver.username,
                    revision=label,
                    files=len(chosen),
                    skipped=dict(skipped),
                    commit=commit,
                )
                await w.journal(entry, actor=approver)
        logger.info("release-all folder=%r files=%d skipped=%s", where, len(chosen), dict(skipped))
        return AdoptionOut(folder=where, revision=label, released=len(chosen), skipped=dict(skipped), commit=commit)

    # -- what other services ask -------------------------------------------------------------

    async def in_review_message(self, file: File, what: str) -> str:
        review = await self.reviews.open_for(file.id)
        if review is None:
            return f"{file.path!r} {what}"
        return (
            f"{file.path!r} {what} (review {review.id}: version {review.version}, submitted by "
            f"{review.submitted_by_name} at {review.submitted_at.isoformat(timespec='seconds')})"
        )

    async def refuse_check_out(self, file: File) -> None:
        """409 for a file in review (naming the review) or obsolete: neither may be checked out."""
        if file.state == FileState.in_review:
            raise Conflict(
                await self.in_review_message(
                    file, "is in review and cannot be checked out until it is approved or rejected"
                )
            )
        if file.state == FileState.obsolete:
            raise Conflict(f"{file.path!r} is obsolete: it cannot be checked out (an admin can reinstate it)")

    @staticmethod
    def after_new_version(file: File) -> None:
        """A check-in made a new version: a released file's newest work is work in progress again."""
        if file.state == FileState.released:
            file.state = FileState.wip

    async def withdraw_for_delete(self, w: VaultWrite, file: File, admin: User) -> None:
        """An admin deletes the file: its open review ends (withdrawn), its revision leaves the released branch."""
        review = await self.reviews.open_for(file.id)
        current = await self._revision(file)
        if review is not None:
            self._close(review, ReviewStatus.withdrawn, admin, "file deleted")
            file.state = state_with_revision(file.version, current.version if current else None)
        if current is not None and file.state != FileState.obsolete:
            await self._floor_commit(w, file, current, None, by=admin, action="delete", summary=f"Delete {file.path}")

    async def return_for_restore(self, w: VaultWrite, file: File, admin: User) -> None:
        """An admin restores the file: its current revision (unless obsolete) is back on the released branch."""
        current = await self._revision(file)
        if current is None or file.state == FileState.obsolete:
            return
        blob = await self.vault.existing_blob(current.blob_sha)
        change = TreeChange(file.path, blob)
        await self._floor_commit(w, file, current, change, by=admin, action="restore", summary=f"Restore {file.path}")

    async def follow_moves(self, w: VaultWrite, moved: Sequence[tuple[File, str]], by: User, summary: str) -> None:
        """Files were renamed or moved on `main` (each with its old path): the revisions of those on the floor move
        with them on the released branch, in one commit, so it never holds a file twice or at a stale path."""
        on_floor = [
            (file, old, revision)
            for file, old in moved
            if file.state != FileState.obsolete and (revision := await self._revision(file)) is not None
        ]
        if not on_floor:
            return
        infos, changes = [], []
        for file, old, revision in on_floor:
            version = await self._version(file, revision.version)
            infos.append(ReleasedFile(revision.label, revision.version, version.commit_sha, file.path))
            changes += [TreeChange(file.path, await self.vault.existing_blob(revision.blob_sha)), TreeChange(old, None)]
        await w.commit(changes, author=by, message=released_message(summary, "move", by, infos), ref=RELEASED)

    # -- inside a write ----------------------------------------------------------------------------

    async def _live_file(self, file_id: int) -> File:
        file = await self.files.get_for_update(file_id)
        if file is None or file.deleted_at is not None:
            raise NotFound(f"File {file_id} not found")
        return file

    async def _revision(self, file: File) -> FileRevision | None:
        return await self.revisions.get(file.revision_id) if file.revision_id is not None else None

    async def _version(self, file: File, number: int) -> FileVersion:
        version = await self.versions.get(file.id, number)
        if version is None:
            raise NotFound(f"{file.path!r} has no version {number}")
        return version

    async def _open_review(self, file: File) -> Review:
        review = await self.reviews.open_for(file.id) if file.state == FileState.in_review else None
        if review is None:
            raise Conflict(f"{file.path!r} is not in review (its state is {file.state})")
        return review

    @staticmethod
    def _close(review: Review, status: ReviewStatus, by: User, comment: str, *, at: datetime | None = None) -> None:
        review.status = status.value
        review.closed_at = at or datetime.now(UTC)
        review.closed_by, review.closed_by_name, review.close_comment = by.id, by.username, comment.strip()

    async def _release(
        self,
        w: VaultWrite,
        files: Sequence[tuple[File, FileVersion]],
        *,
        by: User,
        action: str,
        approved_by: list[str],
        submitted_by: str | None = None,
        comment: str = "",
        seq: int | None = None,
        summary: str | None = None,
    ) -> list[FileRevision]:
        """Release each (file, version) as the file's next revision (or revision number `seq`): one commit."""
        scheme = self.settings.revision_scheme
        blobs = await self.vault.existing_blobs([v.blob_sha for _, v in files])
        numbers: list[int] = []
        released: list[ReleasedFile] = []
        for file, version in files:
            # Never repeating, never going back: one past the file's highest revision so far.
            numbers.append(seq if seq is not None else await self.revisions.last_seq(file.id) + 1)
            released.append(
                ReleasedFile(label_for(numbers[-1], scheme), version.version, version.commit_sha, file.path)
            )
        if summary is None:
            only = released[0]
            summary = f"Release {only.path} as revision {only.label} (version {only.version})"
        message = released_message(
            summary,
            action,
            by,
            released,
            comment=comment,
            approved_by=approved_by,
            submitted_by=submitted_by,
            revision=released[0].label if seq is not None else None,
        )
        changes = [TreeChange(file.path, blobs[version.blob_sha]) for file, version in files]
        commit = await w.commit(changes, author=by, message=message, ref=RELEASED)
        made = []
        for (file, version), info, number in zip(files, released, numbers, strict=True):
            revision = FileRevision(
                file_id=file.id,
                seq=number,
                label=info.label,
                version=version.version,
                blob_sha=version.blob_sha,
                size=version.size,
                commit_sha=commit.commit_sha,
                action=action,
                released_at=commit.committed_at,
                released_by=by.id,
                released_by_name=by.username,
                approved_by=approved_by,
            )
            made.append(revision)
        self.session.add_all(made)
        await self.session.flush()
        for (file, _), revision in zip(files, made, strict=True):
            file.revision_id = revision.id
            file.state = state_with_revision(file.version, revision.version)
            if action == "release":
                entry = FileReleased(
                    file_id=file.id,
                    path=file.path,
                    user=by.username,
                    revision=revision.label,
                    version=revision.version,
                    approved_by=approved_by,
                    commit=commit.commit_sha,
                )
                await w.journal(entry, actor=by)
        return made

    async def _floor_commit(
        self,
        w: VaultWrite,
        file: File,
        revision: FileRevision,
        change: TreeChange | None,
        *,
        by: User,
        action: str,
        summary: str,
        comment: str = "",
    ) -> str:
        """One released-branch commit putting the revision at the file's path (`change`) or taking it off."""
        version = await self._version(file, revision.version)
        info = ReleasedFile(revision.label, revision.version, version.commit_sha, file.path)
        message = released_message(f"{summary} (revision {revision.label})", action, by, [info], comment=comment)
        commit = await w.commit([change or TreeChange(file.path, None)], author=by, message=message, ref=RELEASED)
        return commit.commit_sha

    async def _answer(
        self, file_id: int, review: Review | None, user: User, *, released: str | None = None
    ) -> TransitionOut:
        """The file as this transaction left it, and the review with its approvals."""
        row = await self.files.row(file_id)
        assert row is not None
        review_out = None
        if review is not None:
            approvals = (await self.reviews.approvals([review.id]))[review.id]
            review_out = self._review_out(review, row.file, row.revision, approvals, user)
        return TransitionOut(file=file_out(row), review=review_out, released=released)

    def _review_out(
        self, review: Review, file: File, base: FileRevision | None, approvals: list[ReviewApproval], user: User
    ) -> ReviewOut:
        is_open = review.status == ReviewStatus.open
        may = (
            is_open
            and roles.can_approve(user)
            and not any(a.user_id == user.id for a in approvals)
            and (review.submitted_by != user.id or self.settings.allow_self_approval)
        )
        return ReviewOut(
            id=review.id,
            file_id=file.id,
            path=file.path,
            version=review.version,
            status=review.status,  # type: ignore[arg-type]  # one of ReviewStatus
            submitted_by=review.submitted_by_name,
            submitted_at=review.submitted_at,
            comment=review.comment,
            approvals=[ApprovalOut(user=a.user_name, at=a.approved_at, comment=a.comment) for a in approvals],
            approvals_required=review.approvals_required,
            closed_at=review.closed_at,
            closed_by=review.closed_by_name,
            close_comment=review.close_comment,
            revision=review.revision_label,
            base=BaseRevision(label=base.label, version=base.version) if base is not None and is_open else None,
            can_approve=may,
        )


def revision_out(r: FileRevision, *, current: bool) -> RevisionOut:
    return RevisionOut(
        label=r.label,
        version=r.version,
        size=r.size,
        blob_sha=r.blob_sha,
        commit=r.commit_sha,
        action=r.action,  # type: ignore[arg-type]  # release | adopt
        released_at=r.released_at,
        released_by=r.released_by_name,
        approved_by=list(r.approved_by),
        current=current,
    )
