/* test_url.c — ath_url__parse() and friends against SQLAlchemy 1.4's make_url(): every row's
 * expectations (fields, render_as_string() with the password hidden, the packed map as JSON)
 * were produced by running make_url() on the same text; the test itself needs no Python.
 * Also: malformed URLs, passwords kept out of messages, and out-of-memory at every allocation.
 * Does not test choosing a dialect from a URL (tests/engine does). */
#include <msgpack.h>

#include "conn/url.h"
#include "test.h"
#include "util/alloc.h"
#include "wire/mpbuf.h"

struct url_case {
	const char *name, *text;
	const char *drivername, *dialect, *driver, *username, *password, *host;
	int port;
	const char *database;
	const char *query[12]; /* key, value, key, value, ..., NULL: in order of appearance */
	const char *safe;      /* ath_url__render_safe() == render_as_string(hide_password=True) */
	const char *packed;    /* ath_url__pack() written as JSON */
};

/* Generated with /usr/bin/python3 from sqlalchemy.engine.url.make_url (SQLAlchemy 1.4.46);
 * query pairs from urllib.parse.parse_qsl, which make_url uses; dialect/driver split at the
 * first '+'. */
static const struct url_case cases[] = {
	{ "sqlite_relative", "sqlite:///relative.db",
	  "sqlite", "sqlite", NULL, NULL, NULL, NULL, -1, "relative.db",
	  { NULL },
	  "sqlite:///relative.db",
	  "{\"drivername\":\"sqlite\",\"dialect\":\"sqlite\",\"driver\":null,\"username\":null,\"password\":null,\"host\":null,\"port\":null,\"database\":\"relative.db\",\"query\":{}}" },
	{ "sqlite_absolute", "sqlite:////abs/path.db",
	  "sqlite", "sqlite", NULL, NULL, NULL, NULL, -1, "/abs/path.db",
	  { NULL },
	  "sqlite:////abs/path.db",
	  "{\"drivername\":\"sqlite\",\"dialect\":\"sqlite\",\"driver\":null,\"username\":null,\"password\":null,\"host\":null,\"port\":null,\"database\":\"/abs/path.db\",\"query\":{}}" },
	{ "sqlite_no_database", "sqlite://",
	  "sqlite", "sqlite", NULL, NULL, NULL, NULL, -1, NULL,
	  { NULL },
	  "sqlite://",
	  "{\"drivername\":\"sqlite\",\"dialect\":\"sqlite\",\"driver\":null,\"username\":null,\"password\":null,\"host\":null,\"port\":null,\"database\":null,\"query\":{}}" },
	{ "sqlite_memory", "sqlite:///:memory:",
	  "sqlite", "sqlite", NULL, NULL, NULL, NULL, -1, ":memory:",
	  { NULL },
	  "sqlite:///:memory:",
	  "{\"drivername\":\"sqlite\",\"dialect\":\"sqlite\",\"driver\":null,\"username\":null,\"password\":null,\"host\":null,\"port\":null,\"database\":\":memory:\",\"query\":{}}" },
	{ "sqlite_empty_database", "sqlite:///",
	  "sqlite", "sqlite", NULL, NULL, NULL, NULL, -1, "",
	  { NULL },
	  "sqlite:///",
	  "{\"drivername\":\"sqlite\",\"dialect\":\"sqlite\",\"driver\":null,\"username\":null,\"password\":null,\"host\":null,\"port\":null,\"database\":\"\",\"query\":{}}" },
	{ "sqlite_uri_options", "sqlite:///file:x.db?mode=ro&uri=true",
	  "sqlite", "sqlite", NULL, NULL, NULL, NULL, -1, "file:x.db",
	  { "mode", "ro", "uri", "true", NULL },
	  "sqlite:///file:x.db?mode=ro&uri=true",
	  "{\"drivername\":\"sqlite\",\"dialect\":\"sqlite\",\"driver\":null,\"username\":null,\"password\":null,\"host\":null,\"port\":null,\"database\":\"file:x.db\",\"query\":{\"mode\":\"ro\",\"uri\":\"true\"}}" },
	{ "sqlite_windows_path", "sqlite:///C:\\path\\db.sqlite",
	  "sqlite", "sqlite", NULL, NULL, NULL, NULL, -1, "C:\\path\\db.sqlite",
	  { NULL },
	  "sqlite:///C:\\path\\db.sqlite",
	  "{\"drivername\":\"sqlite\",\"dialect\":\"sqlite\",\"driver\":null,\"username\":null,\"password\":null,\"host\":null,\"port\":null,\"database\":\"C:\\\\path\\\\db.sqlite\",\"query\":{}}" },
	{ "sqlite_percent_in_path_kept", "sqlite:///my%20file.db",
	  "sqlite", "sqlite", NULL, NULL, NULL, NULL, -1, "my%20file.db",
	  { NULL },
	  "sqlite:///my%20file.db",
	  "{\"drivername\":\"sqlite\",\"dialect\":\"sqlite\",\"driver\":null,\"username\":null,\"password\":null,\"host\":null,\"port\":null,\"database\":\"my%20file.db\",\"query\":{}}" },
	{ "postgresql_full", "postgresql+libpq://scott:tiger@localhost:5432/test?sslmode=disable&connect_timeout=10",
	  "postgresql+libpq", "postgresql", "libpq", "scott", "tiger", "localhost", 5432, "test",
	  { "sslmode", "disable", "connect_timeout", "10", NULL },
	  "postgresql+libpq://scott:***@localhost:5432/test?connect_timeout=10&sslmode=disable",
	  "{\"drivername\":\"postgresql+libpq\",\"dialect\":\"postgresql\",\"driver\":\"libpq\",\"username\":\"scott\",\"password\":\"tiger\",\"host\":\"localhost\",\"port\":5432,\"database\":\"test\",\"query\":{\"sslmode\":\"disable\",\"connect_timeout\":\"10\"}}" },
	{ "mysql_ipv6_escaped_password", "mysql://u:p%40ss@[::1]:3306/db?charset=utf8mb4",
	  "mysql", "mysql", NULL, "u", "p@ss", "::1", 3306, "db",
	  { "charset", "utf8mb4", NULL },
	  "mysql://u:***@[::1]:3306/db?charset=utf8mb4",
	  "{\"drivername\":\"mysql\",\"dialect\":\"mysql\",\"driver\":null,\"username\":\"u\",\"password\":\"p@ss\",\"host\":\"::1\",\"port\":3306,\"database\":\"db\",\"query\":{\"charset\":\"utf8mb4\"}}" },
	{ "postgresql_unix_socket", "postgresql://user@/dbname?host=/var/run/postgresql",
	  "postgresql", "postgresql", NULL, "user", NULL, NULL, -1, "dbname",
	  { "host", "/var/run/postgresql", NULL },
	  "postgresql://user@/dbname?host=%2Fvar%2Frun%2Fpostgresql",
	  "{\"drivername\":\"postgresql\",\"dialect\":\"postgresql\",\"driver\":null,\"username\":\"user\",\"password\":null,\"host\":null,\"port\":null,\"database\":\"dbname\",\"query\":{\"host\":\"/var/run/postgresql\"}}" },
	{ "unix_socket_repeated_host", "postgresql:///?host=/tmp&host=/run",
	  "postgresql", "postgresql", NULL, NULL, NULL, NULL, -1, "",
	  { "host", "/tmp", "host", "/run", NULL },
	  "postgresql:///?host=%2Ftmp&host=%2Frun",
	  "{\"drivername\":\"postgresql\",\"dialect\":\"postgresql\",\"driver\":null,\"username\":null,\"password\":null,\"host\":null,\"port\":null,\"database\":\"\",\"query\":{\"host\":[\"/tmp\",\"/run\"]}}" },
	{ "empty_password", "postgresql://u:@host/db",
	  "postgresql", "postgresql", NULL, "u", "", "host", -1, "db",
	  { NULL },
	  "postgresql://u:***@host/db",
	  "{\"drivername\":\"postgresql\",\"dialect\":\"postgresql\",\"driver\":null,\"username\":\"u\",\"password\":\"\",\"host\":\"host\",\"port\":null,\"database\":\"db\",\"query\":{}}" },
	{ "empty_username", "postgresql://@host",
	  "postgresql", "postgresql", NULL, "", NULL, "host", -1, NULL,
	  { NULL },
	  "postgresql://@host",
	  "{\"drivername\":\"postgresql\",\"dialect\":\"postgresql\",\"driver\":null,\"username\":\"\",\"password\":null,\"host\":\"host\",\"port\":null,\"database\":null,\"query\":{}}" },
	{ "password_without_username", "postgresql://:pw@host",
	  "postgresql", "postgresql", NULL, "", "pw", "host", -1, NULL,
	  { NULL },
	  "postgresql://:***@host",
	  "{\"drivername\":\"postgresql\",\"dialect\":\"postgresql\",\"driver\":null,\"username\":\"\",\"password\":\"pw\",\"host\":\"host\",\"port\":null,\"database\":null,\"query\":{}}" },
	{ "empty_username_and_password", "postgresql://:@",
	  "postgresql", "postgresql", NULL, "", "", NULL, -1, NULL,
	  { NULL },
	  "postgresql://:***@",
	  "{\"drivername\":\"postgresql\",\"dialect\":\"postgresql\",\"driver\":null,\"username\":\"\",\"password\":\"\",\"host\":null,\"port\":null,\"database\":null,\"query\":{}}" },
	{ "username_only", "postgresql://user@",
	  "postgresql", "postgresql", NULL, "user", NULL, NULL, -1, NULL,
	  { NULL },
	  "postgresql://user@",
	  "{\"drivername\":\"postgresql\",\"dialect\":\"postgresql\",\"driver\":null,\"username\":\"user\",\"password\":null,\"host\":null,\"port\":null,\"database\":null,\"query\":{}}" },
	{ "host_and_port_only", "postgresql://h:5432",
	  "postgresql", "postgresql", NULL, NULL, NULL, "h", 5432, NULL,
	  { NULL },
	  "postgresql://h:5432",
	  "{\"drivername\":\"postgresql\",\"dialect\":\"postgresql\",\"driver\":null,\"username\":null,\"password\":null,\"host\":\"h\",\"port\":5432,\"database\":null,\"query\":{}}" },
	{ "port_only", "postgresql://:5432/db",
	  "postgresql", "postgresql", NULL, NULL, NULL, NULL, 5432, "db",
	  { NULL },
	  "postgresql://:5432/db",
	  "{\"drivername\":\"postgresql\",\"dialect\":\"postgresql\",\"driver\":null,\"username\":null,\"password\":null,\"host\":null,\"port\":5432,\"database\":\"db\",\"query\":{}}" },
	{ "port_zero", "postgresql://h:0/d",
	  "postgresql", "postgresql", NULL, NULL, NULL, "h", 0, "d",
	  { NULL },
	  "postgresql://h:0/d",
	  "{\"drivername\":\"postgresql\",\"dialect\":\"postgresql\",\"driver\":null,\"username\":null,\"password\":null,\"host\":\"h\",\"port\":0,\"database\":\"d\",\"query\":{}}" },
	{ "port_leading_zeros", "postgresql://h:00080/d",
	  "postgresql", "postgresql", NULL, NULL, NULL, "h", 80, "d",
	  { NULL },
	  "postgresql://h:80/d",
	  "{\"drivername\":\"postgresql\",\"dialect\":\"postgresql\",\"driver\":null,\"username\":null,\"password\":null,\"host\":\"h\",\"port\":80,\"database\":\"d\",\"query\":{}}" },
	{ "port_max", "postgresql://h:65535/d",
	  "postgresql", "postgresql", NULL, NULL, NULL, "h", 65535, "d",
	  { NULL },
	  "postgresql://h:65535/d",
	  "{\"drivername\":\"postgresql\",\"dialect\":\"postgresql\",\"driver\":null,\"username\":null,\"password\":null,\"host\":\"h\",\"port\":65535,\"database\":\"d\",\"query\":{}}" },
	{ "percent_user_password_not_host_db", "postgresql://u%20x:p%2Fw%3A@h%20x/d%20b",
	  "postgresql", "postgresql", NULL, "u x", "p/w:", "h%20x", -1, "d%20b",
	  { NULL },
	  "postgresql://u x:***@h%20x/d%20b",
	  "{\"drivername\":\"postgresql\",\"dialect\":\"postgresql\",\"driver\":null,\"username\":\"u x\",\"password\":\"p/w:\",\"host\":\"h%20x\",\"port\":null,\"database\":\"d%20b\",\"query\":{}}" },
	{ "plus_not_space_in_userinfo", "postgresql://a+b:c+d@h",
	  "postgresql", "postgresql", NULL, "a+b", "c+d", "h", -1, NULL,
	  { NULL },
	  "postgresql://a+b:***@h",
	  "{\"drivername\":\"postgresql\",\"dialect\":\"postgresql\",\"driver\":null,\"username\":\"a+b\",\"password\":\"c+d\",\"host\":\"h\",\"port\":null,\"database\":null,\"query\":{}}" },
	{ "escaped_colon_in_username", "postgresql://u%3Ax:p@h",
	  "postgresql", "postgresql", NULL, "u:x", "p", "h", -1, NULL,
	  { NULL },
	  "postgresql://u%3Ax:***@h",
	  "{\"drivername\":\"postgresql\",\"dialect\":\"postgresql\",\"driver\":null,\"username\":\"u:x\",\"password\":\"p\",\"host\":\"h\",\"port\":null,\"database\":null,\"query\":{}}" },
	{ "escaped_username_letter", "postgresql://%41@h",
	  "postgresql", "postgresql", NULL, "A", NULL, "h", -1, NULL,
	  { NULL },
	  "postgresql://A@h",
	  "{\"drivername\":\"postgresql\",\"dialect\":\"postgresql\",\"driver\":null,\"username\":\"A\",\"password\":null,\"host\":\"h\",\"port\":null,\"database\":null,\"query\":{}}" },
	{ "password_with_colon", "postgresql://u:p:q@h",
	  "postgresql", "postgresql", NULL, "u", "p:q", "h", -1, NULL,
	  { NULL },
	  "postgresql://u:***@h",
	  "{\"drivername\":\"postgresql\",\"dialect\":\"postgresql\",\"driver\":null,\"username\":\"u\",\"password\":\"p:q\",\"host\":\"h\",\"port\":null,\"database\":null,\"query\":{}}" },
	{ "password_ends_at_first_at", "postgresql://u:p@ss@host/db",
	  "postgresql", "postgresql", NULL, "u", "p", "ss@host", -1, "db",
	  { NULL },
	  "postgresql://u:***@ss@host/db",
	  "{\"drivername\":\"postgresql\",\"dialect\":\"postgresql\",\"driver\":null,\"username\":\"u\",\"password\":\"p\",\"host\":\"ss@host\",\"port\":null,\"database\":\"db\",\"query\":{}}" },
	{ "username_ends_at_last_at", "postgresql://a@b@c:1/d",
	  "postgresql", "postgresql", NULL, "a@b", NULL, "c", 1, "d",
	  { NULL },
	  "postgresql://a%40b@c:1/d",
	  "{\"drivername\":\"postgresql\",\"dialect\":\"postgresql\",\"driver\":null,\"username\":\"a@b\",\"password\":null,\"host\":\"c\",\"port\":1,\"database\":\"d\",\"query\":{}}" },
	{ "at_in_database", "postgresql://a/b:c@d",
	  "postgresql", "postgresql", NULL, NULL, NULL, "a", -1, "b:c@d",
	  { NULL },
	  "postgresql://a/b:c@d",
	  "{\"drivername\":\"postgresql\",\"dialect\":\"postgresql\",\"driver\":null,\"username\":null,\"password\":null,\"host\":\"a\",\"port\":null,\"database\":\"b:c@d\",\"query\":{}}" },
	{ "password_runs_to_first_at", "postgresql://host:5432/db?x=a@b",
	  "postgresql", "postgresql", NULL, "host", "5432/db?x=a", "b", -1, NULL,
	  { NULL },
	  "postgresql://host:***@b",
	  "{\"drivername\":\"postgresql\",\"dialect\":\"postgresql\",\"driver\":null,\"username\":\"host\",\"password\":\"5432/db?x=a\",\"host\":\"b\",\"port\":null,\"database\":null,\"query\":{}}" },
	{ "ipv6_zone_not_decoded", "postgresql://u:p@[fe80::1%25eth0]:5/db",
	  "postgresql", "postgresql", NULL, "u", "p", "fe80::1%25eth0", 5, "db",
	  { NULL },
	  "postgresql://u:***@[fe80::1%25eth0]:5/db",
	  "{\"drivername\":\"postgresql\",\"dialect\":\"postgresql\",\"driver\":null,\"username\":\"u\",\"password\":\"p\",\"host\":\"fe80::1%25eth0\",\"port\":5,\"database\":\"db\",\"query\":{}}" },
	{ "ipv6_last_bracket", "postgresql://[::1]:80]/x",
	  "postgresql", "postgresql", NULL, NULL, NULL, "::1]:80", -1, "x",
	  { NULL },
	  "postgresql://[::1]:80]/x",
	  "{\"drivername\":\"postgresql\",\"dialect\":\"postgresql\",\"driver\":null,\"username\":null,\"password\":null,\"host\":\"::1]:80\",\"port\":null,\"database\":\"x\",\"query\":{}}" },
	{ "ipv6_empty_brackets_are_a_host", "postgresql://[]/x",
	  "postgresql", "postgresql", NULL, NULL, NULL, "[]", -1, "x",
	  { NULL },
	  "postgresql://[]/x",
	  "{\"drivername\":\"postgresql\",\"dialect\":\"postgresql\",\"driver\":null,\"username\":null,\"password\":null,\"host\":\"[]\",\"port\":null,\"database\":\"x\",\"query\":{}}" },
	{ "ipv6_no_port", "postgresql://[2001:db8::1]/db",
	  "postgresql", "postgresql", NULL, NULL, NULL, "2001:db8::1", -1, "db",
	  { NULL },
	  "postgresql://[2001:db8::1]/db",
	  "{\"drivername\":\"postgresql\",\"dialect\":\"postgresql\",\"driver\":null,\"username\":null,\"password\":null,\"host\":\"2001:db8::1\",\"port\":null,\"database\":\"db\",\"query\":{}}" },
	{ "drivername_word_chars", "PG_1+Drv_2://h",
	  "PG_1+Drv_2", "PG_1", "Drv_2", NULL, NULL, "h", -1, NULL,
	  { NULL },
	  "PG_1+Drv_2://h",
	  "{\"drivername\":\"PG_1+Drv_2\",\"dialect\":\"PG_1\",\"driver\":\"Drv_2\",\"username\":null,\"password\":null,\"host\":\"h\",\"port\":null,\"database\":null,\"query\":{}}" },
	{ "drivername_two_plus", "a+b+c://",
	  "a+b+c", "a", "b+c", NULL, NULL, NULL, -1, NULL,
	  { NULL },
	  "a+b+c://",
	  "{\"drivername\":\"a+b+c\",\"dialect\":\"a\",\"driver\":\"b+c\",\"username\":null,\"password\":null,\"host\":null,\"port\":null,\"database\":null,\"query\":{}}" },
	{ "drivername_empty_dialect", "+b://",
	  "+b", "", "b", NULL, NULL, NULL, -1, NULL,
	  { NULL },
	  "+b://",
	  "{\"drivername\":\"+b\",\"dialect\":\"\",\"driver\":\"b\",\"username\":null,\"password\":null,\"host\":null,\"port\":null,\"database\":null,\"query\":{}}" },
	{ "drivername_empty_driver", "a+://",
	  "a+", "a", "", NULL, NULL, NULL, -1, NULL,
	  { NULL },
	  "a+://",
	  "{\"drivername\":\"a+\",\"dialect\":\"a\",\"driver\":\"\",\"username\":null,\"password\":null,\"host\":null,\"port\":null,\"database\":null,\"query\":{}}" },
	{ "dsn_host", "mssql+pyodbc://u:p@dsn",
	  "mssql+pyodbc", "mssql", "pyodbc", "u", "p", "dsn", -1, NULL,
	  { NULL },
	  "mssql+pyodbc://u:***@dsn",
	  "{\"drivername\":\"mssql+pyodbc\",\"dialect\":\"mssql\",\"driver\":\"pyodbc\",\"username\":\"u\",\"password\":\"p\",\"host\":\"dsn\",\"port\":null,\"database\":null,\"query\":{}}" },
	{ "query_plus_escapes_blank", "postgresql://h/d?a+b=c+d&a%2B=%zz&e=&f&=g&a+b=2",
	  "postgresql", "postgresql", NULL, NULL, NULL, "h", -1, "d",
	  { "a b", "c d", "a+", "%zz", "", "g", "a b", "2", NULL },
	  "postgresql://h/d?=g&a+b=c+d&a+b=2&a%2B=%25zz",
	  "{\"drivername\":\"postgresql\",\"dialect\":\"postgresql\",\"driver\":null,\"username\":null,\"password\":null,\"host\":\"h\",\"port\":null,\"database\":\"d\",\"query\":{\"a b\":[\"c d\",\"2\"],\"a+\":\"%zz\",\"\":\"g\"}}" },
	{ "query_repeated_keys", "postgresql://h/d?a=1&a=2&b=3&a=4",
	  "postgresql", "postgresql", NULL, NULL, NULL, "h", -1, "d",
	  { "a", "1", "a", "2", "b", "3", "a", "4", NULL },
	  "postgresql://h/d?a=1&a=2&a=4&b=3",
	  "{\"drivername\":\"postgresql\",\"dialect\":\"postgresql\",\"driver\":null,\"username\":null,\"password\":null,\"host\":\"h\",\"port\":null,\"database\":\"d\",\"query\":{\"a\":[\"1\",\"2\",\"4\"],\"b\":\"3\"}}" },
	{ "query_equals_in_value", "postgresql://h/d?a==b&c=%3D%26",
	  "postgresql", "postgresql", NULL, NULL, NULL, "h", -1, "d",
	  { "a", "=b", "c", "=&", NULL },
	  "postgresql://h/d?a=%3Db&c=%3D%26",
	  "{\"drivername\":\"postgresql\",\"dialect\":\"postgresql\",\"driver\":null,\"username\":null,\"password\":null,\"host\":\"h\",\"port\":null,\"database\":\"d\",\"query\":{\"a\":\"=b\",\"c\":\"=&\"}}" },
	{ "query_utf8_and_replacement", "postgresql://h/d?x=%C3%A9&y=%C3&z=%C3\303\251&w=%ff%fe",
	  "postgresql", "postgresql", NULL, NULL, NULL, "h", -1, "d",
	  { "x", "\303\251", "y", "\357\277\275", "z", "\357\277\275\303\251", "w", "\357\277\275\357\277\275", NULL },
	  "postgresql://h/d?w=%EF%BF%BD%EF%BF%BD&x=%C3%A9&y=%EF%BF%BD&z=%EF%BF%BD%C3%A9",
	  "{\"drivername\":\"postgresql\",\"dialect\":\"postgresql\",\"driver\":null,\"username\":null,\"password\":null,\"host\":\"h\",\"port\":null,\"database\":\"d\",\"query\":{\"x\":\"\303\251\",\"y\":\"\357\277\275\",\"z\":\"\357\277\275\303\251\",\"w\":\"\357\277\275\357\277\275\"}}" },
	{ "query_maximal_subparts", "postgresql://h/d?x=%E0%80&y=%F0%90%80&z=%ED%A0%80&v=%F4%90%80%80",
	  "postgresql", "postgresql", NULL, NULL, NULL, "h", -1, "d",
	  { "x", "\357\277\275\357\277\275", "y", "\357\277\275", "z", "\357\277\275\357\277\275\357\277\275", "v", "\357\277\275\357\277\275\357\277\275\357\277\275", NULL },
	  "postgresql://h/d?v=%EF%BF%BD%EF%BF%BD%EF%BF%BD%EF%BF%BD&x=%EF%BF%BD%EF%BF%BD&y=%EF%BF%BD&z=%EF%BF%BD%EF%BF%BD%EF%BF%BD",
	  "{\"drivername\":\"postgresql\",\"dialect\":\"postgresql\",\"driver\":null,\"username\":null,\"password\":null,\"host\":\"h\",\"port\":null,\"database\":\"d\",\"query\":{\"x\":\"\357\277\275\357\277\275\",\"y\":\"\357\277\275\",\"z\":\"\357\277\275\357\277\275\357\277\275\",\"v\":\"\357\277\275\357\277\275\357\277\275\357\277\275\"}}" },
	{ "query_malformed_escapes", "postgresql://h/d?k=%E2%82%AC&%41=%4&p=100%&q=%%41",
	  "postgresql", "postgresql", NULL, NULL, NULL, "h", -1, "d",
	  { "k", "\342\202\254", "A", "%4", "p", "100%", "q", "%A", NULL },
	  "postgresql://h/d?A=%254&k=%E2%82%AC&p=100%25&q=%25A",
	  "{\"drivername\":\"postgresql\",\"dialect\":\"postgresql\",\"driver\":null,\"username\":null,\"password\":null,\"host\":\"h\",\"port\":null,\"database\":\"d\",\"query\":{\"k\":\"\342\202\254\",\"A\":\"%4\",\"p\":\"100%\",\"q\":\"%A\"}}" },
	{ "query_no_equals_dropped", "postgresql://h?x",
	  "postgresql", "postgresql", NULL, NULL, NULL, "h", -1, NULL,
	  { NULL },
	  "postgresql://h",
	  "{\"drivername\":\"postgresql\",\"dialect\":\"postgresql\",\"driver\":null,\"username\":null,\"password\":null,\"host\":\"h\",\"port\":null,\"database\":null,\"query\":{}}" },
	{ "query_empty_fields", "postgresql://x?&&",
	  "postgresql", "postgresql", NULL, NULL, NULL, "x", -1, NULL,
	  { NULL },
	  "postgresql://x",
	  "{\"drivername\":\"postgresql\",\"dialect\":\"postgresql\",\"driver\":null,\"username\":null,\"password\":null,\"host\":\"x\",\"port\":null,\"database\":null,\"query\":{}}" },
	{ "query_empty", "postgresql://x?",
	  "postgresql", "postgresql", NULL, NULL, NULL, "x", -1, NULL,
	  { NULL },
	  "postgresql://x",
	  "{\"drivername\":\"postgresql\",\"dialect\":\"postgresql\",\"driver\":null,\"username\":null,\"password\":null,\"host\":\"x\",\"port\":null,\"database\":null,\"query\":{}}" },
	{ "query_fragment_kept", "postgresql://u:p@h:5/d?x=1#frag",
	  "postgresql", "postgresql", NULL, "u", "p", "h", 5, "d",
	  { "x", "1#frag", NULL },
	  "postgresql://u:***@h:5/d?x=1%23frag",
	  "{\"drivername\":\"postgresql\",\"dialect\":\"postgresql\",\"driver\":null,\"username\":\"u\",\"password\":\"p\",\"host\":\"h\",\"port\":5,\"database\":\"d\",\"query\":{\"x\":\"1#frag\"}}" },
	{ "semicolon_not_separator", "postgresql://h/db;x?q=1;r=2",
	  "postgresql", "postgresql", NULL, NULL, NULL, "h", -1, "db;x",
	  { "q", "1;r=2", NULL },
	  "postgresql://h/db;x?q=1%3Br%3D2",
	  "{\"drivername\":\"postgresql\",\"dialect\":\"postgresql\",\"driver\":null,\"username\":null,\"password\":null,\"host\":\"h\",\"port\":null,\"database\":\"db;x\",\"query\":{\"q\":\"1;r=2\"}}" },
	{ "raw_utf8", "postgresql://\303\274ser:p\303\244ss%C3%A9@h\303\266st/d\303\244?\320\272\320\273\321\216\321\207=\320\267\320\275%D0%B0\321\207",
	  "postgresql", "postgresql", NULL, "\303\274ser", "p\303\244ss\303\251", "h\303\266st", -1, "d\303\244",
	  { "\320\272\320\273\321\216\321\207", "\320\267\320\275\320\260\321\207", NULL },
	  "postgresql://\303\274ser:***@h\303\266st/d\303\244?%D0%BA%D0%BB%D1%8E%D1%87=%D0%B7%D0%BD%D0%B0%D1%87",
	  "{\"drivername\":\"postgresql\",\"dialect\":\"postgresql\",\"driver\":null,\"username\":\"\303\274ser\",\"password\":\"p\303\244ss\303\251\",\"host\":\"h\303\266st\",\"port\":null,\"database\":\"d\303\244\",\"query\":{\"\320\272\320\273\321\216\321\207\":\"\320\267\320\275\320\260\321\207\"}}" },
	{ "space_in_host", "postgresql://my host/db",
	  "postgresql", "postgresql", NULL, NULL, NULL, "my host", -1, "db",
	  { NULL },
	  "postgresql://my host/db",
	  "{\"drivername\":\"postgresql\",\"dialect\":\"postgresql\",\"driver\":null,\"username\":null,\"password\":null,\"host\":\"my host\",\"port\":null,\"database\":\"db\",\"query\":{}}" },
};

