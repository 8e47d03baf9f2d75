"""The newsletter: subscribers with their consent record, the suppression list, campaigns and
their recipients (an outbox of their own), the shop-wide send-rate bucket, and an operator's
own address (where a campaign's test send goes). Customers who gave marketing consent become
subscribers ("customer account"), their consent's time and wording kept."""
from peewee import *


def up(migrator, db):
    class Customer(Model):
        class Meta:
            database = db
            table_name = 'customer'

    class Subscriber(Model):
        created_at = DateTimeField()
        updated_at = DateTimeField()
        email = CharField(default='')
        email_key = CharField(null=True, unique=True)
        first_name = CharField(default='')
        last_name = CharField(default='')
        language = CharField(default='en')
        customer = ForeignKeyField(Customer, null=True, on_delete='SET NULL')
        state = CharField(default='subscribed', index=True)
        consent_source = CharField(default='')
        consent_at = DateTimeField()
        consent_text = TextField(default='')
        confirmed_at = DateTimeField(null=True)
        state_at = DateTimeField(null=True)
        state_how = CharField(default='')
        state_campaign = IntegerField(null=True)
        added_by = CharField(default='')

        class Meta:
            database = db
            table_name = 'subscriber'

    class Suppression(Model):
        created_at = DateTimeField()
        updated_at = DateTimeField()
        email_key = CharField(unique=True)
        reason = CharField()
        detail = TextField(default='')
        operator_login = CharField(default='')

        class Meta:
            database = db
            table_name = 'suppression'

    class Campaign(Model):
        created_at = DateTimeField()
        updated_at = DateTimeField()
        name = CharField(unique=True)
        subject = CharField(default='')
        sender_name = CharField(default='')
        sender_email = CharField(default='')
        body_kind = CharField(default='template')
        body = TextField(default='')
        text_body = TextField(default='')
        audience = CharField(default='')
        state = CharField(default='draft', index=True)
        scheduled_at = DateTimeField(null=True)
        started_at = DateTimeField(null=True)
        finished_at = DateTimeField(null=True)
        queued_through = IntegerField(default=0)
        queued_all = BooleanField(default=False)
        recipients = IntegerField(default=0)
        created_by = CharField(default='')
        updated_by = CharField(default='')
        version = IntegerField(default=1)

        class Meta:
            database = db
            table_name = 'campaign'

    class CampaignMail(Model):
        created_at = DateTimeField()
        updated_at = DateTimeField()
        campaign = ForeignKeyField(Campaign, on_delete='CASCADE')
        subscriber = ForeignKeyField(Subscriber, null=True, on_delete='SET NULL')
        state = CharField(default='queued')
        attempts = IntegerField(default=0)
        next_attempt_at = DateTimeField()
        lease_until = DateTimeField(null=True)
        lease_owner = CharField(default='')
        message_id = CharField(default='')
        sent_at = DateTimeField(null=True)
        last_error = TextField(default='')

        class Meta:
            database = db
            table_name = 'campaign_mail'
            indexes = ((('campaign', 'subscriber'), True),)

    class SendRate(Model):
        created_at = DateTimeField()
        updated_at = DateTimeField()
        name = CharField(unique=True)
        tokens = FloatField(default=0)
        refilled_at = DateTimeField()
        blocked_until = DateTimeField(null=True)
        backoff_seconds = FloatField(default=0)

        class Meta:
            database = db
            table_name = 'send_rate'

    with db.atomic():
        # Written out, with a default in the database: peewee's add_column of a NOT NULL
        # column rebuilds an SQLite table (see 0008).
        db.execute_sql("ALTER TABLE operator ADD COLUMN email VARCHAR(255) NOT NULL "
                       "DEFAULT ''")
        db.create_tables([Subscriber, Suppression, Campaign, CampaignMail, SendRate])
        # what a claim looks for: the due rows of a campaign being sent, in order
        db.execute_sql("CREATE INDEX campaign_mail_due ON campaign_mail "
                       "(campaign_id, state, next_attempt_at, id)")
        db.execute_sql(
            "INSERT INTO subscriber (created_at, updated_at, email, email_key, first_name, "
            "last_name, language, customer_id, state, consent_source, consent_at, "
            "consent_text, confirmed_at, state_how, added_by) "
            "SELECT c.created_at, c.updated_at, c.email, c.email_key, c.first_name, "
            "c.last_name, c.language, c.id, 'subscribed', 'customer account', "
            "COALESCE(c.consent_at, c.registered_at), c.consent_source, NULL, '', 'migration' "
            "FROM customer c WHERE c.marketing_consent AND c.email_key IS NOT NULL "
            "AND c.status <> 'deleted'")


def down(migrator, db):
    with db.atomic():
        for table in ('campaign_mail', 'campaign', 'send_rate', 'suppression', 'subscriber'):
            db.execute_sql(f'DROP TABLE IF EXISTS {table}')
        db.execute_sql("ALTER TABLE operator DROP COLUMN email")
