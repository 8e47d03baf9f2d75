"""Operations: the delivery workers' heartbeats, the backups made, and the alerts raised (so an
alert mail goes once per episode, not once per worker or per beat)."""
from peewee import *


def up(migrator, db):
    class Heartbeat(Model):
        created_at = DateTimeField()
        updated_at = DateTimeField()
        name = CharField(unique=True)
        kind = CharField(default='worker')
        host = CharField(default='')
        pid = IntegerField(default=0)
        started_at = DateTimeField()
        beat_at = DateTimeField(index=True)
        stopped_at = DateTimeField(null=True)
        class Meta:
            database = db
            table_name = 'heartbeat'

    class BackupRecord(Model):
        created_at = DateTimeField()
        updated_at = DateTimeField()
        file = CharField(default='')
        bytes = IntegerField(default=0)
        seconds = FloatField(default=0)
        backend = CharField(default='')
        operator_login = CharField(default='')
        class Meta:
            database = db
            table_name = 'backup_record'

    class OpsAlert(Model):
        created_at = DateTimeField()
        updated_at = DateTimeField()
        key = CharField(unique=True)
        raised_at = DateTimeField(null=True)
        cleared_at = DateTimeField(null=True)
        detail = TextField(default='')
        class Meta:
            database = db
            table_name = 'ops_alert'

    db.create_tables([Heartbeat, BackupRecord, OpsAlert])


def down(migrator, db):
    for table in ('ops_alert', 'backup_record', 'heartbeat'):
        db.execute_sql(f'DROP TABLE IF EXISTS {table}')
