"""Who is acting, and what their role lets them do; every service checks here."""

from __future__ import annotations

import datetime as dt
import os
import pwd
from collections.abc import Callable, Collection, Mapping
from dataclasses import dataclass, field

from peewee import Database, IntegrityError

from store import events_log
from store.contact import normalise_email
from store.errors import NotFound, PermissionDenied, UnknownOperator, ValidationError
from store.models import Operator, OperatorEvent, db, utcnow
from store.sql import named
from store.text import clean

ROLES = ("viewer", "clerk", "manager", "admin")

# The least role that may do each action. Reads need only viewer.
PERMISSIONS: dict[str, str] = {
    "read": "viewer",
    "change_status": "clerk",
    "add_note": "clerk",
    "set_tracking": "clerk",
    "set_reference": "clerk",
    "attach_label": "clerk",
    "print": "clerk",
    "undo": "clerk",
    "record_payment": "manager",
    "refund": "manager",
    "replace_order": "manager",
    "edit_order": "manager",
    "archive": "manager",
    "export": "manager",
    "customers": "manager",
    "deny_customer": "manager",
    "groups": "manager",
    "send_mail": "manager",
    "validate_customer": "manager",
    "place_test_order": "manager",
    "newsletter": "manager",
    "newsletter_view": "clerk",
    "edit_shipped": "admin",
    "delete_order": "admin",
    "erase_customer": "admin",
    "operators": "admin",
    "workflow": "admin",
    "api_keys": "admin",
    "webhooks": "admin",
    "import": "admin",
    "maintenance": "admin",
}

ACTION_LABELS: dict[str, str] = {
    "change_status": "change order statuses",
    "add_note": "add notes",
    "set_tracking": "set tracking numbers",
    "set_reference": "set references",
    "attach_label": "attach carrier labels",
    "record_payment": "record payments",
    "refund": "refund orders",
    "replace_order": "place replacement orders",
    "edit_order": "edit order addresses and contacts",
    "archive": "archive orders",
    "export": "export data",
    "customers": "edit customers",
    "deny_customer": "deny or suspend customers",
    "groups": "edit customer groups",
    "send_mail": "send one-off emails",
    "validate_customer": "validate customer accounts",
    "place_test_order": "place test orders",
    "newsletter": "create and send campaigns and change subscribers",
    "newsletter_view": "see the newsletter's campaigns and subscribers",
    "api_keys": "manage API keys",
    "edit_shipped": "edit an order once it has shipped",
    "delete_order": "delete orders",
    "erase_customer": "delete customers",
    "operators": "manage operators",
    "webhooks": "manage webhooks",
    "import": "import orders and customers",
    "maintenance": "back up, check and repair the database",
}


@dataclass(frozen=True)
class Actor:
    """The operator doing an action, as services see them. `is_operator`: it was read from
    a row of the operator table (`resolve`, `add`...), and every `require` reads that row
    again (`current`), so an app or a command left open keeps no rights its operator lost.
    The actors no row stands for (SYSTEM, STOREFRONT, an API key's, a service account's)
    are taken as made."""

    login: str
    role: str
    display_name: str = ""
    is_operator: bool = field(default=False, compare=False)

    def can(self, action: str) -> bool:
        return ROLES.index(self.role) >= ROLES.index(PERMISSIONS[action])


SYSTEM = Actor("system", "admin", "backroom")


def service_actor(account: str) -> Actor:
    """A service account running a maintenance command with no operator named (a systemd
    timer's `backroom backup`): it holds the database's credentials already, so it may do
    what an admin's maintenance may; its history rows name the account."""
    return Actor(account, "admin", "service account")
STOREFRONT = Actor("storefront", "admin", "Storefront")


def current(actor: Actor) -> Actor:
    """The actor as its operator row has it now: one indexed read by login, on the
    connection (and in the transaction, when one is open) of the service calling. A
    deactivated operator is refused, whatever their app or command read at its start; a
    role changed since then is the role that counts. Actors no row stands for are returned
    as they are."""
    if not actor.is_operator:
        return actor
    row = db.execute_sql(f"SELECT role, active FROM operator WHERE login = {named('login')}",
                         {"login": actor.login}).fetchone()
    if row is None:
        raise UnknownOperator(
            f"{actor.login} is no longer an operator of this shop; an admin can add you with "
            f"`backroom operator add {actor.login} --role clerk`")
    role, active = row
    if not active:
        raise UnknownOperator(
            f"operator {actor.login} was deactivated: nothing was done; ask an admin to "
            f"reactivate it (`backroom operator reactivate {actor.login}`)")
    if role == actor.role:
        return actor
    return Actor(actor.login, role, actor.display_name, is_operator=True)


