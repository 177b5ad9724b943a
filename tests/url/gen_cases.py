#!/usr/bin/python3
"""Print the rows of `cases` in test_url.c from SQLAlchemy 1.4's make_url().

Run with a Python that has SQLAlchemy 1.4 (Debian 12: /usr/bin/python3) and paste the output
over the table:  /usr/bin/python3 tests/url/gen_cases.py
The C test does not need Python. Query pairs come from urllib.parse.parse_qsl over the regular
expression's query group (what make_url feeds its dict); dialect/driver split at the first '+'.
"""
import inspect
import json
import re
import urllib.parse

import sqlalchemy.engine.url as su
from sqlalchemy.engine.url import make_url


def c(s):
    """A C string literal for s (UTF-8; octal escapes, so no escape runs into the next char)."""
    if s is None:
        return "NULL"
    out, prev = '"', ""
    for b in s.encode("utf-8"):
        ch = chr(b)
        if ch in '"\\':
            out += "\\" + ch
        elif ch == "?" and prev == "?":
            out += "\\?"  # no trigraphs
        elif 32 <= b < 127:
            out += ch
        else:
            out += "\\%03o" % b
        prev = ch
    return out + '"'


cases = [
 ("sqlite_relative", "sqlite:///relative.db"),
 ("sqlite_absolute", "sqlite:////abs/path.db"),
 ("sqlite_no_database", "sqlite://"),
 ("sqlite_memory", "sqlite:///:memory:"),
 ("sqlite_empty_database", "sqlite:///"),
 ("sqlite_uri_options", "sqlite:///file:x.db?mode=ro&uri=true"),
 ("sqlite_windows_path", "sqlite:///C:\\path\\db.sqlite"),
 ("sqlite_percent_in_path_kept", "sqlite:///my%20file.db"),
 ("postgresql_full", "postgresql+libpq://scott:tiger@localhost:5432/test?sslmode=disable&connect_timeout=10"),
 ("mysql_ipv6_escaped_password", "mysql://u:p%40ss@[::1]:3306/db?charset=utf8mb4"),
 ("postgresql_unix_socket", "postgresql://user@/dbname?host=/var/run/postgresql"),
 ("unix_socket_repeated_host", "postgresql:///?host=/tmp&host=/run"),
 ("empty_password", "postgresql://u:@host/db"),
 ("empty_username", "postgresql://@host"),
 ("password_without_username", "postgresql://:pw@host"),
 ("empty_username_and_password", "postgresql://:@"),
 ("username_only", "postgresql://user@"),
 ("host_and_port_only", "postgresql://h:5432"),
 ("port_only", "postgresql://:5432/db"),
 ("port_zero", "postgresql://h:0/d"),
 ("port_leading_zeros", "postgresql://h:00080/d"),
 ("port_max", "postgresql://h:65535/d"),
 ("percent_user_password_not_host_db", "postgresql://u%20x:p%2Fw%3A@h%20x/d%20b"),
 ("plus_not_space_in_userinfo", "postgresql://a+b:c+d@h"),
 ("escaped_colon_in_username", "postgresql://u%3Ax:p@h"),
 ("escaped_username_letter", "postgresql://%41@h"),
 ("password_with_colon", "postgresql://u:p:q@h"),
 ("password_ends_at_first_at", "postgresql://u:p@ss@host/db"),
 ("username_ends_at_last_at", "postgresql://a@b@c:1/d"),
 ("at_in_database", "postgresql://a/b:c@d"),
 ("password_runs_to_first_at", "postgresql://host:5432/db?x=a@b"),
 ("ipv6_zone_not_decoded", "postgresql://u:p@[fe80::1%25eth0]:5/db"),
 ("ipv6_last_bracket", "postgresql://[::1]:80]/x"),
 ("ipv6_empty_brackets_are_a_host", "postgresql://[]/x"),
 ("ipv6_no_port", "postgresql://[2001:db8::1]/db"),
 ("drivername_word_chars", "PG_1+Drv_2://h"),
 ("drivername_two_plus", "a+b+c://"),
 ("drivername_empty_dialect", "+b://"),
 ("drivername_empty_driver", "a+://"),
 ("dsn_host", "mssql+pyodbc://u:p@dsn"),
 ("query_plus_escapes_blank", "postgresql://h/d?a+b=c+d&a%2B=%zz&e=&f&=g&a+b=2"),
 ("query_repeated_keys", "postgresql://h/d?a=1&a=2&b=3&a=4"),
 ("query_equals_in_value", "postgresql://h/d?a==b&c=%3D%26"),
 ("query_utf8_and_replacement", "postgresql://h/d?x=%C3%A9&y=%C3&z=%C3\u00e9&w=%ff%fe"),
 ("query_maximal_subparts", "postgresql://h/d?x=%E0%80&y=%F0%90%80&z=%ED%A0%80&v=%F4%90%80%80"),
 ("query_malformed_escapes", "postgresql://h/d?k=%E2%82%AC&%41=%4&p=100%&q=%%41"),
 ("query_no_equals_dropped", "postgresql://h?x"),
 ("query_empty_fields", "postgresql://x?&&"),
 ("query_empty", "postgresql://x?"),
 ("query_fragment_kept", "postgresql://u:p@h:5/d?x=1#frag"),
 ("semicolon_not_separator", "postgresql://h/db;x?q=1;r=2"),
 ("raw_utf8", "postgresql://\u00fcser:p\u00e4ss%C3%A9@h\u00f6st/d\u00e4?\u043a\u043b\u044e\u0447=\u0437\u043d%D0%B0\u0447"),
 ("space_in_host", "postgresql://my host/db"),
]
# sqlalchemy.engine.url._parse_url's expression, to find the query group it parses
PATTERN = re.compile(r"""
            (?P<name>[\w\+]+)://
            (?:
                (?P<username>[^:/]*)
                (?::(?P<password>[^@]*))?
            @)?
            (?:
                (?:
                    \[(?P<ipv6host>[^/\?]+)\] |
                    (?P<ipv4host>[^/:\?]+)
                )?
                (?::(?P<port>[^/\?]*))?
            )?
            (?:/(?P<database>[^\?]*))?
            (?:\?(?P<query>.*))?
            """, re.X)
# the copy above must be SQLAlchemy's own expression
assert PATTERN.pattern.split() == re.search(
    r're.compile\(\s*r"""(.*?)"""', inspect.getsource(su._parse_url), re.S).group(1).split()

for name, text in cases:
    u = make_url(text)
    m = PATTERN.match(text)
    q = urllib.parse.parse_qsl(m.group("query")) if m.group("query") is not None else []
    dn = u.drivername
    dialect, plus, driver = dn.partition("+")
    packed = {
        "drivername": dn, "dialect": dialect, "driver": driver if plus else None,
        "username": u.username, "password": u.password, "host": u.host, "port": u.port,
        "database": u.database,
        "query": {k: list(v) if isinstance(v, tuple) else v for k, v in u.query.items()},
    }
    flat = "".join("%s, %s, " % (c(k), c(v)) for k, v in q)
    print("\t{ \"%s\", %s,\n\t  %s, %s, %s, %s, %s, %s, %d, %s,\n\t  { %sNULL },\n\t  %s,\n\t  %s }," % (
        name, c(text), c(dn), c(dialect), c(driver if plus else None), c(u.username),
        c(u.password), c(u.host), -1 if u.port is None else u.port, c(u.database), flat,
        c(u.render_as_string()),
        c(json.dumps(packed, ensure_ascii=False, separators=(",", ":")))))
