"""durable in-process job queue: kind, payload, consumer, backoff and lease columns on grading_jobs

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-22 02:00:00
"""

import sqlalchemy as sa
from alembic import op

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("grading_jobs", schema=None) as batch_op:
        batch_op.add_column(sa.Column("kind", sa.String(length=32), server_default="grade", nullable=False))
        batch_op.add_column(sa.Column("payload", sa.JSON(), server_default="{}", nullable=False))
        batch_op.add_column(sa.Column("consumer", sa.String(length=200), nullable=True))
        batch_op.add_column(sa.Column("available_at", sa.DateTime(timezone=True), nullable=True))
        batch_op.add_column(sa.Column("lease_until", sa.DateTime(timezone=True), nullable=True))
        batch_op.create_index("ix_grading_jobs_available_at", ["available_at"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("grading_jobs", schema=None) as batch_op:
        batch_op.drop_index("ix_grading_jobs_available_at")
        batch_op.drop_column("lease_until")
        batch_op.drop_column("available_at")
        batch_op.drop_column("consumer")
        batch_op.drop_column("payload")
        batch_op.drop_column("kind")
