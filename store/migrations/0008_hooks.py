"""Doors in and out: webhook endpoints and their deliveries (an outbox of their own), and the
external reference an imported order keeps (its source and its name there, `#1001`), unique
per source so that importing a file twice creates nothing the second time."""
from peewee import *


def up(migrator, db):
    class WebhookEndpoint(Model):
        created_at = DateTimeField()
        updated_at = DateTimeField()
        url = TextField()
        events = TextField(default='')
        description = CharField(default='')
        secret = CharField()
        previous_secret = CharField(default='')
        previous_until = DateTimeField(null=True)
        active = BooleanField(default=True)
        disabled_at = DateTimeField(null=True)
        disabled_reason = TextField(default='')
        created_by = CharField(default='')

        class Meta:
            database = db
            table_name = 'webhook_endpoint'

    class Order(Model):
        class Meta:
            database = db
            table_name = 'orders'

    class Customer(Model):
        class Meta:
            database = db
            table_name = 'customer'

    class WebhookDelivery(Model):
        created_at = DateTimeField()
        updated_at = DateTimeField()
        endpoint = ForeignKeyField(WebhookEndpoint, on_delete='CASCADE')
        event = CharField()
        message_id = CharField(unique=True)
        payload = TextField(default='{}')
        state = CharField(default='queued', index=True)
        order = ForeignKeyField(Order, null=True, on_delete='SET NULL')
        customer = ForeignKeyField(Customer, null=True, on_delete='SET NULL')
        attempts = IntegerField(default=0)
        next_attempt_at = DateTimeField(index=True)
        lease_until = DateTimeField(null=True)
        lease_owner = CharField(default='')
        last_status = IntegerField(default=0)
        last_error = TextField(default='')
        delivered_at = DateTimeField(null=True)

        class Meta:
            database = db
            table_name = 'webhook_delivery'

    with db.atomic():
        # Written out: peewee's add_column of a NOT NULL column rebuilds an SQLite table,
        # which drops its triggers (the search index's). A default in the database too: bulk
        # writers that name their columns (the demo builder) leave these out.
        for column in ('external_source', 'external_reference'):
            db.execute_sql(f"ALTER TABLE orders ADD COLUMN {column} VARCHAR(255) NOT NULL "
                           "DEFAULT ''")
        db.create_tables([WebhookEndpoint, WebhookDelivery])
        db.execute_sql("CREATE UNIQUE INDEX orders_external ON orders "
                       "(external_source, external_reference) WHERE external_reference <> ''")
        db.execute_sql("CREATE INDEX webhook_delivery_due ON webhook_delivery "
                       "(state, next_attempt_at, id)")


def down(migrator, db):
    with db.atomic():
        db.execute_sql('DROP TABLE IF EXISTS webhook_delivery')
        db.execute_sql('DROP TABLE IF EXISTS webhook_endpoint')
        db.execute_sql('DROP INDEX IF EXISTS orders_external')
        for column in ('external_reference', 'external_source'):
            db.execute_sql(f"ALTER TABLE orders DROP COLUMN {column}")
