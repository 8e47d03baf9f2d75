"""The newsletter (key 5): campaigns with their state and counts above, subscribers with their
consent below (search as you type, filter by state); the campaign editor, a preview as a
chosen subscriber would read it, a test send, send now or at a time of the shop's time zone,
pause, resume, cancel. Managers create and send; clerks look (the keys they may not use are
not offered). Every change is a call into store.campaigns, as the command line makes it."""

from __future__ import annotations

import asyncio
import datetime as dt
import zoneinfo
from typing import Any

from rich.text import Text
from textual import on, work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.widgets import DataTable, Footer, Input, Static

from mailer.campaign_preview import preview
from mailer.campaigns import send_test
from store import (
    campaign_prep,
    campaign_queries,
    campaign_report,
    campaigns,
    subscriber_queries,
    subscribers,
)
from store.campaign_queries import CampaignRow
from store.errors import BackroomError
from store.models import SUBSCRIBER_STATES
from store.subscriber_queries import SubscriberRow
from tui.dialogs.campaign_editor import CampaignEditor
from tui.dialogs.confirm import ConfirmDialog
from tui.dialogs.form import FormDialog
from tui.dialogs.prompt import TextPrompt
from tui.format import money, shown
from tui.messages import CampaignsLoaded, SubscribersLoaded
from tui.screens.base import BackroomScreen
from tui.widgets.table import Column, cut, fit_data_table, pick
from tui.workers import read_db, run_db

STATE_FILTERS = ("", *SUBSCRIBER_STATES, "suppressed")
STATE_STYLES = {"draft": "", "scheduled": "yellow", "sending": "cyan", "paused": "orange1",
                "sent": "green", "cancelled": "dim", "subscribed": "green",
                "pending": "yellow", "unsubscribed": "dim", "bounced": "red",
                "complained": "bold red"}
# Sized by tui.widgets.table.fit: counts and times never cut, names and emails share the rest.
CAMPAIGN_COLUMNS = (Column("name", "Campaign", 12, grow=1), Column("state", "State", 9),
                    Column("recipients", "Recips", 6), Column("sent", "Sent", 6),
                    Column("failed", "Failed", 6), Column("unsub", "Unsub", 5),
                    Column("when", "When", 14))
SUBSCRIBER_COLUMNS = (Column("email", "Email", 16, grow=3), Column("name", "Name", 10, grow=2),
                      Column("state", "State", 12), Column("source", "Source", 11, drop=1),
                      Column("since", "Consent", 8))
PAGE = 200
REFRESH_SECONDS = 3.0