/* ---------------------------------------------------------------- helpers */

#define CHECK_OPT_STR(expected, actual)                                                            \
	do {                                                                                       \
		const char *oe_ = (expected), *oa_ = (actual);                                     \
		if (!oe_ || !oa_)                                                                  \
			CHECK_INT(oe_ != NULL, oa_ != NULL);                                       \
		if (oe_ && oa_)                                                                    \
			CHECK_STR(oe_, oa_);                                                       \
	} while (0)

static int url_is_empty(const ath_url *u)
{
	return !u->drivername && !u->dialect && !u->driver && !u->username && !u->password &&
	       !u->host && u->port == -1 && !u->database && !u->query && u->nquery == 0;
}

static void json_str(ath_buf *out, const char *s, size_t n)
{
	ath_wire__buf_write(out, "\"", 1);
	for (size_t i = 0; i < n; i++) {
		char esc[8];
		unsigned char c = (unsigned char)s[i];
		if (c == '"' || c == '\\') {
			esc[0] = '\\';
			esc[1] = (char)c;
			ath_wire__buf_write(out, esc, 2);
		} else if (c < 0x20) {
			snprintf(esc, sizeof esc, "\\u%04x", c);
			ath_wire__buf_write(out, esc, 6);
		} else {
			ath_wire__buf_write(out, s + i, 1);
		}
	}
	ath_wire__buf_write(out, "\"", 1);
}

