"""Who is acting, and what their role lets them do; every service checks here."""

from __future__ import annotations

import getpass
import os
from collections.abc import Mapping
from dataclasses import dataclass

from peewee import IntegrityError

from store.errors import NotFound, PermissionDenied, UnknownOperator, ValidationError
from store.models import Operator, db, utcnow

ROLES = ("viewer", "clerk", "manager", "admin")

# The least role that may do each action. Reads need only viewer.
PERMISSIONS: dict[str, str] = {
    "read": "viewer",
    "change_status": "clerk",
    "add_note": "clerk",
    "set_tracking": "clerk",
    "set_reference": "clerk",
    "print": "clerk",
    "undo": "clerk",
    "record_payment": "manager",
    "refund": "manager",
    "edit_order": "manager",
    "archive": "manager",
    "export": "manager",
    "customers": "manager",
    "deny_customer": "manager",
    "groups": "manager",
    "send_mail": "manager",
    "edit_shipped": "admin",
    "delete_order": "admin",
    "erase_customer": "admin",
    "operators": "admin",
    "workflow": "admin",
}

ACTION_LABELS: dict[str, str] = {
    "change_status": "change order statuses",
    "add_note": "add notes",
    "set_tracking": "set tracking numbers",
    "set_reference": "set references",
    "record_payment": "record payments",
    "refund": "refund orders",
    "edit_order": "edit order addresses and contacts",
    "archive": "archive orders",
    "export": "export data",
    "customers": "edit customers",
    "deny_customer": "deny or suspend customers",
    "groups": "edit customer groups",
    "send_mail": "send one-off emails",
    "edit_shipped": "edit an order once it has shipped",
    "delete_order": "delete orders",
    "erase_customer": "delete customers",
    "operators": "manage operators",
}


@dataclass(frozen=True)
class Actor:
    """The operator doing an action, as services see them."""

    login: str
    role: str
    display_name: str = ""

    def can(self, action: str) -> bool:
        return ROLES.index(self.role) >= ROLES.index(PERMISSIONS[action])


SYSTEM = Actor("system", "admin", "backroom")
STOREFRONT = Actor("storefront", "admin", "Storefront")


def refusal(actor: Actor, action: str) -> str:
    """Why the actor may not do `action` (naming the role needed), or '' when they may."""
    if actor.can(action):
        return ""
    needed = PERMISSIONS[action]
    what = ACTION_LABELS.get(action, action.replace("_", " "))
    return f"{actor.login} is {_a(actor.role)}: only {_a(needed)} or above may {what}"


def require(actor: Actor, action: str) -> None:
    """Refuse with a message naming the role needed, unless the actor's role allows it."""
    reason = refusal(actor, action)
    if reason:
        raise PermissionDenied(reason)


def _a(role: str) -> str:
    return f"an {role}" if role[0] in "aeiou" else f"a {role}"


def current_login(environ: Mapping[str, str] | None = None) -> str:
    """$BACKROOM_OPERATOR (set by an SSH forced command), else the process owner's login."""
    environ = os.environ if environ is None else environ
    return environ.get("BACKROOM_OPERATOR") or getpass.getuser()


def _check_role(role: str) -> str:
    if role not in ROLES:
        raise ValidationError(f"unknown role {role!r}; roles are {', '.join(ROLES)}")
    return role


def _actor(op: Operator) -> Actor:
    return Actor(op.login, op.role, op.display_name)


def resolve(login: str, new_login_role: str = "") -> Actor:
    """The operator for a login. The first login on an empty shop becomes admin; a new login
    gets `new_login_role` if the config gives one; otherwise it is refused."""
    op = Operator.get_or_none(Operator.login == login)
    if op is not None:
        if not op.active:
            raise UnknownOperator(f"operator {login} is deactivated; ask an admin to reactivate it")
        return _actor(op)
    with db.atomic():
        if not Operator.select().exists():
            return _actor(Operator.create(login=login, display_name=login, role="admin"))
        if new_login_role:
            return _actor(Operator.create(login=login, display_name=login, role=new_login_role))
    raise UnknownOperator(
        f"{login} is not an operator of this shop; an admin can add you with "
        f"`backroom operator add {login} --role clerk`"
    )


def add(actor: Actor, login: str, role: str, display_name: str = "") -> Actor:
    require(actor, "operators")
    _check_role(role)
    login = login.strip()
    if not login:
        raise ValidationError("an operator needs a login name")
    taken = f"{login} is already an operator (use set-role to change it)"
    try:
        with db.atomic():
            if Operator.get_or_none(Operator.login == login):
                raise ValidationError(taken)
            op = Operator.create(login=login, role=role, display_name=display_name or login)
    except IntegrityError:  # added by someone else between the check and the insert
        raise ValidationError(taken) from None
    return _actor(op)


def ensure_admin(login: str) -> Actor:
    """`backroom init`: whoever runs it is admin of this shop."""
    with db.atomic():
        op = Operator.get_or_none(Operator.login == login)
        if op is None:
            op = Operator.create(login=login, display_name=login, role="admin")
        elif op.role != "admin" or not op.active:
            op.role, op.active, op.updated_at = "admin", True, utcnow()
            op.save()
    return _actor(op)


def set_role(actor: Actor, login: str, role: str) -> Actor:
    require(actor, "operators")
    _check_role(role)
    with db.atomic():
        op = Operator.get_or_none(Operator.login == login)
        if op is None:
            raise NotFound(f"no operator {login}; add one with `backroom operator add`")
        if op.role == "admin" and role != "admin":
            admins = Operator.select().where(Operator.role == "admin", Operator.active).count()
            if admins <= 1:
                raise ValidationError(f"{login} is the last admin; make another admin first")
        op.role, op.updated_at = role, utcnow()
        op.save()
    return _actor(op)


def list_operators() -> list[tuple[str, str, str, bool]]:
    """(login, display name, role, active) of every operator, by login."""
    return [
        (o.login, o.display_name, o.role, o.active)
        for o in Operator.select().order_by(Operator.login)
    ]
