#!/usr/bin/python3
"""exec_rows.py — fills the corpus's execution fields ("exec_params", "rows", "rowcount",
"after", or "exec": false + "exec_why") from an oracle independent of athanor: SQLAlchemy 1.4
renders the case for SQLite (sqla_render.py builds the construct), Python's sqlite3 runs that SQL
with SQLAlchemy's processed parameters on tests/compiler/fixtures.sql (+ the file's "setup").
Only when SQLAlchemy's SQL cannot run (a rendering athanor deliberately differs from, "why") is the
case's reviewed SQLite text run instead. Never reads athanor's output.

  /usr/bin/python3 exec_rows.py [CASE_FILE...]    rewrite the files in place (default: all)

A case's "exec" key, when already false, is kept with its "exec_why" (hand-written reasons).
"""
import base64
import glob
import json
import os
import re
import sqlite3
import sys
import warnings

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, ".."))
warnings.simplefilter("ignore")
import sqla_render as O  # noqa: E402
import sqlalchemy as sa  # noqa: E402
from sqlalchemy import event  # noqa: E402

CASES = os.path.join(HERE, "..", "cases")
FIXTURES = os.path.join(HERE, "..", "fixtures.sql")
DML = ("insert", "update", "delete")
RUNNABLE = ("select", "union", "union_all", "intersect", "intersect_all", "except", "except_all",
            "text") + DML

# Clock-dependent results cannot be compared (reason per case name prefix or SQL content).
CLOCK = re.compile(r"CURRENT_TIMESTAMP|CURRENT_DATE|localtime|now\(", re.I)

# Sample values for binds without "params", by the column they are compared with.
SAMPLE = {"name": "alice", "email": "bob@example.com", "fullname": "Alice Adams", "nick": "al",
          "g": "g1", "k": "name", "suffix": "now", "n": 3}


class Captured(Exception):
    pass


def load_file(path):
    data = json.load(open(path))
    if isinstance(data, dict):
        return data, data.get("setup") or [], data["cases"]
    return data, [], data


def fixture_sql():
    return open(FIXTURES).read()


def fresh_db(setup):
    db = sqlite3.connect(":memory:", isolation_level=None)
    db.executescript(fixture_sql())
    for s in setup:
        db.execute(s)
    return db


def max_bind(o, acc):
    if isinstance(o, list):
        if len(o) >= 2 and o[0] in ("bind", "expanding") and isinstance(o[1], int):
            acc.append((o[1], o[0]))
        for x in o:
            max_bind(x, acc)
    elif isinstance(o, dict):
        for v in o.values():
            max_bind(v, acc)
    return acc


def hints(o, out):
    """bind index -> a sample value fitting the column it is compared with."""
    if isinstance(o, list) and o:
        if len(o) >= 3 and isinstance(o[0], str):
            l, r = o[1], o[2]
            for x, y in ((l, r), (r, l)):
                if isinstance(x, list) and x and x[0] == "col" and isinstance(y, list) and y[:1] == ["bind"]:
                    c = x[-1]
                    if o[0] in ("contains", "startswith", "endswith", "not_contains", "not_startswith",
                                "not_endswith", "like", "not_like", "ilike", "not_ilike"):
                        out.setdefault(y[1], {"contains": "b", "not_contains": "b", "startswith": "a",
                                              "not_startswith": "a", "endswith": "c", "not_endswith": "c"}
                                       .get(o[0], "%a%"))
                    elif c in SAMPLE:
                        out.setdefault(y[1], SAMPLE[c])
        for x in o:
            hints(x, out)
    elif isinstance(o, dict):
        for k in ("limit", "offset"):
            v = o.get(k)
            if isinstance(v, list) and v[:1] == ["bind"]:
                out.setdefault(v[1], 2 if k == "limit" else 1)
        for v in o.values():
            hints(v, out)
    return out