/* msgpack as compact JSON, as Python's json.dumps(separators=(",", ":")) writes it. */
static void json(ath_buf *out, const msgpack_object *o)
{
	char num[32];
	switch (o->type) {
	case MSGPACK_OBJECT_NIL:
		ath_wire__buf_write(out, "null", 4);
		break;
	case MSGPACK_OBJECT_POSITIVE_INTEGER:
		snprintf(num, sizeof num, "%llu", (unsigned long long)o->via.u64);
		ath_wire__buf_write(out, num, strlen(num));
		break;
	case MSGPACK_OBJECT_STR:
		json_str(out, o->via.str.ptr, o->via.str.size);
		break;
	case MSGPACK_OBJECT_ARRAY:
		ath_wire__buf_write(out, "[", 1);
		for (uint32_t i = 0; i < o->via.array.size; i++) {
			if (i)
				ath_wire__buf_write(out, ",", 1);
			json(out, &o->via.array.ptr[i]);
		}
		ath_wire__buf_write(out, "]", 1);
		break;
	case MSGPACK_OBJECT_MAP:
		ath_wire__buf_write(out, "{", 1);
		for (uint32_t i = 0; i < o->via.map.size; i++) {
			if (i)
				ath_wire__buf_write(out, ",", 1);
			json(out, &o->via.map.ptr[i].key);
			ath_wire__buf_write(out, ":", 1);
			json(out, &o->via.map.ptr[i].val);
		}
		ath_wire__buf_write(out, "}", 1);
		break;
	default:
		ath_wire__buf_write(out, "<unexpected type>", 17);
		break;
	}
}

