#!/usr/bin/python3
# sqla_ddl.py — the differential oracle for athanor's DDL: a schema spec (docs/schema-spec.md) is
# built as a SQLAlchemy 1.4 MetaData and its create_all / drop_all statements are captured per
# dialect through create_mock_engine (checkfirst=False), the same statements athanor's
# ath_compile_ddl returns. Mirrors nothing; it drives SQLAlchemy itself.
#
#   sqla_ddl.py render SPEC.json            print SQLAlchemy's create/drop lists per dialect
#   sqla_ddl.py check CASES_DIR             compare every case's expected lists with SQLAlchemy's;
#                                           a difference must be explained by the case's "why"
#   sqla_ddl.py fill CASES_DIR              write SQLAlchemy's lists into cases lacking "create"
#
# Statement order that SQLAlchemy leaves to set iteration (a table's indexes, the foreign keys
# added after a cycle) is normalised: each run of consecutive CREATE INDEX / ALTER TABLE ... ADD /
# ALTER TABLE ... DROP CONSTRAINT statements is compared as a sorted run. Exit 77 when SQLAlchemy
# is missing, 1 on an unexplained difference.
import glob
import json
import sys
import warnings

try:
    import sqlalchemy as sa
    from sqlalchemy import create_mock_engine
    from sqlalchemy.dialects import mysql, postgresql
except ImportError:
    sys.exit(77)

DIALECTS = ["sqlite", "postgresql", "mysql", "mariadb"]

GENERIC = {
    "Integer": sa.Integer, "BigInteger": sa.BigInteger, "SmallInteger": sa.SmallInteger,
    "Boolean": sa.Boolean, "String": sa.String, "Text": sa.Text, "Unicode": sa.Unicode,
    "UnicodeText": sa.UnicodeText, "Float": sa.Float, "Numeric": sa.Numeric, "Date": sa.Date,
    "DateTime": sa.DateTime, "Time": sa.Time, "Interval": sa.Interval,
    "LargeBinary": sa.LargeBinary, "JSON": sa.JSON,
}
# keyword of a dialect type's positional arguments (athanor's ["mysql.DATETIME", 6])
DIALECT_ARGS = {"DATETIME": ["fsp"], "TIMESTAMP": ["fsp"], "TIME": ["fsp"], "VARCHAR": ["length"],
                "CHAR": ["length"], "DECIMAL": ["precision", "scale"], "NUMERIC": ["precision", "scale"]}


def opts_of(t):
    return t[-1] if len(t) > 1 and isinstance(t[-1], dict) else {}


def posargs(t):
    return [a for a in t[1:] if not isinstance(a, dict)]


def make_type(t):
    name, args, o = t[0], posargs(t), opts_of(t)
    if name in GENERIC:
        kw = {}
        if "timezone" in o:
            kw["timezone"] = o["timezone"]
        if "create_constraint" in o:
            kw["create_constraint"] = o["create_constraint"]
        if name == "Boolean" and "name" in o:
            kw["name"] = o["name"]
        return GENERIC[name](*args, **kw)
    if name == "Double":
        return sa.Float(precision=53)
    if name == "Enum":
        kw = {"native_enum": o.get("native", True)}
        if "name" in o:
            kw["name"] = o["name"]
        if "create_constraint" in o:
            kw["create_constraint"] = o["create_constraint"]
        if "length" in o:
            kw["length"] = o["length"]
        return sa.Enum(*args[0], **kw)
    if name == "UUID":
        return postgresql.UUID()
    if name == "ARRAY":
        return sa.ARRAY(make_type(t[1]), dimensions=args[1] if len(args) > 1 else None)
    ns, _, tn = name.partition(".")
    mod = {"postgresql": postgresql, "mysql": mysql}[ns]
    cls = getattr(mod, tn)
    names = DIALECT_ARGS.get(tn)
    if names:
        return cls(**dict(zip(names, args)))
    if tn.endswith("INT") and args:
        return cls(display_width=args[0])
    return cls(*args)


