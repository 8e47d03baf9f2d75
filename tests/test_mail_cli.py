"""The mail commands through click: `worker --once`, `outbox list|retry|cancel|resend`."""

from __future__ import annotations

from pathlib import Path

import tomli_w
from click.testing import CliRunner

from store import operators
from store.models import Outbox
from store.shop import open_shop
from tests.conftest import cli_config, make_config
from tests.factories import place
from tests.mail_server import Server
from tui.cli import main


def test_worker_once_then_outbox_commands(tmp_path: Path, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    url = f"sqlite:///{tmp_path / 'shop.db'}"
    server = Server().start()
    try:
        config_file = tmp_path / "config.toml"
        # this process is the service account: the worker runs as it, and the outbox
        # commands as the operator $BACKROOM_OPERATOR names
        config_file.write_text(tomli_w.dumps(cli_config(url, smtp={"port": server.port})))
        shop = open_shop(make_config(url))
        operators.ensure_admin("ada")
        monkeypatch.delenv("BACKROOM_OPERATOR", raising=False)
        server.handler.rcpt_replies["bad@example.com"] = ["550 5.1.1 unknown user"]
        place(shop, email="bad@example.com")
        place(shop, email="ann@example.com")
        runner = CliRunner()
        args = ["--config", str(config_file)]

        result = runner.invoke(main, [*args, "worker", "--once"])
        assert result.exit_code == 0, result.output
        assert "3 sent" in result.output and "1 failed" in result.output
        assert len(server.received) == 3

        monkeypatch.setenv("BACKROOM_OPERATOR", "ada")
        result = runner.invoke(main, [*args, "outbox", "list", "--state", "failed"])
        assert result.exit_code == 0, result.output
        assert "failed: 1" in result.output and "550 5.1.1 unknown user" in result.output
        bad = Outbox.get(Outbox.recipient == "bad@example.com")

        result = runner.invoke(main, [*args, "outbox", "cancel", str(bad.id + 1)])
        assert result.exit_code == 1 and "only a mail not yet sent" in result.output

        result = runner.invoke(main, [*args, "outbox", "retry", str(bad.id)])
        assert result.exit_code == 0 and f"#{bad.id} queued" in result.output
        result = runner.invoke(main, [*args, "outbox", "cancel", str(bad.id)])
        assert result.exit_code == 0 and f"#{bad.id} cancelled" in result.output
        result = runner.invoke(main, [*args, "outbox", "resend", str(bad.id + 1)])
        assert result.exit_code == 0 and "queued" in result.output
        result = runner.invoke(main, [*args, "worker", "--once"])
        assert "1 sent" in result.output and len(server.received) == 4
    finally:
        server.stop()


def test_worker_refuses_a_shop_address_that_cannot_be_a_sender(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'shop.db'}"
    config_file = tmp_path / "config.toml"
    config_file.write_text(tomli_w.dumps(cli_config(url, shop={"email": "shop desk@example.com"})))
    shop = open_shop(make_config(url))
    place(shop, email="ann@example.com")
    result = CliRunner().invoke(main, ["--config", str(config_file), "worker", "--once"],
                                env={"BACKROOM_OPERATOR": None})
    assert result.exit_code == 1
    assert "shop.email must be one plain email address" in result.output  # when it loads
    assert {m.state for m in Outbox.select()} == {"queued"}  # nothing claimed or failed


def test_outbox_show_prints_the_text_part_with_hostile_text_as_text(
        tmp_path: Path, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    url = f"sqlite:///{tmp_path / 'shop.db'}"
    config_file = tmp_path / "config.toml"
    config_file.write_text(tomli_w.dumps(cli_config(url)))
    shop = open_shop(make_config(url))
    operators.ensure_admin("ada")
    monkeypatch.setenv("BACKROOM_OPERATOR", "ada")
    ref = place(shop, name="Zoë [bold]Ø[/] Ström")
    mail = Outbox.get(Outbox.order == ref.id)
    runner = CliRunner()
    args = ["--config", str(config_file), "outbox", "show"]

    result = runner.invoke(main, [*args, str(mail.id)])
    assert result.exit_code == 0, result.output
    assert f"To: {mail.recipient}" in result.output and ref.code in result.output
    assert "Zoë [bold]Ø[/] Ström" in result.output  # the customer's text, as written

    result = runner.invoke(main, [*args, str(mail.id + 999)])
    assert result.exit_code == 1 and f"no mail #{mail.id + 999}" in result.output
