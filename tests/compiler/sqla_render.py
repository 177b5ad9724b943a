#!/usr/bin/python3
"""sqla_render.py — the differential oracle: turns an athanor wire statement (JSON) into
SQLAlchemy 1.4 Core constructs and renders it for sqlite / postgresql / mysql / mariadb, so the
compiler corpus (tests/compiler/cases/*.json) can be checked against SQLAlchemy itself.
Does not run anything against a database. Run with /usr/bin/python3 (Debian's python3-sqlalchemy).

  sqla_render.py render DIALECT < stmt.json        print the SQL
  sqla_render.py check  CASES_DIR [ATHANOR_BIN]    compare every case's expected SQL with
                                                   SQLAlchemy's; exit 1 on an unexplained
                                                   difference (a case with "why" is reported only)
  sqla_render.py fill CASE_FILE NAME...            print SQLAlchemy's SQL for the named cases
"""
import json
import re
import sys

try:
    import sqlalchemy as sa
    from sqlalchemy import (and_, or_, not_, func, select, table, column, bindparam, literal, null,
                            true, false, case, cast, type_coerce, tuple_, exists, extract, collate,
                            distinct, text, union, union_all, intersect, intersect_all, except_,
                            except_all, insert, update, delete, literal_column, any_, all_, values)
    from sqlalchemy.dialects import sqlite, postgresql, mysql
    from sqlalchemy.dialects.postgresql import insert as pg_insert
    from sqlalchemy.dialects.sqlite import insert as sqlite_insert
    from sqlalchemy.dialects.mysql import insert as mysql_insert
    from sqlalchemy.ext.compiler import compiles
    from sqlalchemy.sql.elements import ColumnElement
    from sqlalchemy import types as T
except ImportError:  # the CTest wrapper maps this to "skipped"
    sys.exit(77)


class Unsupported(Exception):
    pass


class Lit(ColumnElement):
    """["lit", v]: the value rendered inline by the dialect's literal processor."""
    inherit_cache = False

    def __init__(self, v):
        self.bp = literal(v)
        self.type = self.bp.type


@compiles(Lit)
def _lit(el, compiler, **kw):
    kw["literal_binds"] = True
    return compiler.process(el.bp, **kw)


def dialect_for(name):
    if name == "sqlite":
        return sqlite.dialect(paramstyle="qmark")
    if name == "postgresql":
        return postgresql.dialect(paramstyle="qmark")
    if name == "mariadb":
        d = mysql.dialect(paramstyle="qmark")
        d.is_mariadb = True
        d.server_version_info = (10, 6, 0)
        return d
    d = mysql.dialect(paramstyle="qmark")
    d.server_version_info = (8, 0, 30)
    return d


def sqla_type(t):
    name, args = t[0], t[1:]
    opts = args[-1] if args and isinstance(args[-1], dict) else {}
    pos = [a for a in args if not isinstance(a, dict)]
    simple = {"Integer": T.Integer, "BigInteger": T.BigInteger, "SmallInteger": T.SmallInteger,
              "Boolean": T.Boolean, "Text": T.Text, "Date": T.Date, "Time": T.Time,
              "Interval": T.Interval, "JSON": T.JSON, "Double": T.Float}
    if name in simple:
        return simple[name]()
    if name in ("String", "Unicode", "LargeBinary"):
        return getattr(T, name)(*pos)
    if name == "Float":
        return T.Float(*pos)
    if name == "Numeric":
        return T.Numeric(*pos)
    if name == "DateTime":
        return T.DateTime(timezone=opts.get("timezone", False))
    if name == "UUID":
        return postgresql.UUID()
    if name == "ARRAY":
        return postgresql.ARRAY(sqla_type(pos[0]))
    if name == "Enum":
        return T.Enum(*pos[0], name=opts.get("name"), native_enum=opts.get("native", True))
    if "." in name:
        mod, tn = name.split(".", 1)
        m = {"postgresql": postgresql, "mysql": mysql, "sqlite": sqlite}[mod]
        return getattr(m, tn)(*pos)
    raise Unsupported("type " + name)


