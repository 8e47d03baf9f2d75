"""The newsletter's second part: campaigns that pause themselves on a bad bounce or complaint
rate (why, and since when the rates are judged), opt-in tracking (`track`), one table of
opens and clicks (campaign_event), the bounces and complaints read from a mailbox (bounce:
one row per report and address, so reading a mailbox twice counts nothing twice), and the
subject A/B test (a second subject, the sample, the wait, the metric, the winner; each
mail's variant)."""
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
        for column, kind in (('subject_b', "VARCHAR(255) NOT NULL DEFAULT ''"),
                             ('ab_sample', 'INTEGER NOT NULL DEFAULT 0'),
                             ('ab_wait_minutes', 'INTEGER NOT NULL DEFAULT 0'),
                             ('ab_metric', "VARCHAR(16) NOT NULL DEFAULT ''"),
                             ('ab_winner', "VARCHAR(1) NOT NULL DEFAULT ''"),
                             ('ab_result', "VARCHAR(255) NOT NULL DEFAULT ''")):
            db.execute_sql(f"ALTER TABLE campaign ADD COLUMN {column} {kind}")
        db.execute_sql("ALTER TABLE campaign_mail ADD COLUMN variant VARCHAR(1) NOT NULL "
                       "DEFAULT ''")
        db.create_tables([CampaignEvent, Bounce])
        # a campaign's report counts the subscribers its links unsubscribed
        db.execute_sql("CREATE INDEX subscriber_state_campaign ON subscriber (state_campaign)")


def down(migrator, db):
    with db.atomic():
        for table in ('campaign_event', 'bounce'):
            db.execute_sql(f'DROP TABLE IF EXISTS {table}')
        db.execute_sql("DROP INDEX IF EXISTS subscriber_state_campaign")
        db.execute_sql("ALTER TABLE campaign_mail DROP COLUMN variant")
        for column in ('track', 'paused_reason', 'judged_from', 'subject_b', 'ab_sample',
                       'ab_wait_minutes', 'ab_metric', 'ab_winner', 'ab_result'):
            db.execute_sql(f"ALTER TABLE campaign DROP COLUMN {column}")