/* ath_url__pack() written as JSON; NULL when packing fails. Caller frees with ath__free. */
static char *packed_json(const ath_url *u)
{
	ath_buf buf = { NULL, 0, 0 }, text = { NULL, 0, 0 };
	msgpack_packer pk;
	msgpack_unpacked un;
	size_t off = 0;

	ath_wire__packer_init(&pk, &buf);
	if (ath_url__pack(u, &pk) < 0) {
		ath__free(buf.ptr);
		return NULL;
	}
	msgpack_unpacked_init(&un);
	if (msgpack_unpack_next(&un, (const char *)buf.ptr, buf.size, &off) == MSGPACK_UNPACK_SUCCESS &&
	    off == buf.size)
		json(&text, &un.data);
	else
		ath_wire__buf_write(&text, "<undecodable>", 13);
	ath_wire__buf_write(&text, "", 1);
	msgpack_unpacked_destroy(&un);
	ath__free(buf.ptr);
	return (char *)text.ptr;
}

/* ---------------------------------------------------------------- accepted URLs */

static void test_cases(void)
{
	ath_err err = { 0 };
	for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
		const struct url_case *c = &cases[i];
		char name[128];
		ath_url u;
		size_t nq = 0;

		snprintf(name, sizeof name, "url/url/%s", c->name);
		TEST_CASE(name);
		int rc = ath_url__parse(&u, c->text, &err);
		CHECK_INT(0, rc);
		if (rc) {
			fprintf(stderr, "  message: %s\n", err.message);
			continue;
		}
		CHECK_OPT_STR(c->drivername, u.drivername);
		CHECK_OPT_STR(c->dialect, u.dialect);
		CHECK_OPT_STR(c->driver, u.driver);
		CHECK_OPT_STR(c->username, u.username);
		CHECK_OPT_STR(c->password, u.password);
		CHECK_OPT_STR(c->host, u.host);
		CHECK_INT(c->port, u.port);
		CHECK_OPT_STR(c->database, u.database);
		while (c->query[2 * nq])
			nq++;
		CHECK_INT(nq, u.nquery);
		for (size_t q = 0; q < nq && q < u.nquery; q++) {
			CHECK_STR(c->query[2 * q], u.query[q].key);
			CHECK_STR(c->query[2 * q + 1], u.query[q].value);
		}
		char *safe = ath_url__render_safe(&u);
		CHECK_OPT_STR(c->safe, safe);
		ath__free(safe);
		char *packed = packed_json(&u);
		CHECK_OPT_STR(c->packed, packed);
		ath__free(packed);
		ath_url__free(&u);
		CHECK(url_is_empty(&u));
	}
	ath_err__clear(&err);
}