class Ctx:
    def __init__(self, params, columns):
        self.params = params
        self.columns = list(columns)  # every column name seen, in order: each table gets all of them
        self.env = {}  # name -> FROM object (table, alias, subquery, cte)
        self.stmt = None  # the insert, for ["excluded", name]
        self.dialect = None

    def table(self, name, schema=None):
        key = name if not schema else schema + "." + name
        t = table(name, *[column(c) for c in self.columns], schema=schema)
        self.env.setdefault(name, t)
        return t

    def bind(self, i, expanding=False, type_=None):
        kw = {}
        if self.params is not None and i < len(self.params):
            kw["value"] = self.params[i]
        if type_ is not None:
            kw["type_"] = type_
        return bindparam("p%d" % i, expanding=expanding, **kw)

    def find(self, name):
        if name not in self.env:
            return self.table(name)
        return self.env[name]


def collect_columns(o, out):
    if isinstance(o, list):
        if len(o) >= 2 and o[0] == "col" and all(isinstance(x, str) for x in o[1:]):
            out[o[-1]] = 1
        if len(o) == 2 and o[0] == "excluded" and isinstance(o[1], str):
            out[o[1]] = 1
        for x in o:
            collect_columns(x, out)
    elif isinstance(o, dict):
        for k, v in o.items():
            if k in ("columns", "set") and isinstance(v, list):
                for x in v:
                    if isinstance(x, str):
                        out[x] = 1
                    elif isinstance(x, list) and x and isinstance(x[0], str) and k == "set":
                        out[x[0]] = 1
            if k == "on_conflict" and isinstance(v, dict):
                for x in v.get("target") or []:
                    out[x] = 1
            collect_columns(v, out)


BINOPS = {
    "=": lambda l, r: l == r, "!=": lambda l, r: l != r, "<": lambda l, r: l < r,
    "<=": lambda l, r: l <= r, ">": lambda l, r: l > r, ">=": lambda l, r: l >= r,
    "+": lambda l, r: l + r, "-": lambda l, r: l - r, "*": lambda l, r: l * r,
    "/": lambda l, r: l / r, "%": lambda l, r: l % r, "||": lambda l, r: l.concat(r),
    "//": lambda l, r: l.op("/", precedence=8)(r),
    "&": lambda l, r: l.op("&", precedence=7)(r), "|": lambda l, r: l.op("|", precedence=7)(r),
    "^": lambda l, r: l.op("^", precedence=7)(r), "<<": lambda l, r: l.op("<<", precedence=7)(r),
    ">>": lambda l, r: l.op(">>", precedence=7)(r),
    "is": lambda l, r: l.is_(r), "is_not": lambda l, r: l.is_not(r),
    "is_distinct_from": lambda l, r: l.is_distinct_from(r),
    "is_not_distinct_from": lambda l, r: l.is_not_distinct_from(r),
}


def window_kw(ctx, w):
    kw = {}
    if w.get("partition_by"):
        kw["partition_by"] = [expr(ctx, e) for e in w["partition_by"]]
    if w.get("order_by"):
        kw["order_by"] = [expr(ctx, e) for e in w["order_by"]]
    if "rows" in w:
        kw["rows"] = tuple(w["rows"])
    if "range" in w:
        kw["range_"] = tuple(w["range"])
    return kw


def opts_of(o, n):
    return o[n] if len(o) > n and isinstance(o[n], dict) else {}


def index_key(ctx, o):
    return ctx.bind(o[1], type_=T.Integer()) if o[0] == "bind" else Lit(o[1])


