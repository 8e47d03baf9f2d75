"""Written-out SQL: the helpers every statement that peewee does not build goes through.

Why not peewee: its insert_many spends ~0.4 ms of Python per row building SQL (a 10,000-order
status change writes 20,000 rows), and building a query costs more than running it on an
index on the hot paths (a scan, a batch of mails). The modules that write SQL by hand say so
in their docstring: status, undo, outbox, outbox_queries, mail_reads, customer_queries,
search, queries.

One placeholder style: a statement written here binds every value by name, `named("x")` or
`Params` (`:x` on SQLite, `%(x)s` on PostgreSQL), never by position. (A fragment handed to a
peewee query, such as search's `SQL(...)` pieces, uses peewee's own placeholder, since peewee
numbers its parameters by position.)

`insert_rows` inserts Python rows with one executemany (SQLite) or execute_values
(PostgreSQL). `insert_select` writes rows the database derives itself (INSERT ... SELECT),
so nothing crosses into Python per row; `id_source` hands it a list of ids as one bound
value, in the order given, on both backends."""

from __future__ import annotations

import datetime as dt
import json
import operator
from collections.abc import Collection, Mapping, Sequence
from typing import Any

from psycopg2.extras import execute_values

from store import db as dbmod
from store.models import db


def insert_rows(model: Any, rows: Sequence[Mapping[str, Any]], on_conflict: str = "") -> None:
    """Insert dict rows (keyed by field name, all with the same keys) into model's table;
    fields left out take their model default, as insert_many would give them. `on_conflict`
    ends the statement (e.g. "ON CONFLICT (email_key) DO NOTHING")."""
    if not rows:
        return
    names = list(rows[0])
    fixed = _fixed(model, names)
    if len(names) == 1:
        values = [(row[names[0]], *fixed) for row in rows]
    else:
        take = operator.itemgetter(*names)  # a row's values, as a tuple, in C
        values = [take(row) + fixed for row in rows]
    _insert(model, names, values, on_conflict)


def insert_values(model: Any, names: Sequence[str], rows: Sequence[tuple[Any, ...]],
                  on_conflict: str = "") -> None:
    """insert_rows for rows given as tuples of the `names` fields' values, in that order: no
    dict made per row (a 100,000-row import)."""
    if not rows:
        return
    fixed = _fixed(model, names)
    _insert(model, names, [row + fixed for row in rows] if fixed else rows, on_conflict)


def _fixed(model: Any, names: Sequence[str]) -> tuple[Any, ...]:
    """The database values of the defaults of the fields not named, in _insert's order."""
    return tuple(value for _, value in _defaulted(model, names))


def _insert(model: Any, names: Sequence[str], values: Sequence[tuple[Any, ...]],
            on_conflict: str) -> None:
    """One executemany (SQLite) or execute_values (PostgreSQL) of the named fields' values
    followed by those of the defaulted fields."""
    given = [model._meta.fields[name] for name in names]
    defaults = _defaulted(model, names)
    columns = ", ".join(f'"{f.column_name}"' for f in [*given, *(f for f, _ in defaults)])
    table = model._meta.table_name
    cursor = db.cursor()
    if dbmod.is_sqlite():
        marks = ", ".join("?" * (len(given) + len(defaults)))
        cursor.executemany(f'INSERT INTO "{table}" ({columns}) VALUES ({marks}) {on_conflict}',
                           values)
    else:
        execute_values(cursor, f'INSERT INTO "{table}" ({columns}) VALUES %s {on_conflict}',
                       values, page_size=1000)


def _defaulted(model: Any, given: Collection[str]) -> list[tuple[Any, Any]]:
    """(field, database value of its default) for each field not given that has a default."""
    fields = [f for f in model._meta.sorted_fields
              if f.name not in given and not f.primary_key and f.default is not None]
    return [(f, f.db_value(f.default() if callable(f.default) else f.default)) for f in fields]


def stored_time(value: dt.datetime) -> Any:
    """A timestamp as the driver stores it, converted once for many rows: sqlite3 adapts each
    bound datetime in Python (isoformat), 30,000 times for a 10,000-order undo."""
    return value.isoformat(" ") if dbmod.is_sqlite() else value


def like_escaped(text: str) -> str:
    """`text` for a LIKE pattern, its wildcards taken literally (with `ESCAPE '\\'`, the
    backslash escape both databases accept)."""
    return text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")


def prefix_end(text: str) -> str:
    """The first string after every string that starts with non-empty `text`: `col >= text
    AND col < prefix_end(text)` is a prefix match a plain index answers by range."""
    return text[:-1] + chr(ord(text[-1]) + 1)


def named(name: str) -> str:
    """The placeholder of a named parameter: `:name` (SQLite) or `%(name)s` (psycopg2).
    Named, so SQL built from optional pieces never has to keep positional order."""
    return f":{name}" if dbmod.is_sqlite() else f"%({name})s"