/* ---------------------------------------------------------------- rejected URLs */

struct bad_case {
	const char *name, *text;
	const char *msg;    /* the whole message */
	const char *secret; /* a password that must not appear in it, or NULL */
};

static const struct bad_case bad_cases[] = {
	/* SQLAlchemy raises ArgumentError with this very message */
	{ "empty", "", "Could not parse SQLAlchemy URL from string ''", NULL },
	{ "words", "not a url", "Could not parse SQLAlchemy URL from string 'not a url'", NULL },
	{ "name_only", "sqlite", "Could not parse SQLAlchemy URL from string 'sqlite'", NULL },
	{ "one_slash", "sqlite:/x.db", "Could not parse SQLAlchemy URL from string 'sqlite:/x.db'", NULL },
	{ "no_name", "://x", "Could not parse SQLAlchemy URL from string '://x'", NULL },
	{ "dash_in_name", "my-db://x", "Could not parse SQLAlchemy URL from string 'my-db://x'", NULL },
	{ "space_before_colon", "postgresql ://h",
	  "Could not parse SQLAlchemy URL from string 'postgresql ://h'", NULL },
	{ "leading_space", " postgresql://h",
	  "Could not parse SQLAlchemy URL from string ' postgresql://h'", NULL },
	{ "non_ascii_name", "p\303\266stgres://h",
	  "Could not parse SQLAlchemy URL from string 'p\303\266stgres://h'", NULL },
	/* unparseable, so where the password is can only be guessed: too much is hidden */
	{ "garbage_hides_password", "postgresql//scott:tiger@h/db",
	  "Could not parse SQLAlchemy URL from string 'postgresql//scott:***@h/db'", "tiger" },
	{ "no_scheme_hides_password", "scott:tiger@host",
	  "Could not parse SQLAlchemy URL from string 'scott:***@host'", "tiger" },
	{ "one_slash_hides_password", "pg:/u:tiger@h",
	  "Could not parse SQLAlchemy URL from string 'pg:***@h'", "tiger" },
	{ "bad_name_hides_password", "my-db://u:tig:er@h@x",
	  "Could not parse SQLAlchemy URL from string 'my-db://u:***@x'", "tig" },
	/* SQLAlchemy: ValueError from int(); here ArgumentError, and only 0..65535 in digits */
	{ "port_empty", "postgresql://scott:tiger@host:/db",
	  "invalid port '' in URL 'postgresql://scott:***@host:/db': expected a number from 0 to 65535",
	  "tiger" },
	{ "port_letters", "postgresql://scott:tiger@host:abc/db",
	  "invalid port 'abc' in URL 'postgresql://scott:***@host:abc/db': expected a number from 0 "
	  "to 65535", "tiger" },
	{ "port_negative", "postgresql://h:-1/d",
	  "invalid port '-1' in URL 'postgresql://h:-1/d': expected a number from 0 to 65535", NULL },
	{ "port_plus", "postgresql://h:+5/d",
	  "invalid port '+5' in URL 'postgresql://h:+5/d': expected a number from 0 to 65535", NULL },
	{ "port_space", "postgresql://h: 5/d",
	  "invalid port ' 5' in URL 'postgresql://h: 5/d': expected a number from 0 to 65535", NULL },
	{ "port_underscore", "postgresql://h:5_432/d",
	  "invalid port '5_432' in URL 'postgresql://h:5_432/d': expected a number from 0 to 65535",
	  NULL },
	{ "port_too_big", "postgresql://h:65536/d",
	  "invalid port '65536' in URL 'postgresql://h:65536/d': expected a number from 0 to 65535",
	  NULL },
	{ "port_overflow", "postgresql://h:99999999999999999999999/d",
	  "invalid port '99999999999999999999999' in URL 'postgresql://h:99999999999999999999999/d': "
	  "expected a number from 0 to 65535", NULL },
	{ "port_arabic_digit", "postgresql://h:\331\245/d",
	  "invalid port '\331\245' in URL 'postgresql://h:\331\245/d': expected a number from 0 to "
	  "65535", NULL },
	{ "port_of_unclosed_ipv6", "postgresql://u:tiger@[::1/db",
	  "invalid port ':1' in URL 'postgresql://u:***@[::1/db': expected a number from 0 to 65535",
	  "tiger" },
	{ "port_password_with_escaped_at", "postgresql://u:p%40tiger@h:x/d",
	  "invalid port 'x' in URL 'postgresql://u:***@h:x/d': expected a number from 0 to 65535",
	  "tiger" },
	{ "port_empty_password_still_starred", "postgresql://u:@h:x/d",
	  "invalid port 'x' in URL 'postgresql://u:***@h:x/d': expected a number from 0 to 65535",
	  NULL },
	/* SQLAlchemy silently drops what follows; here an error */
	{ "text_after_ipv6", "postgresql://u:tiger@[::1]garbage/db",
	  "Could not parse SQLAlchemy URL from string 'postgresql://u:***@[::1]garbage/db': "
	  "unexpected text after the ']' that closes an IPv6 host", "tiger" },
	{ "newline_in_query", "sqlite:///a.db?x=1\ny=2",
	  "Could not parse SQLAlchemy URL from string 'sqlite:///a.db?x=1\ny=2': newline in the "
	  "query string", NULL },
	/* SQLAlchemy keeps a NUL character; a C string cannot */
	{ "nul_in_username", "postgresql://a%00b@h",
	  "invalid percent-escape in URL 'postgresql://a%00b@h': %00 in the username would be a NUL "
	  "character", NULL },
	{ "nul_in_password", "postgresql://u:sec%00ret@h",
	  "invalid percent-escape in URL 'postgresql://u:***@h': %00 in the password would be a NUL "
	  "character", "sec" },
	{ "nul_in_query", "postgresql://u:tiger@h/d?a=%00",
	  "invalid percent-escape in URL 'postgresql://u:***@h/d?a=%00': %00 in the query string would "
	  "be a NUL character", "tiger" },
};

