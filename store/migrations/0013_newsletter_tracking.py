"""The newsletter's second part: campaigns that pause themselves on a bad bounce or complaint
rate (why, and since when the rates are judged), opt-in tracking (`track`), one table of
opens and clicks (campaign_event), and the bounces and complaints read from a mailbox
(bounce: one row per report and address, so reading a mailbox twice counts nothing twice)."""
from peewee import *


def up(migrator, db):
    class Campaign(Model):
        class Meta:
            database = db
            table_name = 'campaign'

    class CampaignMail(Model):
        class Meta:
            database = db
            table_name = 'campaign_mail'

    class CampaignEvent(Model):
        created_at = DateTimeField()
        updated_at = DateTimeField()
        campaign = ForeignKeyField(Campaign, on_delete='CASCADE', index=False)
        mail = ForeignKeyField(CampaignMail, on_delete='CASCADE', column_name='mail_id')
        kind = CharField()
        link = IntegerField(default=-1)
        machine = BooleanField(default=False)
        why = CharField(default='')

        class Meta:
            database = db
            table_name = 'campaign_event'
            indexes = ((('campaign', 'kind', 'machine', 'mail', 'created_at'), False),)

    class Bounce(Model):
        created_at = DateTimeField()
        updated_at = DateTimeField()
        email_key = CharField()
        kind = CharField()
        status = CharField(default='')
        campaign = IntegerField(null=True, column_name='campaign_id')
        mail = IntegerField(null=True, column_name='mail_id')
        report_key = CharField()
        detail = TextField(default='')

        class Meta:
            database = db
            table_name = 'bounce'
            indexes = ((('report_key', 'email_key'), True), (('email_key', 'created_at'), False),
                       (('campaign', 'kind'), False))

    stamp = 'DATETIME' if isinstance(db, SqliteDatabase) else 'TIMESTAMP'
    with db.atomic():
        # Written out, with defaults in the database: peewee's add_column of a NOT NULL
        # column rebuilds an SQLite table (see 0008).
        db.execute_sql("ALTER TABLE campaign ADD COLUMN track BOOLEAN NOT NULL DEFAULT FALSE")
        db.execute_sql("ALTER TABLE campaign ADD COLUMN paused_reason VARCHAR(255) NOT NULL "
                       "DEFAULT ''")
        db.execute_sql(f"ALTER TABLE campaign ADD COLUMN judged_from {stamp}")
        db.create_tables([CampaignEvent, Bounce])


def down(migrator, db):
    with db.atomic():
        for table in ('campaign_event', 'bounce'):
            db.execute_sql(f'DROP TABLE IF EXISTS {table}')
        for column in ('track', 'paused_reason', 'judged_from'):
            db.execute_sql(f"ALTER TABLE campaign DROP COLUMN {column}")
