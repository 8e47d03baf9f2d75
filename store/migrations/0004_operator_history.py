"""Operator history: who added, re-roled, deactivated or reactivated an operator, and when."""
from peewee import *


def up(migrator, db):
    class OperatorEvent(Model):
        created_at = DateTimeField()
        updated_at = DateTimeField()
        login = CharField(index=True)
        kind = CharField()
        old_role = CharField(default='')
        new_role = CharField(default='')
        operator_login = CharField(default='')
        class Meta:
            database = db
            table_name = 'operator_event'
    db.create_tables([OperatorEvent])


def down(migrator, db):
    db.execute_sql('DROP TABLE IF EXISTS operator_event')