static void test_bad_cases(void)
{
	ath_err err = { 0 };
	for (size_t i = 0; i < sizeof bad_cases / sizeof bad_cases[0]; i++) {
		const struct bad_case *c = &bad_cases[i];
		char name[128];
		ath_url u;
		memset(&u, 0xab, sizeof u); /* garbage in: out is output only */

		snprintf(name, sizeof name, "url/url/bad_%s", c->name);
		TEST_CASE(name);
		CHECK_INT(ATH_EINVALID, ath_url__parse(&u, c->text, &err));
		CHECK_INT(ATH_EINVALID, err.code);
		CHECK_INT(ATH_ERRCLASS_ARGUMENT_ERROR, err.klass);
		CHECK_STR(c->msg, err.message);
		if (c->secret && strstr(err.message, c->secret)) {
			CHECK(!"password in the message");
		}
		CHECK(url_is_empty(&u));
		ath_url__free(&u);
	}

	TEST_CASE("url/url/bad_null");
	ath_url u;
	CHECK_INT(ATH_EINVALID, ath_url__parse(&u, NULL, &err));
	CHECK_INT(ATH_ERRCLASS_ARGUMENT_ERROR, err.klass);
	CHECK(url_is_empty(&u));

	TEST_CASE("url/url/long_url_message_is_cut");
	char big[3000];
	memset(big, 'x', sizeof big - 1);
	big[sizeof big - 1] = '\0';
	memcpy(big, "pg://u:tiger@h:", 15);
	CHECK_INT(ATH_EINVALID, ath_url__parse(&u, big, &err));
	CHECK_CONTAINS(err.message, "invalid port 'xxxx");
	CHECK_CONTAINS(err.message, "pg://u:***@h:xxx");
	CHECK_CONTAINS(err.message, "...");
	CHECK(strstr(err.message, "tiger") == NULL);
	ath_err__clear(&err);
}