def refusal(actor: Actor, action: str) -> str:
    """Why the actor may not do `action` (naming the role needed), or '' when they may.
    Judged on the role the actor holds (see `current` for the role their row holds now)."""
    if actor.can(action):
        return ""
    needed = PERMISSIONS[action]
    what = ACTION_LABELS.get(action, action.replace("_", " "))
    return f"{actor.login} is {_a(actor.role)}: only {_a(needed)} or above may {what}"


def require(actor: Actor, action: str) -> Actor:
    """Refuse with a message naming the role needed, unless the role the actor's operator
    row holds now allows it (a deactivated operator is refused: `current`); the actor as
    it is now."""
    now = current(actor)
    reason = refusal(now, action)
    if reason:
        raise PermissionDenied(reason)
    return now


def article(role: str) -> str:
    """The role with its article, for sentences: "an admin", "a clerk"."""
    return f"an {role}" if role[:1] in ("a", "e", "i", "o", "u") else f"a {role}"


_a = article


def process_owner() -> str:
    """The account this process runs as, from its uid: not $USER or $LOGNAME, which whoever
    starts a program may set to anything."""
    try:
        return pwd.getpwuid(os.getuid()).pw_name
    except KeyError:  # a uid with no account (a container): its number is its name
        return str(os.getuid())


def current_login(environ: Mapping[str, str] | None = None,
                  service_accounts: Collection[str] = (),
                  owner: Callable[[], str] = process_owner) -> str:
    """Who is running backroom: the owner of the process, or, only when the process runs as
    one of `service_accounts` (operators.service_accounts: a shared account whose SSH keys
    each carry a forced command), the person $BACKROOM_OPERATOR names. Anyone else setting
    $BACKROOM_OPERATOR is refused: it would let any account act as any operator."""
    environ = os.environ if environ is None else environ
    account = owner()
    named = environ.get("BACKROOM_OPERATOR", "").strip()
    if not named or named == account:
        return account
    if account not in service_accounts:
        raise PermissionDenied(
            f"$BACKROOM_OPERATOR={named} is set, but this process runs as {account}, which "
            "may not act for another operator (only the accounts in "
            f"operators.service_accounts may); unset it to work as {account}")
    return named


def is_service_account(service_accounts: Collection[str],
                       owner: Callable[[], str] = process_owner) -> bool:
    """Whether this process runs as a service account (`backroom worker` may run as one)."""
    return owner() in service_accounts


def _check_role(role: str) -> str:
    if role not in ROLES:
        raise ValidationError(f"unknown role {role!r}; roles are {', '.join(ROLES)}")
    return role


def _actor(op: Operator) -> Actor:
    return Actor(op.login, op.role, op.display_name, is_operator=True)


def _history(login: str, kind: str, by: str, old_role: str = "", new_role: str = "") -> None:
    OperatorEvent.create(login=login, kind=kind, old_role=old_role, new_role=new_role,
                         operator_login=by)
    events_log.event(f"operator_{kind}", by, login=login, role=new_role or None)


def resolve(login: str, new_login_role: str = "") -> Actor:
    """The operator for a login. The first login on an empty shop becomes admin; a new login
    gets `new_login_role` if the config gives one; a deactivated one is refused, and so is
    any other login."""
    op = Operator.get_or_none(Operator.login == login)
    if op is not None:
        if not op.active:
            raise UnknownOperator(
                f"operator {login} is deactivated; an admin can reactivate it with "
                f"`backroom operator reactivate {login}`")
        return _actor(op)
    with db.atomic():
        role = "admin" if not Operator.select().exists() else new_login_role
        if role:
            login = clean(login, "login")
            op = Operator.create(login=login, display_name=login, role=role)
            _history(login, "added", "backroom", new_role=role)
            return _actor(op)
    raise UnknownOperator(
        f"{login} is not an operator of this shop; an admin can add you with "
        f"`backroom operator add {login} --role clerk`"
    )


def add(actor: Actor, login: str, role: str, display_name: str = "") -> Actor:
    require(actor, "operators")
    _check_role(role)
    login, display_name = clean(login, "login"), clean(display_name, "display_name")
    if not login:
        raise ValidationError("an operator needs a login name", field="login")
    taken = f"{login} is already an operator (use set-role to change it)"
    try:
        with db.atomic():
            if Operator.get_or_none(Operator.login == login):
                raise ValidationError(taken, field="login")
            op = Operator.create(login=login, role=role, display_name=display_name or login)
            _history(login, "added", actor.login, new_role=role)
    except IntegrityError:  # added by someone else between the check and the insert
        raise ValidationError(taken, field="login") from None
    return _actor(op)