def expr(ctx, o):
    k = o[0]
    if k == "col":
        if len(o) == 2:
            return column(o[1])
        return ctx.find(o[1]).c[o[2]]
    if k == "bind":
        return ctx.bind(o[1], type_=sqla_type(o[2]) if len(o) > 2 else None)
    if k == "lit":
        return Lit(o[1])
    if k == "null":
        return null()
    if k == "true":
        return true()
    if k == "false":
        return false()
    if k == "*" and len(o) <= 2:
        return literal_column("*") if len(o) == 1 else literal_column(o[1] + ".*")
    if k in BINOPS:
        acc = expr(ctx, o[1])
        for x in o[2:]:
            acc = BINOPS[k](acc, expr(ctx, x))
        return acc
    if k == "and":
        return and_(*[expr(ctx, x) for x in o[1:]])
    if k == "or":
        return or_(*[expr(ctx, x) for x in o[1:]])
    if k == "not":
        return not_(expr(ctx, o[1]))
    if k == "neg":
        return -expr(ctx, o[1])
    if k in ("like", "not_like", "ilike", "not_ilike"):
        e, p, esc = expr(ctx, o[1]), expr(ctx, o[2]), opts_of(o, 3).get("escape")
        return getattr(e, k.replace("not_", "not"))(p, escape=esc)
    if k in ("contains", "startswith", "endswith", "not_contains", "not_startswith", "not_endswith"):
        op = k.replace("not_", "")
        opts = opts_of(o, 3)
        val = expr(ctx, o[2])
        if opts.get("autoescape") and o[2][0] == "bind" and ctx.params is not None:
            val = ctx.params[o[2][1]]  # SQLAlchemy escapes a Python value, not a bind
        r = getattr(expr(ctx, o[1]), op)(val, escape=opts.get("escape"),
                                         autoescape=opts.get("autoescape", False))
        return ~r if k.startswith("not_") else r
    if k == "regexp":
        return expr(ctx, o[1]).regexp_match(expr(ctx, o[2]))
    if k == "not_regexp":
        return ~expr(ctx, o[1]).regexp_match(expr(ctx, o[2]))
    if k in ("in", "not_in"):
        e, lst = expr(ctx, o[1]), o[2]
        if isinstance(lst, dict):
            arg = stmt(ctx, lst)
        elif lst[0] == "expanding":
            arg = ctx.bind(lst[1], expanding=True)
        else:
            arg = [expr(ctx, x) for x in lst[1:]]
        return e.in_(arg) if k == "in" else e.not_in(arg)
    if k in ("between", "not_between"):
        r = expr(ctx, o[1]).between(expr(ctx, o[2]), expr(ctx, o[3]),
                                    symmetric=opts_of(o, 4).get("symmetric", False))
        return ~r if k == "not_between" else r
    if k == "excluded":
        if ctx.dialect.startswith("m"):
            return ctx.stmt.inserted[o[1]]
        return ctx.stmt.excluded[o[1]]
    if k == "op":
        return expr(ctx, o[2]).op(o[1])(expr(ctx, o[3]))
    if k == "fn":
        f = func
        for part in o[1].split("."):
            f = getattr(f, part)
        r = f(*[expr(ctx, x) for x in (o[2] if len(o) > 2 else [])])
        opts = opts_of(o, 3)
        if "within_group" in opts:
            r = r.within_group(*[expr(ctx, x) for x in opts["within_group"]])
        if "filter" in opts:
            r = r.filter(expr(ctx, opts["filter"]))
        if "over" in opts:
            r = r.over(**window_kw(ctx, opts["over"]))
        return r
    if k == "case":
        whens = [(expr(ctx, w), expr(ctx, t)) for w, t in o[1]]
        kw = {"else_": expr(ctx, o[2])} if len(o) > 2 else {}
        return case(*whens, **kw)
    if k == "case_on":
        whens = [(expr(ctx, w), expr(ctx, t)) for w, t in o[2]]
        kw = {"else_": expr(ctx, o[3])} if len(o) > 3 else {}
        return case(*whens, value=expr(ctx, o[1]), **kw)
    if k == "cast":
        return cast(expr(ctx, o[1]), sqla_type(o[2]))
    if k == "type_coerce":
        return type_coerce(expr(ctx, o[1]), sqla_type(o[2]))
    if k == "label":
        return expr(ctx, o[2]).label(o[1])
    if k == "scalar":
        return stmt(ctx, o[1]).scalar_subquery()
    if k == "exists":
        return stmt(ctx, o[1]).exists()
    if k == "not_exists":
        return ~stmt(ctx, o[1]).exists()
    if k == "tuple":
        return tuple_(*[expr(ctx, x) for x in o[1:]])
    if k == "extract":
        return extract(o[1], expr(ctx, o[2]))
    if k == "collate":
        return collate(expr(ctx, o[1]), o[2])
    if k == "distinct":
        return distinct(expr(ctx, o[1]))
    if k in ("asc", "desc"):
        return getattr(expr(ctx, o[1]), k)()
    if k == "nulls_first":
        return sa.nullsfirst(expr(ctx, o[1]))
    if k == "nulls_last":
        return sa.nullslast(expr(ctx, o[1]))
    if k == "any":
        return any_(expr(ctx, o[1]))
    if k == "all":
        return all_(expr(ctx, o[1]))
    if k == "index":
        return type_coerce(expr(ctx, o[1]), postgresql.ARRAY(T.Integer))[index_key(ctx, o[2])]
    if k == "slice":
        return type_coerce(expr(ctx, o[1]), postgresql.ARRAY(T.Integer))[index_key(ctx, o[2]):index_key(ctx, o[3])]
    if k in ("json_get", "json_get_text", "json_path", "json_path_text"):
        j = type_coerce(expr(ctx, o[1]), T.JSON())
        if k.startswith("json_path"):
            key = ctx.bind(o[2][1]) if o[2][0] == "bind" else tuple(x[1] for x in o[2][1:])
            if ctx.params is not None and o[2][0] == "bind":
                key = tuple(ctx.params[o[2][1]])
            r = j[key]
        else:
            key = o[2][1]
            if o[2][0] == "bind":
                key = ctx.params[key] if ctx.params is not None else "k"
            r = j[key]
        return r.as_string() if k.endswith("_text") else r
    if k == "text":
        binds = o[2] if len(o) > 2 else {}
        t = text(o[1])
        return t.bindparams(*[bindparam(n) for n in binds]) if binds else t
    raise Unsupported("expression " + k)