/* ---------------------------------------------------------------- the rest of the interface */

static void test_query_get_and_free(void)
{
	ath_err err = { 0 };
	ath_url u;

	TEST_CASE("url/url/query_get");
	CHECK_INT(0, ath_url__parse(&u, "postgresql://h/d?a=1&b=2&a=3&c+d=%41", &err));
	CHECK_STR("3", ath_url__query_get(&u, "a"));
	CHECK_STR("2", ath_url__query_get(&u, "b"));
	CHECK_STR("A", ath_url__query_get(&u, "c d"));
	CHECK(ath_url__query_get(&u, "c+d") == NULL);
	CHECK(ath_url__query_get(&u, "z") == NULL);

	TEST_CASE("url/url/free_twice_and_null");
	ath_url__free(&u);
	ath_url__free(&u);
	ath_url__free(NULL);
	CHECK(url_is_empty(&u));
	CHECK(ath_url__query_get(&u, "a") == NULL);

	TEST_CASE("url/url/render_safe_quotes_username");
	CHECK_INT(0, ath_url__parse(&u, "mysql://a%2Fb%3Ac%40d%25:p@h/db", &err));
	char *safe = ath_url__render_safe(&u);
	CHECK_STR("mysql://a%2Fb%3Ac%40d%:***@h/db", safe); /* as render_as_string: only :@/ */
	ath__free(safe);
	ath_url__free(&u);
	ath_err__clear(&err);
}