# Values chosen by hand where the generated ones would only hit a constraint.
OVERRIDES = {
    "upsert/index_where": [10, "alice"],   # conflicts on the partial unique index users_name
    "upsert/do_nothing": [1, "zed"],
    "upsert/do_nothing_no_target": [1, "zed"],
    "upsert/do_update_excluded": [1, "zed"],
    "upsert/do_update_bind": [2, "zed", "yan"],
    "upsert/do_update_expression": [3, "zed"],
    "upsert/set_where": [1, "alice"],
    "upsert/returning": [2, "bea"],
    "upsert/multi_row": [1, "ann", 9, "ivy"],
    "ops/comparisons": [10, 5, 0, 1],
    "fn/in_where": [5],
    "insert/from_select": [3],
    "cte/two": [1, 3],
    "affix/in_and_grouped": ["b", 3],
    "compound/except": ["alice", "bob"],
    "update/cte": [2, "zed"],
    "delete/cte": [3],
}


def exec_params(case):
    if case["name"] in OVERRIDES:
        return OVERRIDES[case["name"]], True
    if "params" in case:
        return case["params"], False
    binds = max_bind(case["stmt"], [])
    if not binds:
        return [], False
    h = hints(case["stmt"], {})
    n = max(i for i, _ in binds) + 1
    kinds = dict((i, k) for i, k in binds)
    return [([1, 2] if kinds.get(i) == "expanding" else h.get(i, i + 1)) for i in range(n)], True


def py_value(v):
    if isinstance(v, dict) and "$ext" in v:
        return v["v"]  # decimal / date / time text: bound as text on SQLite, as athanor does
    if isinstance(v, dict) and "$bin" in v:
        return base64.b64decode(v["$bin"])
    return v


def json_value(v):
    if isinstance(v, bytes):
        return {"$bin": base64.b64encode(v).decode()}
    return v


def text_binds(o, out):
    if isinstance(o, list):
        if len(o) >= 3 and o[0] == "text" and isinstance(o[2], dict):
            out.update(o[2])
        for x in o:
            text_binds(x, out)
    elif isinstance(o, dict):
        if o.get("k") == "text" and isinstance(o.get("binds"), dict):
            out.update(o["binds"])
        for v in o.values():
            text_binds(v, out)
    return out


def sqla_statement(case, params):
    """SQLAlchemy's SQL and DBAPI parameters for the case on SQLite (its own bind processing)."""
    s = case["stmt"]
    cols = {}
    if isinstance(s.get("columns"), list) and s.get("k") == "insert":
        for c in s["columns"]:
            cols[c] = 1
    O.collect_columns(s, cols)
    ctx = O.Ctx([py_value(p) for p in params], cols)
    ctx.dialect = "sqlite"
    q = O.stmt(ctx, s)
    extra = {n: py_value(params[b[1]]) for n, b in text_binds(s, {}).items()}
    eng = sa.create_engine("sqlite://")
    got = {}

    @event.listens_for(eng, "before_cursor_execute")
    def grab(conn, cursor, statement, parameters, context, executemany):
        got["sql"], got["params"] = statement, parameters
        raise Captured()

    with eng.connect() as conn:
        try:
            conn.execute(q, extra) if extra else conn.execute(q)
        except Captured:
            pass
        except sa.exc.StatementError as e:
            if not isinstance(e.orig, Captured):
                raise
    eng.dispose()
    return got["sql"], list(got["params"])


def sqla_order(case, params, want):
    n = want.count("?")
    if n == 0:
        return []
    for d in ("sqlite", "postgresql"):
        try:
            _, order = O.render(case["stmt"], d, [py_value(v) for v in params])
        except Exception:
            continue
        if len(order) == n and all(isinstance(i, int) for i in order):
            return [py_value(params[i]) for i in order]
    raise ValueError("no SQLAlchemy parameter order for %d placeholders" % n)