def ensure_admin(login: str) -> Actor:
    """Make `login` an active admin, as set-up scripts, benchmarks and tests need; the
    command line never calls it (a first login on an empty shop becomes admin by
    `resolve`). Keeps no history: it also runs on databases older than migration 0004."""
    with db.atomic():
        op = Operator.get_or_none(Operator.login == login)
        if op is None:
            op = Operator.create(login=login, display_name=login, role="admin")
        elif op.role != "admin" or not op.active:
            op.role, op.active, op.updated_at = "admin", True, utcnow()
            op.save()
    return _actor(op)


def _operator(login: str) -> Operator:
    op = Operator.get_or_none(Operator.login == login)
    if op is None:
        raise NotFound(f"no operator {login}; add one with `backroom operator add`")
    return op


def _keep_an_admin(op: Operator, what: str) -> None:
    """Refuse to leave the shop without an active admin (nobody could manage operators)."""
    if op.role == "admin" and op.active:
        admins = Operator.select().where(Operator.role == "admin", Operator.active).count()
        if admins <= 1:
            raise ValidationError(
                f"{op.login} is the last admin: it cannot be {what}; make another admin first")


def set_role(actor: Actor, login: str, role: str) -> Actor:
    require(actor, "operators")
    _check_role(role)
    with db.atomic():
        op = _operator(login)
        if role != "admin":
            _keep_an_admin(op, f"made {_a(role)}")
        old = op.role
        op.role, op.updated_at = role, utcnow()
        op.save()
        if old != role:
            _history(login, "role", actor.login, old, role)
    return _actor(op)


def deactivate(actor: Actor, login: str) -> Actor:
    """Stop an operator from using backroom (someone who left): refused everywhere after,
    kept in the operator history; their past history rows keep their name."""
    require(actor, "operators")
    with db.atomic():
        op = _operator(login)
        if not op.active:
            raise ValidationError(f"{login} is already deactivated")
        _keep_an_admin(op, "deactivated")
        op.active, op.updated_at = False, utcnow()
        op.save()
        _history(login, "deactivated", actor.login, op.role, op.role)
    return _actor(op)


def reactivate(actor: Actor, login: str) -> Actor:
    """Let a deactivated operator back in, with the role they had."""
    require(actor, "operators")
    with db.atomic():
        op = _operator(login)
        if op.active:
            raise ValidationError(f"{login} is already active")
        op.active, op.updated_at = True, utcnow()
        op.save()
        _history(login, "reactivated", actor.login, op.role, op.role)
    return _actor(op)


@dataclass(frozen=True)
class OperatorChange:
    """One row of the operator history."""

    login: str
    kind: str
    old_role: str
    new_role: str
    operator_login: str
    created_at: dt.datetime


def operator_history(login: str | None = None) -> list[OperatorChange]:
    """The operator history, oldest first (of one login, or of all)."""
    query = OperatorEvent.select().order_by(OperatorEvent.id)
    if login is not None:
        query = query.where(OperatorEvent.login == login)
    return [OperatorChange(e.login, e.kind, e.old_role, e.new_role, e.operator_login,
                           e.created_at) for e in query]


def require_migrator(database: Database, login: str) -> None:
    """`backroom migrate` changes the schema under every operator: an admin runs it, or
    anyone on a database with no operator yet. Read with plain SQL, since the schema may be
    older than the models."""
    if "operator" not in database.get_tables():
        return
    rows = database.execute_sql("SELECT login, role, active FROM operator").fetchall()
    if not rows:
        return
    for row_login, role, active in rows:
        if row_login == login and role == "admin" and active:
            return
    raise PermissionDenied(f"{login} is not an admin of this shop: only an admin may run "
                           "`backroom migrate`")


def set_email(actor: Actor, login: str, email: str) -> None:
    """An operator's own address (a campaign's test send goes there): set by themselves, or
    by an admin; "" clears it. Checked as every address is (store.contact)."""
    if actor.login != login:
        require(actor, "operators")
    else:
        current(actor)  # a deactivated operator sets nothing, their own address neither
    email = normalise_email(email, field="email") if email.strip() else ""
    with db.atomic():
        op = _operator(login)
        Operator.update(email=email, updated_at=utcnow()).where(Operator.id == op.id).execute()


def email_of(login: str) -> str:
    """The operator's own address, "" when they have not given one."""
    return str(Operator.select(Operator.email).where(Operator.login == login).scalar() or "")


def list_operators() -> list[tuple[str, str, str, bool]]:
    """(login, display name, role, active) of every operator, by login."""
    return [
        (o.login, o.display_name, o.role, o.active)
        for o in Operator.select().order_by(Operator.login)
    ]