def from_item(ctx, o):
    k = o[0]
    if k == "table":
        return ctx.table(o[1], (o[2] if len(o) > 2 else {}).get("schema"))
    if k == "alias":
        a = from_item(ctx, o[1]).alias(o[2])
        ctx.env[o[2]] = a
        return a
    if k == "join":
        l, r = from_item(ctx, o[1]), from_item(ctx, o[2])
        kind = o[4] if len(o) > 4 else "inner"
        return l.join(r, expr(ctx, o[3]), isouter=kind == "left", full=kind == "full")
    if k in ("subquery", "lateral"):
        s = stmt(ctx, o[1])
        sq = s.subquery(o[2]) if k == "subquery" else s.lateral(o[2])
        ctx.env[o[2]] = sq
        return sq
    if k == "cte":
        return ctx.env[o[1]]
    if k == "values":
        rows = o[1]
        v = values(*[column(c) for c in o[3]], name=o[2]).data(
            [tuple(ctx.params[x[1]] if x[0] == "bind" else x[1] for x in row) for row in rows])
        ctx.env[o[2]] = v
        return v
    if k == "table_fn":
        f = expr(ctx, o[1])
        tv = f.table_valued(*o[3]).alias(o[2]) if len(o) > 3 else f.table_valued().alias(o[2])
        ctx.env[o[2]] = tv
        return tv
    raise Unsupported("from " + k)


def with_ctes(ctx, s):
    """Declare the statement's CTEs in ctx.env (in order) and return them."""
    out = []
    for w in s.get("with") or []:
        q = w["query"]
        if w.get("recursive") and q["k"] in ("union", "union_all"):
            base = stmt(ctx, q["selects"][0])
            if w.get("columns"):
                base = base.with_only_columns(*[c.label(n) for c, n in zip(base.selected_columns, w["columns"])])
            cte = base.cte(w["name"], recursive=True)
            ctx.env[w["name"]] = cte
            rest = [stmt(ctx, x) for x in q["selects"][1:]]
            cte = cte.union_all(*rest) if q["k"] == "union_all" else cte.union(*rest)
        else:
            cte = stmt(ctx, q).cte(w["name"], recursive=bool(w.get("recursive")))
        ctx.env[w["name"]] = cte
        out.append(cte)
    return out


COMPOUND = {"union": union, "union_all": union_all, "intersect": intersect,
            "intersect_all": intersect_all, "except": except_, "except_all": except_all}


def limits(ctx, q, s):
    if s.get("order_by"):
        q = q.order_by(*[expr(ctx, e) for e in s["order_by"]])
    if s.get("limit") is not None:
        q = q.limit(expr(ctx, s["limit"]))
    if s.get("offset") is not None:
        q = q.offset(expr(ctx, s["offset"]))
    return q


