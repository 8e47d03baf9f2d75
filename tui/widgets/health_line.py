"""The health line at the foot of every screen, just above the footer: mail waiting, failed
and dead mails, the last backup and the delivery worker, each red past its threshold
(store.health). The app reads the report every `ui.health_seconds` and hands it to the line
of the screens it shows."""

from __future__ import annotations

from rich.text import Text
from textual.widgets import Static

from store.health import HealthReport, Signal

NAMES = {"oldest_unsent_mail": "mail", "oldest_unsent_webhook": "webhooks",
         "failed_mail": "failed", "dead_mail": "dead", "last_backup": "backup",
         "worker": "worker"}


class HealthLine(Static):
    """One line: `mail 3 unsent, < 1 min · failed 0 · dead 0 · backup 3 h ago · worker ok`."""

    DEFAULT_CSS = """
    HealthLine {
        height: 1;
        padding: 0 1;
        background: $panel;
        color: $text-muted;
    }
    """

    def __init__(self) -> None:
        super().__init__("health: reading ...", markup=False, id="health-line")
        self._report: tuple[HealthReport | None, str] | None = None
        self._typed = ""

    def typed(self, code: str) -> None:
        """Show an order code being typed or scanned, as it comes (empty: the health again)."""
        self._typed = code
        if code:
            text = Text("open order: ", style="bold")
            text.append(f"{code}_", style="bold reverse")
            text.append("  Enter opens · Esc clears")
            self.update(text)
        elif self._report is not None:
            self.show(*self._report)
        else:
            self.update("health: reading ...")

    def show(self, report: HealthReport | None, problem: str = "") -> None:
        """Show a report (or, when it could not be read, why)."""
        self._report = (report, problem)
        if self._typed:
            return
        if report is None:
            self.update(Text(f"health: cannot be read ({problem})", style="bold red"))
            return
        line = Text()
        for signal in report.signals:
            if not signal.short:
                continue
            if line:
                line.append(" · ")
            line.append_text(_part(signal))
        self.update(line)


def _part(signal: Signal) -> Text:
    text = Text(f"{NAMES.get(signal.key, signal.key)} {signal.short}")
    if signal.red:
        text.stylize("bold red")
    return text
