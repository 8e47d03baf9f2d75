"""The storefront API: API keys (their secrets kept as SHA-256 only) and the Idempotency-Key
records of each key, unique per key. A customer waiting for validation is a new value of
customer.status ("pending"), which needs no column."""
from peewee import *


def up(migrator, db):
    class ApiKey(Model):
        created_at = DateTimeField()
        updated_at = DateTimeField()
        name = CharField(unique=True)
        key_id = CharField(unique=True)
        secret_sha256 = CharField()
        scopes = CharField(default='')
        created_by = CharField(default='')
        revoked_at = DateTimeField(null=True)
        revoked_by = CharField(default='')
        class Meta:
            database = db
            table_name = 'api_key'

    class IdempotencyRecord(Model):
        created_at = DateTimeField(index=True)
        updated_at = DateTimeField()
        api_key = ForeignKeyField(ApiKey, on_delete='CASCADE')
        key = CharField()
        fingerprint = CharField()
        state = CharField(default='started')
        claim = CharField(default='')
        lease_until = DateTimeField(null=True)
        status_code = IntegerField(null=True)
        body = TextField(default='')
        class Meta:
            database = db
            table_name = 'idempotency_record'
            indexes = ((('api_key', 'key'), True),)
    db.create_tables([ApiKey, IdempotencyRecord])


def down(migrator, db):
    db.execute_sql('DROP TABLE IF EXISTS idempotency_record')
    db.execute_sql('DROP TABLE IF EXISTS api_key')
