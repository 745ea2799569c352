"""SQL for the release lifecycle: revisions, reviews and their approvals."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Literal

from sqlalchemy import and_, exists, func, select

from app.models import File, FileRevision, Review, ReviewApproval, ReviewStatus, User
from app.repositories.base import Repository

ReviewScope = Literal["awaiting", "submitted", "open"]


class RevisionRepository(Repository[FileRevision]):
    model = FileRevision

    async def last_seq(self, file_id: int) -> int:
        """The file's highest revision number so far (0: never released)."""
        stmt = select(func.coalesce(func.max(FileRevision.seq), 0)).where(FileRevision.file_id == file_id)
        return int((await self.session.execute(stmt)).scalar_one())

    async def by_label(self, file_id: int, label: str) -> FileRevision | None:
        stmt = select(FileRevision).where(FileRevision.file_id == file_id, FileRevision.label == label)
        return (await self.session.execute(stmt)).scalar_one_or_none()

    async def by_commit(self, file_id: int, commit_prefix: str) -> FileRevision | None:
        """The revision the released branch's commit (a prefix of 7+ hex digits) made; None if none or ambiguous."""
        stmt = (
            select(FileRevision)
            .where(FileRevision.file_id == file_id, FileRevision.commit_sha.startswith(commit_prefix))
            .limit(2)
        )
        rows = (await self.session.execute(stmt)).scalars().all()
        return rows[0] if len(rows) == 1 else None

    async def released_versions(self, file_id: int) -> set[int]:
        stmt = select(FileRevision.version).where(FileRevision.file_id == file_id)
        return set((await self.session.execute(stmt)).scalars().all())

    async def for_file(self, file_id: int) -> Sequence[FileRevision]:
        """Newest first."""
        stmt = select(FileRevision).where(FileRevision.file_id == file_id).order_by(FileRevision.seq.desc())
        return (await self.session.execute(stmt)).scalars().all()

    async def by_file_and_commit(self) -> dict[tuple[int, str], FileRevision]:
        """Every revision, keyed by (file, released commit): what reindex already has."""
        rows = (await self.session.execute(select(FileRevision))).scalars().all()
        return {(r.file_id, r.commit_sha): r for r in rows}


class ReviewRepository(Repository[Review]):
    model = Review

    async def open_for(self, file_id: int) -> Review | None:
        """The file's open review, locked (the caller holds the file's row lock already)."""
        stmt = (
            select(Review).where(Review.file_id == file_id, Review.status == ReviewStatus.open.value).with_for_update()
        )
        return (await self.session.execute(stmt)).scalar_one_or_none()

    async def open_file_ids(self) -> set[int]:
        stmt = select(Review.file_id).where(Review.status == ReviewStatus.open.value)
        return set((await self.session.execute(stmt)).scalars().all())

    async def approvals(self, review_ids: Sequence[int]) -> dict[int, list[ReviewApproval]]:
        """Each review's approvals, oldest first."""
        if not review_ids:
            return {}
        stmt = (
            select(ReviewApproval)
            .where(ReviewApproval.review_id.in_(review_ids))
            .order_by(ReviewApproval.review_id, ReviewApproval.id)
        )
        found: dict[int, list[ReviewApproval]] = {i: [] for i in review_ids}
        for approval in (await self.session.execute(stmt)).scalars():
            found[approval.review_id].append(approval)
        return found

    async def add_approval(self, review: Review, user: User, comment: str) -> ReviewApproval:
        approval = ReviewApproval(review_id=review.id, user_id=user.id, user_name=user.username, comment=comment)
        self.session.add(approval)
        await self.session.flush()
        return approval

    async def page(
        self,
        scope: ReviewScope,
        user: User,
        *,
        may_approve: bool,
        allow_self: bool,
        before: int | None,
        limit: int,
    ) -> Sequence[tuple[Review, File, FileRevision | None]]:
        """Reviews newest first, with their file and its current revision (the base of the diff).

        awaiting: open reviews this user may approve and has not (none unless they are an approver; not their
        own unless self-approval is allowed); submitted: theirs, any status; open: every open review.
        """
        stmt = (
            select(Review, File, FileRevision)
            .join(File, File.id == Review.file_id)
            .outerjoin(FileRevision, FileRevision.id == File.revision_id)
            .where(File.deleted_at.is_(None) | (Review.status != ReviewStatus.open.value))
        )
        if scope == "submitted":
            stmt = stmt.where(Review.submitted_by == user.id)
        else:
            stmt = stmt.where(Review.status == ReviewStatus.open.value)
        if scope == "awaiting":
            if not may_approve:
                return []
            mine = exists().where(and_(ReviewApproval.review_id == Review.id, ReviewApproval.user_id == user.id))
            stmt = stmt.where(~mine)
            if not allow_self:
                stmt = stmt.where(Review.submitted_by != user.id)
        if before is not None:
            stmt = stmt.where(Review.id < before)
        rows = await self.session.execute(stmt.order_by(Review.id.desc()).limit(limit))
        return [(review, file, revision) for review, file, revision in rows.all()]
