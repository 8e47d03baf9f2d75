"""Operators and roles: each service refuses a role too low with a message naming the role
needed, and changes nothing; unknown logins are refused with the way to be added."""

from __future__ import annotations

import os
from collections.abc import Callable
from typing import Any

import pytest

from store import customers, operators, orders, payments, status
from store import db as dbmod
from store.errors import PermissionDenied, UnknownOperator, ValidationError
from store.models import CustomerGroup, Order, OrderEvent, Outbox
from store.operators import Actor
from store.shop import Shop, open_shop
from tests.conftest import make_config
from tests.factories import place

ROLES = ["viewer", "clerk", "manager", "admin"]


def _setup(shop: Shop, admin: Actor) -> dict[str, int]:
    """An order ready for every action, a customer and a group."""
    new = place(shop)
    paid = place(shop)
    status.change_status(shop, admin, [paid.id], "paid")
    done = place(shop)
    status.change_status(shop, admin, [done.id], "cancelled")
    test = place(shop, is_test=True)
    cust = customers.create_customer(shop, admin, email="c@example.com", first_name="C",
                                     last_name="D")
    group = customers.create_group(shop, admin, "Friends")
    other = customers.create_group(shop, admin, "Others")
    return {"new": new.id, "paid": paid.id, "done": done.id, "test": test.id,
            "customer": cust.id, "group": group, "other": other}


# action -> (least role, call)
ACTIONS: dict[str, tuple[str, Callable[[Shop, Actor, dict[str, int]], Any]]] = {
    "change_status": ("clerk", lambda s, a, x: status.change_status(s, a, [x["new"]], "cancelled")),
    "add_note": ("clerk", lambda s, a, x: orders.add_note(s, a, x["new"], "hello")),
    "set_tracking": ("clerk", lambda s, a, x: orders.set_tracking(s, a, x["new"], "1Z")),
    "set_reference": ("clerk", lambda s, a, x: orders.set_reference(s, a, x["new"], "R1")),
    "record_payment": ("manager", lambda s, a, x: payments.record_payment(s, a, x["new"], 100)),
    "refund": ("manager", lambda s, a, x: payments.refund(s, a, x["paid"], 100, "damaged")),
    "edit_address": ("manager", lambda s, a, x: orders.edit_address(
        s, a, x["new"], "shipping", {"city": "Lyon"})),
    "edit_contact": ("manager", lambda s, a, x: orders.edit_contact(s, a, x["new"], phone="1")),
    "archive": ("manager", lambda s, a, x: orders.set_archived(s, a, [x["done"]])),
    "create_customer": ("manager", lambda s, a, x: customers.create_customer(
        s, a, email="n@example.com", first_name="N", last_name="M")),
    "edit_customer": ("manager", lambda s, a, x: customers.edit_customer(
        s, a, x["customer"], {"phone": "2"})),
    "deny_customer": ("manager", lambda s, a, x: customers.deny(s, a, x["customer"], "fraud")),
    "create_group": ("manager", lambda s, a, x: customers.create_group(s, a, "VIP")),
    "rename_group": ("manager", lambda s, a, x: customers.rename_group(s, a, x["group"], "Pals")),
    "assign_group": ("manager", lambda s, a, x: customers.assign_group(
        s, a, x["customer"], x["other"])),
    "delete_group": ("manager", lambda s, a, x: customers.delete_group(s, a, x["other"])),
    "delete_order": ("admin", lambda s, a, x: orders.delete_order(s, a, x["test"])),
    "erase_customer": ("admin", lambda s, a, x: customers.delete_customer(
        s, a, x["customer"], "c@example.com")),
    "add_operator": ("admin", lambda s, a, x: operators.add(a, "newbie", "clerk")),
    "set_role": ("admin", lambda s, a, x: operators.set_role(a, "ada", "admin")),
}


def _snapshot() -> tuple[Any, ...]:
    return (
        sorted((o.id, o.version, o.status, o.archived) for o in Order.select()),
        OrderEvent.select().count(), Outbox.select().count(),
        sorted((g.id, g.name) for g in CustomerGroup.select()),
        sorted(operators.list_operators()),
    )