/* Every allocation of parse, render and pack fails in turn: each fails cleanly (ATH_ENOMEM,
 * `out` empty, NULL, -1), and LeakSanitizer sees nothing left behind. */
static void test_out_of_memory(void)
{
	static const char text[] =
		"postgresql+libpq://sc%6Ftt:tiger@[::1]:5432/test?a=1&b=%C3%A9&a=3&c=4";
	ath_err err = { 0 };
	ath_url u;
	long k;
	int bad = 0;

	TEST_CASE("url/url/oom_parse");
	for (k = 0; k < 1000; k++) {
		ath__alloc_fail_after(k);
		int rc = ath_url__parse(&u, text, &err);
		ath__alloc_fail_after(-1);
		if (rc == 0)
			break;
		if (rc != ATH_ENOMEM || err.klass != ATH_ERRCLASS_OUT_OF_MEMORY_ERROR ||
		    !url_is_empty(&u)) {
			if (!bad++)
				fprintf(stderr, "  failing allocation %ld: rc %d: %s\n", k, rc, err.message);
		}
	}
	CHECK_INT(0, bad);
	CHECK(k > 10 && k < 1000);
	CHECK_STR("scott", u.username);

	TEST_CASE("url/url/oom_render_safe");
	for (k = 0; k < 1000; k++) {
		ath__alloc_fail_after(k);
		char *s = ath_url__render_safe(&u);
		ath__alloc_fail_after(-1);
		if (s) {
			CHECK_STR("postgresql+libpq://scott:***@[::1]:5432/test?a=1&a=3&b=%C3%A9&c=4", s);
			ath__free(s);
			break;
		}
	}
	CHECK(k > 0 && k < 1000);

	TEST_CASE("url/url/oom_pack");
	for (k = 0; k < 1000; k++) {
		ath_buf buf = { NULL, 0, 0 };
		msgpack_packer pk;
		ath_wire__packer_init(&pk, &buf);
		ath__alloc_fail_after(k);
		int rc = ath_url__pack(&u, &pk);
		ath__alloc_fail_after(-1);
		ath__free(buf.ptr);
		if (rc == 0)
			break;
		CHECK_INT(-1, rc);
	}
	CHECK(k > 0 && k < 1000);
	ath_url__free(&u);
	ath_err__clear(&err);
}

int main(void)
{
	test_cases();
	test_bad_cases();
	test_query_get_and_free();
	test_out_of_memory();
	return test_exit();
}
