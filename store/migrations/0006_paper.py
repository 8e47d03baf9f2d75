"""Paper and parcels: invoices and credit notes (numbered per series, frozen as issued),
carrier labels stored with their order, the order's gift message, and an index on tracking
numbers (the ship station refuses a number already on another order, at a scanner's pace)."""
from peewee import *


def up(migrator, db):
    class Orders(Model):
        class Meta:
            database = db
            table_name = 'orders'

    class Invoice(Model):
        created_at = DateTimeField()
        updated_at = DateTimeField()
        kind = CharField()
        series = CharField()
        number = IntegerField()
        code = CharField(unique=True)
        order = ForeignKeyField(Orders, backref='invoices', on_delete='RESTRICT')
        corrects = ForeignKeyField('self', null=True, backref='credit_notes',
                                   on_delete='RESTRICT')
        issued_at = DateTimeField()
        currency = CharField(max_length=3)
        total = IntegerField()
        data = TextField()
        operator_login = CharField(default='')

        class Meta:
            database = db
            table_name = 'invoice'
            indexes = ((('series', 'number'), True), (('order', 'kind'), False))

    class OrderLabel(Model):
        created_at = DateTimeField()
        updated_at = DateTimeField()
        order = ForeignKeyField(Orders, backref='labels', on_delete='CASCADE', unique=True)
        filename = CharField(default='')
        pages = IntegerField(default=1)
        size = IntegerField(default=0)
        data = BlobField()
        operator_login = CharField(default='')

        class Meta:
            database = db
            table_name = 'order_label'

    db.create_tables([Invoice, OrderLabel])
    # Written out: peewee's SQLite migrator would rebuild the table to add a NOT NULL column,
    # dropping the search index's triggers on it (0002); both databases add it in place.
    db.execute_sql("ALTER TABLE orders ADD COLUMN gift_message TEXT NOT NULL DEFAULT ''")
    db.execute_sql('CREATE INDEX IF NOT EXISTS orders_tracking ON orders (tracking_number)')


def down(migrator, db):
    db.execute_sql('DROP INDEX IF EXISTS orders_tracking')
    db.execute_sql('ALTER TABLE orders DROP COLUMN gift_message')
    db.execute_sql('DROP TABLE IF EXISTS order_label')
    db.execute_sql('DROP TABLE IF EXISTS invoice')