def run(db, sql, params, stmt):
    db.execute("BEGIN")
    try:
        cur = db.execute(sql, params)
        res = {}
        if cur.description is not None:
            res["rows"] = [[json_value(v) for v in r] for r in cur.fetchall()]
        if stmt["k"] in DML and "rows" not in res:
            # sqlite3_changes(), not cursor.rowcount: Python's sqlite3 reports -1 for WITH ... DML
            res["rowcount"] = db.execute("SELECT changes()").fetchone()[0]
        if stmt["k"] in DML:
            t = stmt.get("table")
            if isinstance(t, list) and t[0] == "table":
                name = '"%s"' % t[1].replace('"', '""')
                after = "SELECT * FROM %s ORDER BY rowid" % name
                res["after"] = {"sql": after,
                                "rows": [[json_value(v) for v in r] for r in db.execute(after).fetchall()]}
        return res
    finally:
        db.execute("ROLLBACK")


def corpus_sqlite_sql(case):
    sql = case.get("sql") or {}
    return sql.get("sqlite") or sql.get("all")


def fill(case, db):
    s = case["stmt"]
    for k in ("exec_params", "rows", "rowcount", "after", "exec_source"):
        case.pop(k, None)
    if case.get("exec") is False and "exec_why" in case and not case["exec_why"].startswith("("):
        return "kept"
    case.pop("exec", None)
    case.pop("exec_why", None)
    if not isinstance(s, dict) or s.get("k") not in RUNNABLE:
        return "not a statement"
    errs = case.get("errors") or {}
    if "sqlite" in errs or ("all" in errs and "sqlite" not in (case.get("sql") or {})):
        case["exec"], case["exec_why"] = False, "(SQLite compile error: the case checks the error)"
        return "compile error"
    want = corpus_sqlite_sql(case)
    if want and CLOCK.search(want):
        case["exec"], case["exec_why"] = False, "(the result depends on the clock)"
        return "clock"
    params, generated = exec_params(case)
    res = err = None
    try:
        sql, dbp = sqla_statement(case, params)
        res = run(db, sql, dbp, s)
        source = "sqlalchemy"
    except Exception as e:  # SQLAlchemy cannot build it, or SQLite rejects its SQL
        err = "%s: %s" % (type(e).__name__, str(e).split("\n")[0][:120])
    if res is None and want:
        # The case's reviewed SQLite text (athanor deliberately differs from SQLAlchemy, or
        # SQLAlchemy 1.4 cannot build it for SQLite), run by Python's sqlite3 with the parameters
        # in the order SQLAlchemy places them (its SQLite, else its PostgreSQL rendering).
        try:
            res = run(db, want, sqla_order(case, params, want), s)
            source = "case sql"
        except Exception as e:
            err = "%s; case sql: %s" % (err, str(e)[:120])
    if res is None:
        case["exec"], case["exec_why"] = False, "(SQLite cannot run it: %s)" % err
        return "sqlite error"
    if generated:
        case["exec_params"] = params
    case.update(res)
    if source != "sqlalchemy":
        case["exec_source"] = source
    return "rows"


def dump(path, data):
    cases = data["cases"] if isinstance(data, dict) else data
    with open(path, "w") as f:
        if isinstance(data, dict):
            f.write('{"setup": %s,\n "cases": [\n' % json.dumps(data["setup"], ensure_ascii=False))
        else:
            f.write("[\n")
        for i, c in enumerate(cases):
            body = ",\n  ".join("%s: %s" % (json.dumps(k), json.dumps(v, ensure_ascii=False)) for k, v in c.items())
            f.write(" {" + body + "}" + (",\n" if i < len(cases) - 1 else "\n"))
        f.write("]}\n" if isinstance(data, dict) else "]\n")


def main():
    files = sys.argv[1:] or sorted(glob.glob(os.path.join(CASES, "*.json")))
    tally = {}
    for path in files:
        data, setup, cases = load_file(path)
        db = fresh_db(setup)
        for c in cases:
            r = fill(c, db)
            tally[r] = tally.get(r, 0) + 1
            if r in ("sqlite error",):
                print("%s: %s" % (c["name"], c["exec_why"]), file=sys.stderr)
        db.close()
        dump(path, data)
    print(tally)


if __name__ == "__main__":
    main()