class Params(dict[str, Any]):
    """The values of one written-out statement, each bound by name: `p(value)` stores it
    and returns its placeholder, so SQL built from optional pieces never counts positions."""

    def __call__(self, value: Any) -> str:
        name = f"p{len(self)}"
        self[name] = value
        return named(name)


def id_value(ids: Sequence[int]) -> str:
    """A list of ids as the one text value `id_source` reads: a JSON array (SQLite) or an
    array literal (PostgreSQL). One value, so 10,000 ids neither hit a bound-parameter limit
    nor make a 60 KB statement to parse."""
    text = ",".join(map(str, map(int, ids)))
    return f"[{text}]" if dbmod.is_sqlite() else f"{{{text}}}"


def id_source(param: str, alias: str = "pick") -> str:
    """A FROM item over the ids bound to `param` (see id_value), with columns `value` (the
    id) and `key` (its position, to keep the caller's order with ORDER BY alias.key)."""
    if dbmod.is_sqlite():
        return f"json_each({named(param)}) AS {alias}"
    return (f"unnest(CAST({named(param)} AS bigint[])) WITH ORDINALITY "
            f"AS {alias}(value, key)")


def values_source(param: str, columns: Sequence[tuple[str, str]], rows: Sequence[Sequence[Any]],
                  alias: str = "given") -> tuple[str, dict[str, Any]]:
    """A FROM item over Python rows bound as values, not spliced into SQL: `columns` are
    (name, PostgreSQL type) pairs, e.g. [("id", "bigint"), ("tracking", "text")]. SQLite
    reads one JSON array of arrays; PostgreSQL unnests one array per column. Returns the SQL
    and its parameters (named after `param`)."""
    if dbmod.is_sqlite():
        picks = ", ".join(f"json_extract(value, '$[{n}]') AS {name}"
                          for n, (name, _type) in enumerate(columns))
        return (f"(SELECT {picks} FROM json_each({named(param)})) AS {alias}",
                {param: json.dumps([list(r) for r in rows], ensure_ascii=False)})
    params = {f"{param}_{n}": [r[n] for r in rows] for n in range(len(columns))}
    arrays = ", ".join(f"CAST({named(f'{param}_{n}')} AS {kind}[])"
                       for n, (_name, kind) in enumerate(columns))
    names = ", ".join(name for name, _type in columns)
    return f"unnest({arrays}) AS {alias}({names})", params


def json_object(pairs: str) -> str:
    """SQL for a JSON object (as text) of `'key', expr, ...` pairs, keys in the order given."""
    if dbmod.is_sqlite():
        return f"json_object({pairs})"
    return f"CAST(json_build_object({pairs}) AS TEXT)"


def insert_select(model: Any, columns: Mapping[str, str], source: str,
                  params: Mapping[str, Any]) -> int:
    """INSERT INTO model's table the rows of `SELECT <columns' SQL> <source>` (source: FROM,
    WHERE, ORDER BY); fields not given take their model default. Returns the rows written."""
    fields = [model._meta.fields[name] for name in columns]
    defaults = _defaulted(model, columns)
    values = dict(params)
    exprs = list(columns.values())
    for field, value in defaults:
        values[f"default_{field.name}"] = value
        exprs.append(named(f"default_{field.name}"))
    names = ", ".join(f'"{f.column_name}"' for f in [*fields, *(f for f, _ in defaults)])
    sql = (f'INSERT INTO "{model._meta.table_name}" ({names}) SELECT {", ".join(exprs)} '
           f"{source}")
    return int(db.execute_sql(sql, values).rowcount)


def update_rows(model: Any, names: Sequence[str], rows: Sequence[Sequence[Any]],
                also: str = "", key: str = "id") -> None:
    """UPDATE model's rows by `key` (a column, the id by default) in one statement run: each
    row is the new values of `names` (field names) followed by the key; `also` adds
    assignments from the row's own columns (e.g. "version = version + 1"). PostgreSQL gets
    one UPDATE ... FROM (VALUES ...) per 1,000 rows, not a statement per row."""
    if not rows:
        return
    table = model._meta.table_name
    columns = [model._meta.fields[n].column_name for n in names]
    extra = f", {also}" if also else ""
    cursor = db.cursor()
    if dbmod.is_sqlite():
        sets = ", ".join(f'"{c}" = ?' for c in columns)
        cursor.executemany(f'UPDATE "{table}" SET {sets}{extra} WHERE "{key}" = ?', rows)
    else:
        sets = ", ".join(f'"{c}" = v."{c}"' for c in columns)
        given = ", ".join(f'"{c}"' for c in [*columns, key])
        execute_values(cursor, f'UPDATE "{table}" SET {sets}{extra} FROM (VALUES %s) AS '
                       f'v({given}) WHERE "{table}"."{key}" = v."{key}"', rows, page_size=1000)
