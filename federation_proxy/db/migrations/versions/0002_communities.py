"""Identities, communities, clients and the OIDC provider's state.

Revision ID: 0002
Revises: 0001
"""

from alembic import op
import sqlalchemy as sa

revision = '0002'
down_revision = '0001'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        'audit',
        sa.Column('id', sa.Integer(), autoincrement=True, nullable=False),
        sa.Column('at', sa.DateTime(), nullable=False),
        sa.Column('actor', sa.String(length=64), nullable=True),
        sa.Column('vo_id', sa.String(length=64), nullable=True),
        sa.Column('action', sa.String(length=64), nullable=False),
        sa.Column('object_type', sa.String(length=32), nullable=False),
        sa.Column('object_id', sa.String(length=64), nullable=False),
        sa.Column('detail', sa.Text(), nullable=True),
        sa.PrimaryKeyConstraint('id')
    )
    op.create_index(op.f('ix_audit_vo_id'), 'audit', ['vo_id'], unique=False)
    op.create_table(
        'authorization_codes',
        sa.Column('code_hash', sa.String(length=64), nullable=False),
        sa.Column('client_id', sa.String(length=64), nullable=False),
        sa.Column('user_id', sa.String(length=64), nullable=False),
        sa.Column('redirect_uri', sa.String(length=1024), nullable=False),
        sa.Column('scope', sa.String(length=255), nullable=False),
        sa.Column('nonce', sa.String(length=255), nullable=True),
        sa.Column('code_challenge', sa.String(length=128), nullable=True),
        sa.Column('code_challenge_method', sa.String(length=8), nullable=True),
        sa.Column('expires_at', sa.DateTime(), nullable=False),
        sa.Column('used', sa.Boolean(), nullable=False),
        sa.PrimaryKeyConstraint('code_hash')
    )
    op.create_table(
        'clients',
        sa.Column('id', sa.String(length=64), nullable=False),
        sa.Column('name', sa.String(length=255), nullable=False),
        sa.Column('secret_hash', sa.String(length=64), nullable=True),
        sa.Column('redirect_uris', sa.Text(), nullable=False),
        sa.Column('grant_types', sa.Text(), nullable=False),
        sa.Column('scope', sa.String(length=255), nullable=False),
        sa.Column('created_at', sa.DateTime(),
                  server_default=sa.func.now(), nullable=False),
        sa.PrimaryKeyConstraint('id')
    )
    op.create_table(
        'idps',
        sa.Column('id', sa.String(length=64), nullable=False),
        sa.Column('name', sa.String(length=255), nullable=False),
        sa.Column('issuer', sa.String(length=255), nullable=False),
        sa.Column('client_id', sa.String(length=255), nullable=False),
        sa.Column('client_secret', sa.String(length=255), nullable=True),
        sa.Column('scopes', sa.String(length=255), nullable=False),
        sa.Column('claim_mapping', sa.Text(), nullable=False),
        sa.Column('enabled', sa.Boolean(), nullable=False),
        sa.Column('created_at', sa.DateTime(),
                  server_default=sa.func.now(), nullable=False),
        sa.PrimaryKeyConstraint('id'),
        sa.UniqueConstraint('issuer'),
        sa.UniqueConstraint('name')
    )
    op.create_table(
        'refresh_tokens',
        sa.Column('token_hash', sa.String(length=64), nullable=False),
        sa.Column('client_id', sa.String(length=64), nullable=False),
        sa.Column('user_id', sa.String(length=64), nullable=False),
        sa.Column('scope', sa.String(length=255), nullable=False),
        sa.Column('expires_at', sa.DateTime(), nullable=False),
        sa.Column('revoked', sa.Boolean(), nullable=False),
        sa.PrimaryKeyConstraint('token_hash')
    )
    op.create_index(op.f('ix_refresh_tokens_user_id'), 'refresh_tokens',
                    ['user_id'], unique=False)
    op.create_table(
        'revoked_tokens',
        sa.Column('jti', sa.String(length=64), nullable=False),
        sa.Column('expires_at', sa.DateTime(), nullable=False),
        sa.PrimaryKeyConstraint('jti')
    )
    op.create_table(
        'signing_keys',
        sa.Column('kid', sa.String(length=64), nullable=False),
        sa.Column('state', sa.String(length=16), nullable=False),
        sa.Column('private_pem', sa.Text(), nullable=False),
        sa.Column('public_jwk', sa.Text(), nullable=False),
        sa.Column('created_at', sa.DateTime(),
                  server_default=sa.func.now(), nullable=False),
        sa.PrimaryKeyConstraint('kid')
    )
    op.create_table(
        'users',
        sa.Column('id', sa.String(length=64), nullable=False),
        sa.Column('name', sa.String(length=255), nullable=True),
        sa.Column('email', sa.String(length=255), nullable=True),
        sa.Column('created_at', sa.DateTime(),
                  server_default=sa.func.now(), nullable=False),
        sa.PrimaryKeyConstraint('id')
    )
    op.create_table(
        'vos',
        sa.Column('id', sa.String(length=64), nullable=False),
        sa.Column('name', sa.String(length=64), nullable=False),
        sa.Column('description', sa.String(length=255), nullable=True),
        sa.Column('created_at', sa.DateTime(),
                  server_default=sa.func.now(), nullable=False),
        sa.PrimaryKeyConstraint('id'),
        sa.UniqueConstraint('name')
    )
    op.create_table(
        'groups',
        sa.Column('id', sa.String(length=64), nullable=False),
        sa.Column('vo_id', sa.String(length=64), nullable=False),
        sa.Column('parent_id', sa.String(length=64), nullable=True),
        sa.Column('path', sa.String(length=255), nullable=False),
        sa.Column('description', sa.String(length=255), nullable=True),
        sa.Column('created_at', sa.DateTime(),
                  server_default=sa.func.now(), nullable=False),
        sa.ForeignKeyConstraint(['parent_id'], ['groups.id'], ),
        sa.ForeignKeyConstraint(['vo_id'], ['vos.id'], ),
        sa.PrimaryKeyConstraint('id'),
        sa.UniqueConstraint('path')
    )
    op.create_index(op.f('ix_groups_vo_id'), 'groups', ['vo_id'], unique=False)
    op.create_table(
        'identities',
        sa.Column('id', sa.String(length=64), nullable=False),
        sa.Column('user_id', sa.String(length=64), nullable=False),
        sa.Column('issuer', sa.String(length=255), nullable=False),
        sa.Column('subject', sa.String(length=255), nullable=False),
        sa.Column('created_at', sa.DateTime(),
                  server_default=sa.func.now(), nullable=False),
        sa.ForeignKeyConstraint(['user_id'], ['users.id'], ),
        sa.PrimaryKeyConstraint('id'),
        sa.UniqueConstraint('issuer', 'subject',
                            name='uniq_identities0issuer_subject')
    )
    op.create_index(op.f('ix_identities_user_id'), 'identities', ['user_id'],
                    unique=False)
    op.create_table(
        'roles',
        sa.Column('id', sa.String(length=64), nullable=False),
        sa.Column('vo_id', sa.String(length=64), nullable=False),
        sa.Column('name', sa.String(length=64), nullable=False),
        sa.Column('description', sa.String(length=255), nullable=True),
        sa.ForeignKeyConstraint(['vo_id'], ['vos.id'], ),
        sa.PrimaryKeyConstraint('id'),
        sa.UniqueConstraint('vo_id', 'name', name='uniq_roles0vo_name')
    )
    op.create_table(
        'invitations',
        sa.Column('id', sa.String(length=64), nullable=False),
        sa.Column('vo_id', sa.String(length=64), nullable=False),
        sa.Column('group_id', sa.String(length=64), nullable=False),
        sa.Column('role', sa.String(length=64), nullable=False),
        sa.Column('email', sa.String(length=255), nullable=False),
        sa.Column('token_hash', sa.String(length=64), nullable=False),
        sa.Column('status', sa.String(length=16), nullable=False),
        sa.Column('expires_at', sa.DateTime(), nullable=False),
        sa.Column('created_by', sa.String(length=64), nullable=True),
        sa.Column('accepted_by', sa.String(length=64), nullable=True),
        sa.Column('created_at', sa.DateTime(),
                  server_default=sa.func.now(), nullable=False),
        sa.ForeignKeyConstraint(['group_id'], ['groups.id'], ),
        sa.ForeignKeyConstraint(['vo_id'], ['vos.id'], ),
        sa.PrimaryKeyConstraint('id'),
        sa.UniqueConstraint('token_hash')
    )
    op.create_index(op.f('ix_invitations_vo_id'), 'invitations', ['vo_id'],
                    unique=False)
    op.create_table(
        'memberships',
        sa.Column('id', sa.String(length=64), nullable=False),
        sa.Column('vo_id', sa.String(length=64), nullable=False),
        sa.Column('group_id', sa.String(length=64), nullable=False),
        sa.Column('user_id', sa.String(length=64), nullable=False),
        sa.Column('role', sa.String(length=64), nullable=False),
        sa.Column('status', sa.String(length=16), nullable=False),
        sa.Column('expires_at', sa.DateTime(), nullable=True),
        sa.Column('created_at', sa.DateTime(),
                  server_default=sa.func.now(), nullable=False),
        sa.Column('updated_at', sa.DateTime(), nullable=True),
        sa.ForeignKeyConstraint(['group_id'], ['groups.id'], ),
        sa.ForeignKeyConstraint(['user_id'], ['users.id'], ),
        sa.ForeignKeyConstraint(['vo_id'], ['vos.id'], ),
        sa.PrimaryKeyConstraint('id'),
        sa.UniqueConstraint('user_id', 'group_id', 'role',
                            name='uniq_memberships0user_group_role')
    )
    op.create_index(op.f('ix_memberships_user_id'), 'memberships',
                    ['user_id'], unique=False)
    op.create_index(op.f('ix_memberships_vo_id'), 'memberships', ['vo_id'],
                    unique=False)
    op.create_table(
        'requests',
        sa.Column('id', sa.String(length=64), nullable=False),
        sa.Column('vo_id', sa.String(length=64), nullable=False),
        sa.Column('group_id', sa.String(length=64), nullable=False),
        sa.Column('user_id', sa.String(length=64), nullable=False),
        sa.Column('role', sa.String(length=64), nullable=False),
        sa.Column('reason', sa.String(length=1024), nullable=True),
        sa.Column('status', sa.String(length=16), nullable=False),
        sa.Column('decided_by', sa.String(length=64), nullable=True),
        sa.Column('decided_at', sa.DateTime(), nullable=True),
        sa.Column('created_at', sa.DateTime(),
                  server_default=sa.func.now(), nullable=False),
        sa.ForeignKeyConstraint(['group_id'], ['groups.id'], ),
        sa.ForeignKeyConstraint(['user_id'], ['users.id'], ),
        sa.ForeignKeyConstraint(['vo_id'], ['vos.id'], ),
        sa.PrimaryKeyConstraint('id')
    )
    op.create_index(op.f('ix_requests_vo_id'), 'requests', ['vo_id'],
                    unique=False)


def downgrade():
    op.drop_index(op.f('ix_requests_vo_id'), table_name='requests')
    op.drop_table('requests')
    op.drop_index(op.f('ix_memberships_vo_id'), table_name='memberships')
    op.drop_index(op.f('ix_memberships_user_id'), table_name='memberships')
    op.drop_table('memberships')
    op.drop_index(op.f('ix_invitations_vo_id'), table_name='invitations')
    op.drop_table('invitations')
    op.drop_table('roles')
    op.drop_index(op.f('ix_identities_user_id'), table_name='identities')
    op.drop_table('identities')
    op.drop_index(op.f('ix_groups_vo_id'), table_name='groups')
    op.drop_table('groups')
    op.drop_table('vos')
    op.drop_table('users')
    op.drop_table('signing_keys')
    op.drop_table('revoked_tokens')
    op.drop_index(op.f('ix_refresh_tokens_user_id'),
                  table_name='refresh_tokens')
    op.drop_table('refresh_tokens')
    op.drop_table('idps')
    op.drop_table('clients')
    op.drop_table('authorization_codes')
    op.drop_index(op.f('ix_audit_vo_id'), table_name='audit')
    op.drop_table('audit')