@pytest.mark.parametrize("role", ROLES)
def test_each_role_may_do_exactly_its_actions(shop, admin, role: str) -> None:
    ids = _setup(shop, admin)
    actor = admin if role == "admin" else operators.add(admin, f"op-{role}", role)
    allowed = []
    for action, (least, call) in ACTIONS.items():
        if ROLES.index(role) >= ROLES.index(least):
            allowed.append(call)
            continue
        before = _snapshot()
        with pytest.raises(PermissionDenied) as err:
            call(shop, actor, ids)
        message = str(err.value)
        assert message.startswith(f"op-{role} is a{'n' if role[0] in 'aeiou' else ''} {role}")
        assert f"only a{'n' if least == 'admin' else ''} {least} or above may" in message, action
        assert _snapshot() == before, action
    for call in allowed:  # in the table's order, each on the state the previous left
        call(shop, actor, ids)


def test_admin_only_may_edit_a_shipped_order(shop, admin, manager) -> None:
    ref = place(shop)
    status.change_status(shop, admin, [ref.id], "paid")
    status.change_status(shop, admin, [ref.id], "shipped", tracking="1Z")
    with pytest.raises(Exception, match="has shipped: only an admin"):
        orders.edit_address(shop, manager, ref.id, "shipping", {"city": "Lyon"})
    orders.edit_address(shop, admin, ref.id, "shipping", {"city": "Lyon"})


def test_unknown_login_is_refused_with_the_way_in(shop, admin) -> None:
    with pytest.raises(UnknownOperator) as err:
        shop.actor("stranger")
    assert "`backroom operator add stranger --role clerk`" in str(err.value)
    assert "stranger" not in [o[0] for o in operators.list_operators()]


def test_new_login_role_lets_new_logins_in(db_url: str) -> None:
    dbmod.close()
    shop = open_shop(make_config(db_url, operators={"new_login_role": "viewer"}))
    try:
        first = shop.actor("first")
        assert first.role == "admin"  # the first login on an empty shop
        assert shop.actor("second").role == "viewer"
        assert shop.actor("second").role == "viewer"
    finally:
        dbmod.close()


def test_first_login_on_an_empty_shop_is_admin_then_others_are_refused(shop) -> None:
    assert shop.actor("owner").role == "admin"
    with pytest.raises(UnknownOperator):
        shop.actor("someone")


def test_operator_login_is_the_process_owner_or_whom_a_service_account_names() -> None:
    """$BACKROOM_OPERATOR is taken only from a service account; $USER never counts."""
    def backroom() -> str:
        return "backroom"

    def ann() -> str:
        return "ann"

    services = ["backroom"]
    named = {"BACKROOM_OPERATOR": "ssh-key-7", "USER": "root"}
    assert operators.current_login(named, services, backroom) == "ssh-key-7"
    assert operators.current_login({"USER": "root"}, services, ann) == "ann"
    assert operators.current_login({"BACKROOM_OPERATOR": "ann"}, services, ann) == "ann"
    with pytest.raises(PermissionDenied, match=r"BACKROOM_OPERATOR=ssh-key-7 is set, but this "
                                               r"process runs as ann"):
        operators.current_login(named, services, ann)
    import pwd

    owner = pwd.getpwuid(os.getuid()).pw_name
    assert operators.current_login({"USER": "someone-else"}) == owner


def test_roles_and_last_admin(shop, admin) -> None:
    operators.add(admin, "zed", "viewer", "Zed Z")
    assert ("zed", "Zed Z", "viewer", True) in operators.list_operators()
    assert operators.set_role(admin, "zed", "manager").role == "manager"
    with pytest.raises(ValidationError, match="unknown role"):
        operators.set_role(admin, "zed", "boss")
    with pytest.raises(ValidationError, match="already an operator"):
        operators.add(admin, "zed", "clerk")
    with pytest.raises(ValidationError, match="last admin"):
        operators.set_role(admin, "ada", "clerk")
    assert shop.actor("zed").role == "manager"