class NewsletterScreen(BackroomScreen):
    """Campaigns above, subscribers below; Tab moves between them; Enter shows the details."""

    NAME = "Newsletter"

    BINDINGS = [
        Binding("n", "new_campaign", "New", id="newsletter.new"),
        Binding("p", "preview", "Preview", id="newsletter.preview"),
        Binding("t", "test_send", "Test", id="newsletter.test"),
        Binding("s", "send_now", "Send", id="newsletter.send"),
        Binding("w", "schedule", "Schedule", id="newsletter.schedule"),
        Binding("space", "pause_resume", "Pause", id="newsletter.pause",
                key_display="␣"),
        Binding("x", "cancel_campaign", "Cancel", id="newsletter.cancel", show=False),
        Binding("e", "edit_campaign", "Edit", id="newsletter.edit", show=False),
        Binding("c", "copy_campaign", "Copy into new", id="newsletter.copy", show=False),
        Binding("a", "add_subscriber", "Add subscriber", id="newsletter.add", show=False),
        Binding("u", "unsubscribe", "Unsubscribe", id="newsletter.unsubscribe", show=False),
        Binding("slash", "search", "Search", id="newsletter.search", show=False),
        Binding("f", "cycle_state", "Subscriber state", id="newsletter.state", show=False),
    ]
    ACTION_PERMISSIONS = {"preview": "newsletter_view", "new_campaign": "newsletter",
                          "copy_campaign": "newsletter", "edit_campaign": "newsletter",
                          "test_send": "newsletter", "send_now": "newsletter",
                          "schedule": "newsletter", "pause_resume": "newsletter",
                          "cancel_campaign": "newsletter", "add_subscriber": "newsletter",
                          "unsubscribe": "newsletter"}

    DEFAULT_CSS = """
    NewsletterScreen #campaigns-info, NewsletterScreen #subscribers-info {
        height: 1; padding: 0 1; background: $panel;
    }
    NewsletterScreen #campaigns-table { height: 7; }
    NewsletterScreen #news-detail { height: 2; padding: 0 1; color: $text-muted; }
    NewsletterScreen #subscriber-search { height: 1; border: none; padding: 0 1; }
    NewsletterScreen #subscribers-table { height: 1fr; }
    """

    def __init__(self) -> None:
        super().__init__()
        self.campaigns: dict[int, CampaignRow] = {}
        self.subscribers: dict[int, SubscriberRow] = {}
        self.state_index = 0
        self.generation = 0
        self.next_cursor: int | None = None
        self.counts: dict[str, int] = {}
        self.show_campaign: int | None = None  # the cursor goes there once it is loaded
        self.campaign_columns: tuple[Column, ...] = CAMPAIGN_COLUMNS
        self.subscriber_columns: tuple[Column, ...] = SUBSCRIBER_COLUMNS

    @property
    def zone(self) -> zoneinfo.ZoneInfo:
        return zoneinfo.ZoneInfo(str(self.backroom.config.get("shop", "time_zone")))

    def compose(self) -> ComposeResult:
        yield Static("Campaigns: loading…", id="campaigns-info", markup=False)
        yield DataTable(id="campaigns-table", cursor_type="row", zebra_stripes=True)
        yield Static("", id="news-detail", markup=False)
        yield Input(placeholder="search subscribers: address or name, accents optional  (/)",
                    id="subscriber-search")
        yield Static("", id="subscribers-info", markup=False)
        yield DataTable(id="subscribers-table", cursor_type="row", zebra_stripes=True)
        yield Footer()

    def on_mount(self) -> None:
        width = self.app.size.width
        self.campaign_columns = fit_data_table(
            self.query_one("#campaigns-table", DataTable), CAMPAIGN_COLUMNS, width)
        self.subscriber_columns = fit_data_table(
            self.query_one("#subscribers-table", DataTable), SUBSCRIBER_COLUMNS, width)
        self.query_one("#campaigns-table", DataTable).focus()
        self.set_interval(REFRESH_SECONDS, self._refresh_if_shown)
        self.action_reload()

    # ----- loading ----------------------------------------------------------------------

    def action_reload(self) -> None:
        self._load_campaigns()
        self.reload_subscribers()

    def on_screen_resume(self) -> None:
        self.action_reload()

    def _refresh_if_shown(self) -> None:
        """Counts move while a campaign goes out: read them again while the screen shows."""
        if self.shown:
            self._load_campaigns()

    @work(exclusive=True, group="campaigns-load", exit_on_error=False)
    async def _load_campaigns(self) -> None:
        actor = self.backroom.actor
        try:
            rows = await read_db(lambda: tuple(campaign_queries.campaign_list(actor)))
        except BackroomError as exc:
            message = CampaignsLoaded((), str(exc))
        else:
            message = CampaignsLoaded(rows)
        self.post_message(message)

    def reload_subscribers(self, cursor: int | None = None) -> None:
        if cursor is None:
            self.generation += 1
        text = self.query_one("#subscriber-search", Input).value
        self._load_subscribers(self.generation, text, STATE_FILTERS[self.state_index], cursor)

    @work(exclusive=True, group="subscribers-load", exit_on_error=False)
    async def _load_subscribers(self, generation: int, text: str, state: str,
                                cursor: int | None) -> None:
        actor = self.backroom.actor

        def read() -> tuple[Any, Any]:
            return (subscriber_queries.subscriber_page(actor, text, state, cursor, PAGE),
                    subscriber_queries.state_counts(actor))

        try:
            page, counts = await read_db(read)
        except BackroomError as exc:
            message = SubscribersLoaded(generation, None, {}, problem=str(exc))
        else:
            message = SubscribersLoaded(generation, page, counts, append=cursor is not None)
        self.post_message(message)

    def on_campaigns_loaded(self, message: CampaignsLoaded) -> None:
        info = self.query_one("#campaigns-info", Static)
        if message.problem:
            info.update(Text(message.problem, style="red"))
            return
        table: DataTable[Any] = self.query_one("#campaigns-table", DataTable)
        keep = self.selected_campaign()
        self.campaigns = {c.id: c for c in message.campaigns}
        with self.app.batch_update():
            table.clear()
            for c in message.campaigns:
                table.add_row(*pick(self.campaign_columns, self._campaign_cells(c),
                                    CAMPAIGN_COLUMNS), key=str(c.id))
        want = self.show_campaign or (keep.id if keep is not None else None)
        if want is not None and str(want) in table.rows:
            table.move_cursor(row=table.get_row_index(str(want)))
            self.show_campaign = None
        by_state: dict[str, int] = {}
        for c in message.campaigns:
            by_state[c.state] = by_state.get(c.state, 0) + 1
        summary = ", ".join(f"{n} {s}" for s, n in by_state.items()) or "none yet"
        info.update(Text(f"Campaigns: {summary}   · Enter: figures", overflow="ellipsis",
                         no_wrap=True))
        self._show_detail()

    def on_subscribers_loaded(self, message: SubscribersLoaded) -> None:
        if message.generation != self.generation:
            return
        info = self.query_one("#subscribers-info", Static)
        if message.page is None:
            info.update(Text(message.problem, style="red"))
            return
        table: DataTable[Any] = self.query_one("#subscribers-table", DataTable)
        keep = self.selected_subscriber()
        with self.app.batch_update():
            if not message.append:
                table.clear()
                self.subscribers = {}
            for s in message.page.rows:
                self.subscribers[s.id] = s
                table.add_row(*pick(self.subscriber_columns, self._subscriber_cells(s),
                                    SUBSCRIBER_COLUMNS), key=str(s.id))
        if not message.append and keep is not None and str(keep.id) in table.rows:
            table.move_cursor(row=table.get_row_index(str(keep.id)))
        self.next_cursor = message.page.next_cursor
        self.counts = message.counts
        self._show_subscribers_info()
        self._show_detail()

    def _show_subscribers_info(self) -> None:
        state = STATE_FILTERS[self.state_index] or "all"
        counts = ", ".join(f"{n} {s}" for s, n in self.counts.items() if n)
        more = "+" if self.next_cursor else ""
        self.query_one("#subscribers-info", Static).update(Text(
            f"Subscribers: {counts or 'none'}   · showing {state} "
            f"({len(self.subscribers)}{more}) f", overflow="ellipsis", no_wrap=True))

    def _local(self, value: dt.datetime | None) -> str:
        """A stored (UTC) time in the shop's time zone, short."""
        if value is None:
            return ""
        return f"{value.replace(tzinfo=dt.UTC).astimezone(self.zone):%y-%m-%d %H:%M}"

    def _campaign_cells(self, c: CampaignRow) -> list[Text]:
        when = {"scheduled": c.scheduled_at, "sending": c.started_at, "paused": c.started_at,
                "sent": c.finished_at, "cancelled": c.finished_at}.get(c.state)
        failed = c.counts.get("failed", 0)
        return [cut(shown(c.name)), Text(c.state, style=STATE_STYLES.get(c.state, "")),
                Text(str(c.recipients), justify="right"), Text(str(c.sent), justify="right"),
                Text(str(failed), justify="right", style="red" if failed else ""),
                Text(str(c.unsubscribed), justify="right"), Text(self._local(when))]

    @staticmethod
    def _subscriber_cells(s: SubscriberRow) -> list[Text]:
        state = s.state + (" !" if s.suppressed else "")
        return [cut(shown(s.email)), cut(shown(s.name)),
                Text(state, style=STATE_STYLES.get(s.state, "")), cut(s.consent_source),
                Text(f"{s.consent_at:%y-%m-%d}")]

    # ----- the rows under the cursors ---------------------------------------------------

    def _selected(self, selector: str, rows: dict[int, Any]) -> Any:
        table: DataTable[Any] = self.query_one(selector, DataTable)
        if table.row_count == 0:
            return None
        key = table.coordinate_to_cell_key(table.cursor_coordinate).row_key
        return rows.get(int(key.value)) if key.value is not None else None

    def selected_campaign(self) -> CampaignRow | None:
        found: CampaignRow | None = self._selected("#campaigns-table", self.campaigns)
        return found

    def selected_subscriber(self) -> SubscriberRow | None:
        found: SubscriberRow | None = self._selected("#subscribers-table", self.subscribers)
        return found

    def _campaign(self) -> CampaignRow | None:
        """The campaign an action is for (the campaigns' cursor, wherever the focus is)."""
        row = self.selected_campaign()
        if row is None:
            self.notify("No campaign yet: n makes one.", severity="warning")
        return row

    def on_data_table_row_highlighted(self, event: DataTable.RowHighlighted) -> None:
        self._show_detail()
        table = event.data_table
        if table.id == "subscribers-table" and event.cursor_row >= table.row_count - 5 \
                and self.next_cursor is not None:
            self.reload_subscribers(self.next_cursor)
            self.next_cursor = None

    def on_descendant_focus(self) -> None:
        self._show_detail()

    def _show_detail(self) -> None:
        """Two lines on the row in focus: a campaign's subject and audience, or a
        subscriber's consent record."""
        if not self.is_mounted:
            return
        detail = self.query_one("#news-detail", Static)
        focused = self.focused
        subscriber = self.selected_subscriber()
        if focused is not None and focused.id in ("subscribers-table", "subscriber-search") \
                and subscriber is not None:
            detail.update(Text("\n".join(self._consent(subscriber)), no_wrap=True,
                               overflow="ellipsis"))
            return
        c = self.selected_campaign()
        if c is None:
            detail.update("")
            return
        second = (f"Paused itself: {c.paused_reason}" if c.state == "paused" and c.paused_reason
                  else f"To: {c.audience}")
        detail.update(Text(f"Subject: {shown(c.subject)}\n{shown(second)}", no_wrap=True,
                           overflow="ellipsis"))

    def _consent(self, s: SubscriberRow) -> tuple[str, str]:
        """A subscriber's state and consent record, each line shown safe."""
        state = s.state
        if s.state_at is not None:
            state += f" {self._local_full(s.state_at)}" + (f" ({s.state_how})" if s.state_how
                                                      else "")
        if s.suppressed:
            state += f", suppressed: {s.suppressed}"
        return (shown(f"{s.email}: {state}"),
                shown(f"consent: {s.consent_source}, {self._local_full(s.consent_at)}: "
                      f"\u201c{s.consent_text}\u201d"))

    @on(DataTable.RowSelected)
    def _details(self, event: DataTable.RowSelected) -> None:
        """Enter: a campaign's figures, or a subscriber's whole consent record."""
        event.stop()
        if event.data_table.id == "campaigns-table":
            row = self.selected_campaign()
            if row is not None:
                self._figures(row)
            return
        s = self.selected_subscriber()
        if s is not None:
            self._subscriber(s)

    @work(group="newsletter-read", exit_on_error=False)
    async def _subscriber(self, s: SubscriberRow) -> None:
        """A subscriber's consent record, suppression, bounces and complaints."""
        found = await run_db(subscriber_queries.subscriber_detail, self.backroom.actor,
                             str(s.id))
        lines = list(self._consent(found.subscriber or s))
        if found.suppressed is not None:
            x = found.suppressed
            lines.append(shown(f"suppressed since {self._local_full(x.at)}: {x.reason}"
                               + (f" ({x.detail})" if x.detail else "")
                               + (f", by {x.by}" if x.by else "")))
        for b in found.bounces:
            lines.append(shown(f"{b.kind} {self._local_full(b.at)} {b.status} "
                               f"{b.campaign}: {b.detail}"))
        self.app.push_screen(ConfirmDialog(f"Subscriber {shown(s.email)}",
                                           Text("\n".join(lines)), ok_only=True))

    @work(group="newsletter-read", exit_on_error=False)
    async def _figures(self, row: CampaignRow) -> None:
        """The campaign's report: its mails by state, bounces, complaints, opens and clicks
        (people; machines apart), unsubscribes and conversions, rates beside the guides."""
        app = self.backroom
        report = await run_db(campaign_report.campaign_report, app.shop, app.actor, row.name)
        now = await run_db(campaign_queries.audience_now, app.shop, app.actor, row.name)
        c, t = report.row, report.tracked
        rates = {x.name: x for x in report.rates}

        def rate(name: str) -> str:
            x = rates.get(name)
            if x is None or x.value is None:
                return ""
            return f" ({x.value:.1%}; guide {x.guide}: {x.verdict})"

        lines = [f"Subject: {c.subject}", f"Audience: {c.audience} ({now} now)",
                 f"State: {c.state}" + (f": {c.paused_reason}" if c.paused_reason else "")]
        for label, value in (("scheduled", c.scheduled_at), ("started", c.started_at),
                             ("finished", c.finished_at)):
            if value is not None:
                lines.append(f"{label.capitalize()}: {self._local_full(value)} "
                             f"({self.zone.key})")
        lines += [f"Recipients: {c.recipients}, sent {report.sent}, to go "
                  f"{c.counts.get('queued', 0) + c.counts.get('sending', 0)}, skipped "
                  f"{c.counts.get('skipped', 0)}, cancelled {c.counts.get('cancelled', 0)}",
                  f"Failed: {report.failed}, bounced later: {report.bounced}, complaints: "
                  f"{report.complaints}"]
        if t is None:
            lines.append("Opens and clicks: not tracked")
        else:
            lines += [f"Opened: {t.opened} people{rate('open')}; {t.machine_opens} by "
                      "machines, not counted",
                      f"Clicked: {t.clicked} people{rate('click')}; {t.machine_clicks} by "
                      "machines",
                      f"Conversions: {report.orders} order(s) within "
                      f"{report.conversion_days} days of a click" + "".join(
                          f", {money(v, cur)}" for cur, v in sorted(report.revenue.items()))]
        lines.append(f"Unsubscribed through it: {report.unsubscribed}{rate('unsubscribe')}")
        self.app.push_screen(ConfirmDialog(f"Campaign {shown(c.name)}",
                                           Text(shown("\n".join(lines), multiline=True)),
                                           ok_only=True))

    # ----- search -----------------------------------------------------------------------

    @on(Input.Changed, "#subscriber-search")
    def _search_changed(self) -> None:
        self.reload_subscribers()

    @on(Input.Submitted, "#subscriber-search")
    def _search_submitted(self) -> None:
        self.query_one("#subscribers-table", DataTable).focus()

    def key_escape(self) -> None:
        if self.focused is self.query_one("#subscriber-search", Input):
            self.query_one("#subscribers-table", DataTable).focus()

    def action_search(self) -> None:
        self.query_one("#subscriber-search", Input).focus()

    def action_cycle_state(self) -> None:
        self.state_index = (self.state_index + 1) % len(STATE_FILTERS)
        self.reload_subscribers()

    # ----- subscribers ------------------------------------------------------------------

    def action_add_subscriber(self) -> None:
        """An address that told the shop it opts in (source "operator"), with its wording."""
        app = self.backroom
        fields = [("email", "Email", ""), ("consent_text", "Agreed to", ""),
                  ("first_name", "First name", ""), ("last_name", "Last name", "")]

        async def submit(v: dict[str, str]) -> subscribers.SubscriberRef:
            return await run_db(
                subscribers.subscribe, app.shop, app.actor, email=v.get("email", ""),
                source="operator", wording=v.get("consent_text", ""),
                first_name=v.get("first_name", ""), last_name=v.get("last_name", ""))

        def added(ref: subscribers.SubscriberRef | None) -> None:
            if ref is not None:
                self.notify(f"{ref.email}: {ref.state}" + ("" if ref.changed else
                                                           " (no change)"))
                self.reload_subscribers()

        self.app.push_screen(FormDialog("New subscriber (they opted in: say to what)", fields,
                                        submit=submit), added)

    def action_unsubscribe(self) -> None:
        s = self.selected_subscriber()
        if s is None:
            self.notify("No subscriber selected.", severity="warning")
            return

        def answered(yes: bool | None) -> None:
            if yes:
                self.write(subscribers.unsubscribe, s.email, done=lambda ref: (
                    f"{ref.email}: {ref.state}" + ("" if ref.changed else " (no change)")))

        self.app.push_screen(ConfirmDialog(
            "Unsubscribe", Text(shown(f"Unsubscribe {s.email} ({s.state}) now?")),
            yes="Unsubscribe"), answered)

    # ----- the editor -------------------------------------------------------------------

    def _editor(self, values: dict[str, str] | None = None, title: str = "New campaign",
                editing: int | None = None) -> None:
        """The editor: a new campaign (create_campaign), or with `editing` that campaign
        changed in place (update_campaign)."""
        app = self.backroom

        async def save(v: dict[str, str]) -> campaigns.CampaignRef:
            fields = {"name": v["name"], "subject": v["subject"], "body": v["body"],
                      "body_kind": v["body_kind"].strip(), "audience_text": v["audience"],
                      "sender_name": v["sender_name"], "sender_email": v["sender_email"],
                      "track": v["track"].strip().lower() in ("y", "yes", "true", "1"),
                      "subject_b": v["subject_b"], "ab_sample": v["ab_sample"],
                      "ab_wait_minutes": v["ab_wait_minutes"], "ab_metric": v["ab_metric"]}
            if editing is not None:
                return await run_db(campaigns.update_campaign, app.shop, app.actor, editing,
                                    **fields)
            return await run_db(campaigns.create_campaign, app.shop, app.actor, **fields)

        async def count(audience: str) -> int:
            return await run_db(campaign_prep.audience_count, app.shop, app.actor, audience)

        def created(ref: campaigns.CampaignRef | None) -> None:
            if ref is not None:
                self.notify(f"Campaign {ref.name} (#{ref.id}) saved" +
                            ("" if editing is not None else " as a draft") +
                            ": t tests it, s sends it, w schedules it.", markup=False)
                self.show_campaign = ref.id
                self._load_campaigns()

        self.app.push_screen(CampaignEditor(save, count, values, title), created)

    def action_new_campaign(self) -> None:
        self._editor()

    def action_copy_campaign(self) -> None:
        row = self._campaign()
        if row is not None:
            self._copy(row)

    @work(group="newsletter-read", exit_on_error=False)
    async def _copy(self, row: CampaignRow) -> None:
        values = await self._values(row)
        self._editor(values | {"name": f"{row.name} (copy)"}, f"New campaign from {row.name}")

    async def _values(self, row: CampaignRow) -> dict[str, str]:
        """The editor's fields as the campaign has them."""
        body = await run_db(campaign_queries.body_of, self.backroom.actor, row.name)
        return {"name": row.name, "subject": body.subject,
                "sender_name": body.sender_name, "sender_email": body.sender_email,
                "audience": "" if row.audience == "all subscribers" else row.audience,
                "body_kind": body.body_kind, "body": body.body,
                "track": "yes" if row.track else "no", "subject_b": body.subject_b,
                **({"ab_sample": str(body.ab_sample), "ab_wait_minutes": str(body.ab_wait_minutes),
                    "ab_metric": body.ab_metric} if body.subject_b else {})}

    def action_edit_campaign(self) -> None:
        row = self._campaign()
        if row is not None:
            self._edit(row)

    @work(group="newsletter-read", exit_on_error=False)
    async def _edit(self, row: CampaignRow) -> None:
        try:
            await run_db(campaigns.require_editable, self.backroom.actor, row.id)
        except BackroomError as exc:
            self.notify(str(exc), severity="warning", markup=False)
            return
        self._editor(await self._values(row), f"Edit campaign {row.name}", editing=row.id)

    # ----- preview and test -------------------------------------------------------------

    def action_preview(self) -> None:
        row = self._campaign()
        if row is None:
            return
        subscriber = self.selected_subscriber()

        def chosen(email: str | None) -> None:
            if email is not None:
                self._preview(row, email.strip())

        self.app.push_screen(TextPrompt(
            f"Preview {shown(row.name)} as (a subscriber's address; empty: a sample)",
            subscriber.email if subscriber else "", "reader@example.com"), chosen)

    @work(group="newsletter-read", exit_on_error=False)
    async def _preview(self, row: CampaignRow, email: str) -> None:
        app = self.backroom
        body = await run_db(campaign_queries.body_of, app.actor, row.name)
        who = await run_db(campaign_queries.recipient, app.actor, email) if email else None
        seen = await asyncio.to_thread(preview, app.config, body, who)
        text = f"Subject: {seen.subject}\nTo: {seen.to}\n\n{seen.text}"
        if seen.html_as_text:
            text += f"\n----- the HTML part, as text -----\n{seen.html_as_text}"
        self.app.push_screen(ConfirmDialog(f"Preview of {shown(row.name)} (Tab, then arrows "
                                           "scroll)", Text(shown(text, multiline=True)),
                                           ok_only=True))

    def action_test_send(self) -> None:
        row = self._campaign()
        if row is not None:
            self._ask_test(row)

    @work(group="newsletter-read", exit_on_error=False)
    async def _ask_test(self, row: CampaignRow) -> None:
        app = self.backroom
        addresses = await run_db(campaign_prep.test_addresses, app.config, app.actor)

        def answered(yes: bool | None) -> None:
            if yes:
                self._send_test(row, addresses)

        listed = "\n".join(f"  {a}" for a in addresses)
        self.app.push_screen(ConfirmDialog(
            "Test send", Text(shown(f"Send {row.name}, its subject marked [TEST], now to:\n"
                                    f"{listed}", multiline=True)), yes="Send test"), answered)

    @work(group="newsletter-write", exit_on_error=False)
    async def _send_test(self, row: CampaignRow, addresses: list[str]) -> None:
        app = self.backroom
        body = await run_db(campaign_queries.body_of, app.actor, row.name)
        results = await asyncio.to_thread(send_test, app.config, body, addresses)
        failed = [r for r in results if r.outcome != "sent"]
        text = "; ".join(f"{r.address}: {r.outcome}" for r in results)
        self.notify(f"Test of {row.name}: {text}", title="Test send",
                    severity="error" if failed else "information")

    # ----- sending ----------------------------------------------------------------------

    def action_send_now(self) -> None:
        row = self._campaign()
        if row is not None:
            self._ask_send(row)

    def _warned(self, row: CampaignRow, question: str, count: int) -> Text:
        text = Text(shown(f"{question}\nSubject: {row.subject}\nTo: {row.audience}: {count} "
                          "subscriber(s) now", multiline=True))
        for warning in campaigns.subject_warnings(row.subject):
            text.append(f"\nwarning: {warning}", style="yellow")
        return text

    @work(group="newsletter-read", exit_on_error=False)
    async def _ask_send(self, row: CampaignRow) -> None:
        app = self.backroom
        count = await run_db(campaign_queries.audience_now, app.shop, app.actor, row.name)

        def answered(yes: bool | None) -> None:
            if yes:
                self.write(campaigns.start, row.name, done=lambda queued: (
                    f"Campaign {row.name} is sending: {queued} recipient(s) queued; "
                    "the worker sends them."))

        self.app.push_screen(ConfirmDialog(
            "Send now", self._warned(row, f"Send {row.name} now ({row.state})?", count),
            yes="Send"), answered)

    def action_schedule(self) -> None:
        row = self._campaign()
        if row is None:
            return
        zone = self.zone.key

        def chosen(when: str | None) -> None:
            if when:
                self._ask_schedule(row, when)

        tomorrow = dt.datetime.now(self.zone).date() + dt.timedelta(days=1)
        self.app.push_screen(TextPrompt(  # the example is a time to come: tomorrow, 09:00
            f"Send {shown(row.name)} at (date and time in {zone})",
            self._local_full(row.scheduled_at), f"{tomorrow:%Y-%m-%d} 09:00"), chosen)

    def _local_full(self, value: dt.datetime | None) -> str:
        if value is None:
            return ""
        return f"{value.replace(tzinfo=dt.UTC).astimezone(self.zone):%Y-%m-%d %H:%M}"

    @work(group="newsletter-read", exit_on_error=False)
    async def _ask_schedule(self, row: CampaignRow, when: str) -> None:
        app = self.backroom
        at = campaigns.time_to_come(app.shop, when)  # a past time: said before the y/n
        count = await run_db(campaign_queries.audience_now, app.shop, app.actor, row.name)

        def answered(yes: bool | None) -> None:
            if yes:
                self.write(campaigns.schedule, row.name, when, done=(
                    f"Campaign {row.name} scheduled for {self._local_full(at)} "
                    f"{self.zone.key}."))

        self.app.push_screen(ConfirmDialog("Schedule", self._warned(
            row, f"Send {row.name} at {self._local_full(at)} {self.zone.key} "
            f"({at:%Y-%m-%d %H:%M} UTC)?", count), yes="Schedule"), answered)

    def action_pause_resume(self) -> None:
        row = self._campaign()
        if row is None:
            return
        if row.state == "paused":
            self.write(campaigns.resume, row.name, done=f"Campaign {row.name} sending again.")
        else:
            self.write(campaigns.pause, row.name,
                       done=f"Campaign {row.name} paused: space resumes it where it stopped.")

    def action_cancel_campaign(self) -> None:
        row = self._campaign()
        if row is None:
            return

        def answered(yes: bool | None) -> None:
            if yes:
                self.write(campaigns.cancel, row.name, done=lambda withdrawn: (
                    f"Campaign {row.name} cancelled; {withdrawn} mail(s) not sent."))

        self.app.push_screen(ConfirmDialog(
            "Cancel campaign", Text(shown(f"Cancel {row.name} ({row.state})? Nothing more of "
                                          "it goes; this cannot be undone.")),
            yes="Cancel it"), answered)
