"""QC documents, progress, shipment, delivery inspection

Revision ID: 248adc31aac3
Revises: b21258a95ef3
Create Date: 2026-12-01 16:57:29.138971
"""

from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel
from alembic import op

import market.core.models


revision: str = '248adc31aac3'
down_revision: str | None = 'b21258a95ef3'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table('booking_document',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('booking_id', sa.Integer(), nullable=False),
    sa.Column('order_id', sa.Integer(), nullable=False),
    sa.Column('operation_id', sa.Integer(), nullable=False),
    sa.Column('factory_company_id', sa.Integer(), nullable=False),
    sa.Column('uploaded_by_id', sa.Integer(), nullable=True),
    sa.Column('kind', sqlmodel.sql.sqltypes.AutoString(length=20), nullable=False),
    sa.Column('sha256', sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
    sa.Column('size', sa.Integer(), nullable=False),
    sa.Column('file_type', sqlmodel.sql.sqltypes.AutoString(length=8), nullable=False),
    sa.Column('content_type', sqlmodel.sql.sqltypes.AutoString(length=80), nullable=False),
    sa.Column('filename', sqlmodel.sql.sqltypes.AutoString(length=160), nullable=False),
    sa.Column('created_at', market.core.models.UTCDateTime(timezone=True), nullable=False),
    sa.CheckConstraint("kind in ('inspection_report', 'coc', 'material_cert', 'photo', 'fai', 'other')", name=op.f('ck_booking_document_kind')),
    sa.CheckConstraint('size > 0', name=op.f('ck_booking_document_size')),
    sa.ForeignKeyConstraint(['booking_id'], ['booking.id'], name=op.f('fk_booking_document_booking_id_booking')),
    sa.ForeignKeyConstraint(['factory_company_id'], ['company.id'], name=op.f('fk_booking_document_factory_company_id_company')),
    sa.ForeignKeyConstraint(['operation_id'], ['order_operation.id'], name=op.f('fk_booking_document_operation_id_order_operation')),
    sa.ForeignKeyConstraint(['order_id'], ['buyer_order.id'], name=op.f('fk_booking_document_order_id_buyer_order')),
    sa.ForeignKeyConstraint(['uploaded_by_id'], ['user_account.id'], name=op.f('fk_booking_document_uploaded_by_id_user_account')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_booking_document'))
    )
    with op.batch_alter_table('booking_document', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_booking_document_booking_id'), ['booking_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_booking_document_order_id'), ['order_id'], unique=False)

    with op.batch_alter_table('booking', schema=None) as batch_op:
        batch_op.add_column(sa.Column('quantity_done', sa.Integer(), server_default='0', nullable=False))
        batch_op.add_column(sa.Column('qc_result', sqlmodel.sql.sqltypes.AutoString(length=8), server_default='', nullable=False))
        batch_op.add_column(sa.Column('qc_failed_at', market.core.models.UTCDateTime(timezone=True), nullable=True))
        batch_op.add_column(sa.Column('shipped_at', market.core.models.UTCDateTime(timezone=True), nullable=True))
        batch_op.add_column(sa.Column('carrier', sqlmodel.sql.sqltypes.AutoString(length=80), server_default='', nullable=False))
        batch_op.add_column(sa.Column('tracking_number', sqlmodel.sql.sqltypes.AutoString(length=80), server_default='', nullable=False))

    with op.batch_alter_table('buyer_order', schema=None) as batch_op:
        batch_op.add_column(sa.Column('shipped_at', market.core.models.UTCDateTime(timezone=True), nullable=True))
        batch_op.add_column(sa.Column('required_documents', sa.JSON(), server_default='[]', nullable=False))

    # the inspection window runs from the shipment: orders shipped before this revision take
    # the time of their timeline's "shipped" event
    op.execute("UPDATE buyer_order SET shipped_at = (SELECT max(e.at) FROM order_event e "
               "WHERE e.order_id = buyer_order.id AND e.kind = 'shipped') "
               "WHERE status IN ('shipped', 'delivered', 'closed', 'disputed')")

    with op.batch_alter_table('dispute', schema=None) as batch_op:
        batch_op.add_column(sa.Column('remedy', sqlmodel.sql.sqltypes.AutoString(length=16), server_default='', nullable=False))
        batch_op.add_column(sa.Column('attachment_ids', sa.JSON(), server_default='[]', nullable=False))


def downgrade() -> None:
    with op.batch_alter_table('dispute', schema=None) as batch_op:
        batch_op.drop_column('attachment_ids')
        batch_op.drop_column('remedy')

    with op.batch_alter_table('buyer_order', schema=None) as batch_op:
        batch_op.drop_column('required_documents')
        batch_op.drop_column('shipped_at')

    with op.batch_alter_table('booking', schema=None) as batch_op:
        batch_op.drop_column('tracking_number')
        batch_op.drop_column('carrier')
        batch_op.drop_column('shipped_at')
        batch_op.drop_column('qc_failed_at')
        batch_op.drop_column('qc_result')
        batch_op.drop_column('quantity_done')

    with op.batch_alter_table('booking_document', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_booking_document_order_id'))
        batch_op.drop_index(batch_op.f('ix_booking_document_booking_id'))

    op.drop_table('booking_document')