def stmt(ctx, s):
    k = s["k"]
    ctes = with_ctes(ctx, s)
    if k == "select":
        froms = [from_item(ctx, f) for f in s.get("from") or []]
        q = select(*[expr(ctx, e) for e in s["columns"]])
        if froms:
            q = q.select_from(*froms)
        for e in s["columns"]:
            if e[0] == "*" and len(e) == 2 and not froms:
                q = q.select_from(ctx.find(e[1]))
        if s.get("where") is not None:
            q = q.where(expr(ctx, s["where"]))
        if s.get("group_by"):
            q = q.group_by(*[expr(ctx, e) for e in s["group_by"]])
        if s.get("having") is not None:
            q = q.having(expr(ctx, s["having"]))
        d = s.get("distinct")
        if d is True:
            q = q.distinct()
        elif isinstance(d, list):
            q = q.distinct(*[expr(ctx, e) for e in d])
        fu = s.get("for_update")
        if fu is not None:
            q = q.with_for_update(read=fu.get("read", False), nowait=fu.get("nowait", False),
                                  skip_locked=fu.get("skip_locked", False),
                                  key_share=fu.get("key_share", False),
                                  of=[ctx.find(n[1]) if isinstance(n, list) else ctx.find(n)
                                      for n in fu.get("of") or []] or None)
        if "correlate" in s:
            q = q.correlate(*[ctx.find(n) for n in s["correlate"]])
        q = limits(ctx, q, s)
    elif k in COMPOUND:
        q = COMPOUND[k](*[stmt(ctx, x) for x in s["selects"]])
        q = limits(ctx, q, s)
    elif k == "insert":
        t = from_item(ctx, s["table"])
        oc = s.get("on_conflict")
        mk = insert
        if oc is not None:
            mk = mysql_insert if ctx.dialect.startswith("m") else (pg_insert if ctx.dialect == "postgresql" else sqlite_insert)
        q = mk(t)
        ctx.stmt = q
        if "select" in s:
            q = q.from_select(s.get("columns") or [], stmt(ctx, s["select"]))
        elif s.get("values"):
            rows = [{c: expr(ctx, v) for c, v in zip(s["columns"], row)} for row in s["values"]]
            q = q.values(rows[0] if len(rows) == 1 else rows)
        if oc is not None:
            ctx.stmt = q
            sets = {n: expr(ctx, e) for n, e in oc.get("set") or []}
            if ctx.dialect.startswith("m"):
                q = q.on_duplicate_key_update(**sets)
            elif oc.get("do") == "nothing":
                q = q.on_conflict_do_nothing(index_elements=oc.get("target"), constraint=oc.get("constraint"),
                                             index_where=expr(ctx, oc["where"]) if oc.get("where") else None) \
                    if ctx.dialect == "postgresql" else \
                    q.on_conflict_do_nothing(index_elements=oc.get("target"),
                                             index_where=expr(ctx, oc["where"]) if oc.get("where") else None)
            else:
                kw = dict(index_elements=oc.get("target"), set_=sets,
                          where=expr(ctx, oc["set_where"]) if oc.get("set_where") else None,
                          index_where=expr(ctx, oc["where"]) if oc.get("where") else None)
                if ctx.dialect == "postgresql":
                    kw["constraint"] = oc.get("constraint")
                q = q.on_conflict_do_update(**kw)
    elif k == "update":
        t = from_item(ctx, s["table"])
        for f in s.get("from") or []:
            from_item(ctx, f)
        q = update(t).ordered_values(*[(t.c[n], expr(ctx, e)) for n, e in s["set"]])
        if s.get("where") is not None:
            q = q.where(expr(ctx, s["where"]))
    elif k == "delete":
        t = from_item(ctx, s["table"])
        for f in s.get("using") or []:
            from_item(ctx, f)
        q = delete(t)
        if s.get("where") is not None:
            q = q.where(expr(ctx, s["where"]))
    elif k == "text":
        q = text(s["sql"])
    else:
        raise Unsupported("statement " + k)
    if k in ("insert", "update", "delete"):
        if s.get("returning"):
            q = q.returning(*[expr(ctx, e) for e in s["returning"]])
        for c in ctes:
            q = q.add_cte(c)
    return q