def make_expr(e, table=None):
    """A spec expression as a SQLAlchemy clause (DDL contexts: defaults, CHECK, index items)."""
    k = e[0]
    if k == "text":
        return sa.text(e[1])
    if k == "lit":
        return sa.literal(e[1])
    if k == "null":
        return sa.null()
    if k == "true":
        return sa.true()
    if k == "false":
        return sa.false()
    if k == "col":
        name = e[-1]
        return table.c[name] if table is not None else sa.column(name)
    if k == "fn":
        return getattr(sa.func, e[1])(*[make_expr(a, table) for a in e[2]])
    if k in ("=", "!=", "<", "<=", ">", ">=", "+", "-", "*", "/"):
        import operator
        ops = {"=": operator.eq, "!=": operator.ne, "<": operator.lt, "<=": operator.le,
               ">": operator.gt, ">=": operator.ge, "+": operator.add, "-": operator.sub,
               "*": operator.mul, "/": operator.truediv}
        return ops[k](make_expr(e[1], table), make_expr(e[2], table))
    if k == "and":
        return sa.and_(*[make_expr(a, table) for a in e[1:]])
    if k == "or":
        return sa.or_(*[make_expr(a, table) for a in e[1:]])
    if k == "not":
        return sa.not_(make_expr(e[1], table))
    if k == "is":
        return make_expr(e[1], table).is_(make_expr(e[2], table))
    if k == "is_not":
        return make_expr(e[1], table).is_not(make_expr(e[2], table))
    if k == "desc":
        return make_expr(e[1], table).desc()
    raise ValueError("sqla_ddl.py: no mapping for expression %r" % (k,))


def server_default(e):
    if e[0] == "lit" and isinstance(e[1], str):
        return e[1]
    if e[0] == "text":
        return sa.text(e[1])
    return make_expr(e)


def seq_kw(s):
    kw = {}
    for k in ("start", "increment", "minvalue", "maxvalue", "cycle", "cache", "order"):
        if k in s:
            kw[k] = s[k]
    return kw


def build(spec):
    md = sa.MetaData(naming_convention=spec["naming_convention"]) if "naming_convention" in spec else sa.MetaData()
    for ts in spec["tables"]:
        items = []
        for cs in ts["columns"]:
            args = [cs["name"], make_type(cs["type"])]
            kw = {}
            if "sequence" in cs:
                s = cs["sequence"]
                args.append(sa.Sequence(s["name"], schema=s.get("schema"), optional=s.get("optional", False), **seq_kw(s)))
            if "identity" in cs:
                i = dict(cs["identity"])
                always = i.pop("always", False)
                args.append(sa.Identity(always=always, **i))
            if "computed" in cs:
                c = cs["computed"]
                args.append(sa.Computed(make_expr(c["sql"]), persisted=c.get("persisted")))
            for key in ("primary_key", "nullable", "unique", "index", "comment", "autoincrement"):
                if key in cs:
                    kw[key] = cs[key]
            if "server_default" in cs:
                kw["server_default"] = server_default(cs["server_default"])
            if "default" in cs:
                d = cs["default"]
                kw["default"] = d[1] if d[0] == "lit" else make_expr(d)
            if "onupdate" in cs:
                d = cs["onupdate"]
                kw["onupdate"] = d[1] if d[0] == "lit" else make_expr(d)
            items.append(sa.Column(*args, **kw))
        for c in ts.get("constraints", []):
            k = c["k"]
            if k == "primary_key":
                items.append(sa.PrimaryKeyConstraint(*c["columns"], name=c.get("name")))
            elif k == "unique":
                items.append(sa.UniqueConstraint(*c["columns"], name=c.get("name"),
                                                 deferrable=c.get("deferrable"), initially=c.get("initially")))
            elif k == "check":
                items.append(sa.CheckConstraint(make_expr(c["sql"]), name=c.get("name")))
            elif k == "foreign_key":
                ref = c["ref_table"]
                if c.get("ref_schema"):
                    ref = c["ref_schema"] + "." + ref
                items.append(sa.ForeignKeyConstraint(
                    c["columns"], [ref + "." + rc for rc in c["ref_columns"]], name=c.get("name"),
                    ondelete=c.get("ondelete"), onupdate=c.get("onupdate"), deferrable=c.get("deferrable"),
                    initially=c.get("initially"), use_alter=c.get("use_alter", False), match=c.get("match")))
        t = sa.Table(ts["name"], md, *items, schema=ts.get("schema"), comment=ts.get("comment"))
        for ix in ts.get("indexes", []):
            cols = [t.c[x] if isinstance(x, str) else make_expr(x, t) for x in ix["columns"]]
            kw = {}
            if "where" in ix:
                kw["postgresql_where"] = make_expr(ix["where"], t)
                kw["sqlite_where"] = make_expr(ix["where"], t)
            sa.Index(ix.get("name"), *cols, unique=ix.get("unique", False), **kw)
    return md


