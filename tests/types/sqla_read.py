"""sqla_read.py — `sqla_read.py FILE`: read the SQLite file `test_types write FILE` made, with
SQLAlchemy 1.4 Core using the same column types, and compare the Python values: athanor's SQLite
storage (ISO-8601 text for dates and times, epoch-based DATETIME for Interval, 32 hex digits for
Uuid, JSON text, 0/1 for Boolean) must be what SQLAlchemy's SQLite dialect reads back. Uuid is read
as CHAR(32) (1.4 has no generic Uuid) and compared as uuid.UUID(hex). Exit 0 when every row matches.
`sqla_read.py write FILE`: write the same rows with SQLAlchemy, for `test_types read FILE`."""
import datetime
import decimal
import sys
import uuid
import warnings

import sqlalchemy as sa

warnings.filterwarnings("ignore", category=sa.exc.SAWarning)  # Numeric on SQLite goes through float

D = decimal.Decimal
dt = datetime.datetime
td = datetime.timedelta
UTC = datetime.timezone.utc

# table -> (type, {id: expected python value}); the ids are test_types.c's row order for SQLite
EXPECTED = {
    "integer": (sa.Integer, {0: None, 1: 0, 2: -2147483648, 3: 2147483647}),
    "bigint": (sa.BigInteger, {0: -9223372036854775808, 1: 9223372036854775807}),
    "smallint": (sa.SmallInteger, {0: -32768, 1: 32767}),
    "boolean": (sa.Boolean, {0: True, 1: False, 2: True, 3: None}),
    "string": (sa.String(60), {0: "", 1: "plain ascii", 2: "quote ' and \\ backslash"}),
    "unicode": (sa.Unicode(60), {0: "\u00fcn\u00efc\u00f6d\u00e9 \u4e2d\u6587", 1: "astral \U0001F600 \U0001D11E", 2: None}),
    "text": (sa.Text, {0: "".join(chr(ord("a") + i % 26) for i in range(20000))}),
    "float": (sa.Float, {0: 1.5, 1: -2.25, 2: 0.0, 3: 3.0}),
    "double": (sa.Float, {0: 1.0000000000000002, 1: -1e300, 2: 2.2250738585072014e-308}),
    "numeric": (sa.Numeric(38, 10), {0: D("1.5000000000"), 1: D("0.0000000001"),
                                     2: D("-1234567890123456850245451776.0000000000"),
                                     3: D("42.0000000000"), 4: None}),
    "date": (sa.Date, {0: datetime.date(1, 1, 1), 1: datetime.date(1969, 12, 31),
                       2: datetime.date(2024, 2, 29), 3: datetime.date(9999, 12, 31)}),
    "datetime": (sa.DateTime, {0: dt(1901, 12, 13, 20, 45, 52), 1: dt(1969, 12, 31, 23, 59, 59, 999999),
                               2: dt(2038, 1, 19, 3, 14, 8, 1), 3: dt(9999, 12, 31, 23, 59, 59, 999999),
                               4: dt(2024, 1, 2, 3, 4, 5, 500000), 5: None}),
    # SQLite has no time zones: athanor stores the UTC instant, SQLAlchemy reads it back naive
    "datetime_tz": (sa.DateTime(timezone=True), {0: dt(1969, 12, 31, 23, 59, 59), 1: dt(2038, 1, 19, 3, 14, 8),
                                                 2: dt(2100, 6, 30, 12, 0, 0, 123456), 3: dt(1950, 1, 1, 0, 0, 0, 1)}),
    "time": (sa.Time, {0: datetime.time(0, 0), 1: datetime.time(23, 59, 59, 999999), 2: datetime.time(12, 30, 0, 500000)}),
    "interval": (sa.Interval, {0: td(0), 1: td(seconds=1), 2: td(seconds=-1),
                               3: td(microseconds=3155760000000001), 4: td(days=-1)}),
    "binary": (sa.LargeBinary, {0: b"", 1: b"\x00\xff\x00\x01", 2: bytes((i * 7 + 3) & 0xFF for i in range(60000)), 3: None}),
    "enum": (sa.Enum("sad", "ok", "happy", name="ath_ty_mood"), {0: "ok", 1: "happy", 2: None}),
    "json": (sa.JSON, {0: {"a": 1, "b": [True, None, 1.5, "x"], "c": {"d": "\U0001F600", "e": {"f": [[1], []]}}},
                       1: [1, "two", {"three": 3}], 2: {}, 3: 'just a string with "quotes"', 4: -12, 5: None}),
    "uuid": (sa.CHAR(32), {0: uuid.UUID("12345678123456781234567812345678"), 1: uuid.UUID(int=0),
                           2: uuid.UUID("ffffffffffffffffffffffffffffffff"), 3: None}),
}


def tables(md):
    return {name: sa.Table("ath_ty_" + name, md, sa.Column("id", sa.Integer, primary_key=True, autoincrement=False),
                           sa.Column("v", typ)) for name, (typ, rows) in EXPECTED.items()}


def write(path):
    engine = sa.create_engine("sqlite:///" + path)
    md = sa.MetaData()
    ts = tables(md)
    md.drop_all(engine)
    md.create_all(engine)
    with engine.begin() as conn:
        for name, (typ, rows) in EXPECTED.items():
            for k, v in rows.items():
                if name == "uuid" and v is not None:
                    v = v.hex
                conn.execute(ts[name].insert(), {"id": k, "v": v})
    return 0


def main(path):
    engine = sa.create_engine("sqlite:///" + path)
    md = sa.MetaData()
    bad = 0
    with engine.connect() as conn:
        for name, (typ, rows) in EXPECTED.items():
            t = sa.Table("ath_ty_" + name, md, sa.Column("id", sa.Integer, primary_key=True), sa.Column("v", typ))
            got = {r.id: r.v for r in conn.execute(sa.select(t.c.id, t.c.v).order_by(t.c.id))}
            if name == "uuid":
                got = {k: (uuid.UUID(v) if v is not None else None) for k, v in got.items()}
            for k, want in rows.items():
                if got.get(k, "(missing)") != want or type(got.get(k)) is not type(want):
                    bad += 1
                    print("FAIL %s id %d: want %r, got %r" % (name, k, want, got.get(k, "(missing)")))
            if set(got) != set(rows):
                bad += 1
                print("FAIL %s: ids %r, want %r" % (name, sorted(got), sorted(rows)))
    print("%d tables, %d mismatches" % (len(EXPECTED), bad))
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(write(sys.argv[2]) if sys.argv[1] == "write" else main(sys.argv[1]))