def render(s, dialect, params=None):
    """SQL with ? placeholders, and the parameter indexes in placeholder order."""
    cols = {}  # insertion-ordered: an INSERT's columns keep their order
    if isinstance(s.get("columns"), list) and s.get("k") == "insert":
        for c in s["columns"]:
            cols[c] = 1
    collect_columns(s, cols)
    ctx = Ctx(params, cols)
    ctx.dialect = dialect
    q = stmt(ctx, s)
    kw = {"render_postcompile": True} if params is not None else {}
    c = q.compile(dialect=dialect_for(dialect), compile_kwargs=kw)
    sql = str(c)
    order = []
    for name in c.positiontup or []:
        m = re.match(r"p(\d+)", name)
        order.append(int(m.group(1)) if m else name)
    return sql, order


def normalise(sql):
    """Whitespace runs to one space; $n / %s / %(x)s placeholders to ?; no space before ')'."""
    sql = re.sub(r"\$\d+", "?", sql)
    sql = re.sub(r"%\(\w+\)s|%s", "?", sql)
    sql = re.sub(r"\s+", " ", sql).strip()
    return sql.replace("( ", "(").replace(" )", ")")


DIALECTS = ("sqlite", "postgresql", "mysql", "mariadb")


def expected(case, d):
    sql = case.get("sql") or {}
    errs = case.get("errors") or {}
    if d in errs or ("all" in errs and d not in sql):
        return None
    if d in sql:
        return sql[d]
    if d == "mariadb" and "mysql" in sql:
        return sql["mysql"]
    return sql.get("all")


def check(cases_dir):
    import glob
    import os
    agree = differ_why = differ = skipped = 0
    report = []
    for path in sorted(glob.glob(os.path.join(cases_dir, "*.json"))):
        data = json.load(open(path))
        for case in data["cases"] if isinstance(data, dict) else data:
            for d in DIALECTS:
                want = expected(case, d)
                if want is None:
                    continue
                try:
                    got, _ = render(case["stmt"], d, case.get("params"))
                except Exception as e:  # a construct the oracle cannot build
                    skipped += 1
                    if "why" not in case and "sqla_skip" not in case:
                        report.append("SKIP %s [%s]: %s: %s" % (case["name"], d, type(e).__name__, str(e)[:120]))
                    continue
                if normalise(got) == normalise(want):
                    agree += 1
                elif "why" in case or "why_" + d in case:
                    differ_why += 1
                else:
                    differ += 1
                    report.append("DIFF %s [%s]\n  athanor:    %s\n  sqlalchemy: %s" %
                                  (case["name"], d, normalise(want), normalise(got)))
    for line in report:
        print(line)
    print("differential: %d renderings agree with SQLAlchemy, %d differ with a reason (\"why\"), "
          "%d differ without one, %d not renderable by the oracle" % (agree, differ_why, differ, skipped))
    return 1 if differ else 0


def main():
    if len(sys.argv) >= 3 and sys.argv[1] == "render":
        s = json.load(sys.stdin)
        params = None
        if isinstance(s, dict) and "stmt" in s:
            params, s = s.get("params"), s["stmt"]
        sql, order = render(s, sys.argv[2], params)
        print(normalise(sql))
        print("bind order:", order)
        return 0
    if len(sys.argv) >= 3 and sys.argv[1] == "check":
        return check(sys.argv[2])
    if len(sys.argv) >= 4 and sys.argv[1] == "fill":
        data = json.load(open(sys.argv[2]))
        for case in data["cases"] if isinstance(data, dict) else data:
            if case["name"] in sys.argv[3:] or sys.argv[3] == "*":
                print(case["name"])
                for d in DIALECTS:
                    try:
                        print("  %-10s %s" % (d, normalise(render(case["stmt"], d, case.get("params"))[0])))
                    except Exception as e:
                        print("  %-10s ERROR %s: %s" % (d, type(e).__name__, e))
        return 0
    print(__doc__)
    return 2


if __name__ == "__main__":
    sys.exit(main())