def engine_for(d, out):
    eng = create_mock_engine(d + "://", lambda sql, *a, **k: out.append(str(sql.compile(dialect=eng.dialect)).strip()))
    # athanor renders for current servers: SMALLSERIAL exists on PostgreSQL >= 9.2, as the dialect
    # learns when it connects
    if d == "postgresql":
        eng.dialect.supports_smallserial = True
    return eng


def render(spec):
    res = {"create": {}, "drop": {}}
    for d in DIALECTS:
        for what in ("create", "drop"):
            out = []
            try:
                md = build(spec)
                eng = engine_for(d, out)
                with warnings.catch_warnings():
                    warnings.simplefilter("ignore")
                    getattr(md, what + "_all")(eng, checkfirst=False)
                res[what][d] = out
            except Exception as e:  # an error is part of the rendering
                res[what][d] = {"error": type(e).__name__, "message": str(e).split("\n")[0]}
    return res


RUN_PREFIXES = ("CREATE INDEX", "CREATE UNIQUE INDEX", "ALTER TABLE")


def normalise(stmts):
    if not isinstance(stmts, list):
        return stmts
    out, run = [], []
    for s in stmts:
        if s.startswith(RUN_PREFIXES):
            run.append(s)
            continue
        out.extend(sorted(run))
        run = []
        out.append(s)
    return out + sorted(run)


def cases(path):
    for f in sorted(glob.glob(path + "/*.json")):
        with open(f) as fh:
            doc = json.load(fh)
        yield f, doc


def check(path):
    bad = agree = explained = 0
    for f, doc in cases(path):
        for case in doc["cases"]:
            if "invalid" in case or "spec" not in case:
                continue
            got = render(case["spec"])
            for what in ("create", "drop"):
                for d in DIALECTS:
                    exp = case.get(what, {}).get(d)
                    if exp is None:
                        continue
                    g = got[what][d]
                    if isinstance(exp, dict) and isinstance(g, dict):
                        same = exp.get("error") == g.get("error")
                    else:
                        same = normalise(exp) == normalise(g)
                    why = case.get("why", {}).get(d)
                    if same:
                        agree += 1
                    elif why:
                        explained += 1
                    else:
                        bad += 1
                        print("DIFF %s %s %s %s\n  athanor:    %s\n  SQLAlchemy: %s" % (
                            f.rsplit("/", 1)[-1], case["name"], what, d, json.dumps(exp), json.dumps(g)))
    print("%d renderings agree with SQLAlchemy %s, %d differ with a reason, %d differ without one"
          % (agree, sa.__version__, explained, bad))
    return 1 if bad else 0


def fill(path):
    for f, doc in cases(path):
        changed = False
        for case in doc["cases"]:
            if "spec" in case and "create" not in case and "invalid" not in case:
                case.update(render(case["spec"]))
                changed = True
        if changed:
            with open(f, "w") as fh:
                json.dump(doc, fh, indent=1)
                fh.write("\n")


if __name__ == "__main__":
    if sys.argv[1] == "render":
        with open(sys.argv[2]) as fh:
            print(json.dumps(render(json.load(fh)), indent=1))
    elif sys.argv[1] == "check":
        sys.exit(check(sys.argv[2]))
    elif sys.argv[1] == "fill":
        fill(sys.argv[2])
