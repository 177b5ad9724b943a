/* test_types.c — the type round-trip table (docs/schema-spec.md "Types"): every type of the wire's
 * type forms × a backend × edge values (NULL, integer limits, high-precision decimals, dates before
 * 1970 and after 2038, microseconds, time zones, unicode up to the astral plane, empty and large
 * binaries, nested JSON, PostgreSQL arrays), inserted through shapes (one row, then executemany)
 * into a table per type made by create_all, selected back and compared value by value (the JSON
 * spelling of the msgpack values, so ext values compare exactly); then the wrong-typed values
 * that must be a DataError naming the column before the server sees them.
 * `test_types [sqlite|postgresql|mysql]`; the servers read ATHANOR_TEST_PG_URL /
 * ATHANOR_TEST_MYSQL_URL and exit 77 without one unless ATHANOR_TEST_REQUIRE_SERVERS=1.
 * `test_types write FILE` writes the rows tests/types/sqla_read.py reads back with SQLAlchemy;
 * `test_types read FILE` reads the rows `sqla_read.py write FILE` wrote with SQLAlchemy. */
#include <athanor/athanor.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "test.h"
#include "wirejson.h"

enum { SQ = 1, PG = 2, MY = 4, ALL = 7 };

/* One column type: its wire type per backend (NULL = the SQLite one), the backends it runs on. */
typedef struct tcase {
	const char *name;
	const char *type, *type_pg, *type_my;
	unsigned on;
} tcase;

static const tcase types[] = {
	{ "integer", "[\"Integer\"]", NULL, NULL, ALL },
	{ "bigint", "[\"BigInteger\"]", NULL, NULL, ALL },
	{ "smallint", "[\"SmallInteger\"]", NULL, NULL, ALL },
	{ "boolean", "[\"Boolean\"]", NULL, NULL, ALL },
	{ "string", "[\"String\", 60]", NULL, NULL, ALL },
	{ "text", "[\"Text\"]", NULL, NULL, ALL },
	{ "unicode", "[\"Unicode\", 60]", NULL, NULL, ALL },
	{ "float", "[\"Float\"]", NULL, NULL, ALL },
	{ "double", "[\"Double\"]", NULL, NULL, ALL },
	{ "numeric", "[\"Numeric\", 38, 10]", NULL, NULL, ALL },
	{ "date", "[\"Date\"]", NULL, NULL, ALL },
	{ "datetime", "[\"DateTime\"]", NULL, "[\"mysql.DATETIME\", 6]", ALL },
	{ "datetime_tz", "[\"DateTime\", {\"timezone\": true}]", NULL, NULL, ALL },
	{ "time", "[\"Time\"]", NULL, "[\"mysql.TIME\", 6]", ALL },
	{ "time_tz", NULL, "[\"Time\", {\"timezone\": true}]", NULL, PG },
	{ "interval", "[\"Interval\"]", NULL, NULL, ALL },
	{ "binary", "[\"LargeBinary\"]", NULL, NULL, ALL },
	{ "enum", "[\"Enum\", [\"sad\", \"ok\", \"happy\"], {\"name\": \"ath_ty_mood\"}]", NULL, NULL, ALL },
	{ "json", "[\"JSON\"]", NULL, NULL, ALL },
	{ "jsonb", NULL, "[\"postgresql.JSONB\"]", NULL, PG },
	{ "uuid", "[\"Uuid\"]", NULL, NULL, ALL },
	{ "int_array", NULL, "[\"ARRAY\", [\"Integer\"]]", NULL, PG },
	{ "str_array", NULL, "[\"ARRAY\", [\"String\", 20]]", NULL, PG },
};
#define NTYPES (sizeof types / sizeof *types)

/* One value: what is inserted and what comes back (NULL = the same) per backend. */
typedef struct tval {
	const char *type;
	const char *in;
	const char *out, *out_sq, *out_my;
	unsigned on;
} tval;

#define TS(s) "{\"$ext\": -1, \"v\": \"" s "\"}"
#define D(s) "{\"$ext\": 3, \"v\": \"" s "\"}"
#define T(s) "{\"$ext\": 4, \"v\": \"" s "\"}"
#define DT(s) "{\"$ext\": 5, \"v\": \"" s "\"}"
#define DEC(s) "{\"$ext\": 2, \"v\": \"" s "\"}"

static const tval values[] = {
	{ "integer", "null", NULL, NULL, NULL, ALL },
	{ "integer", "0", NULL, NULL, NULL, ALL },
	{ "integer", "-2147483648", NULL, NULL, NULL, ALL },
	{ "integer", "2147483647", NULL, NULL, NULL, ALL },
	{ "bigint", "-9223372036854775808", NULL, NULL, NULL, ALL },
	{ "bigint", "9223372036854775807", NULL, NULL, NULL, ALL },
	{ "smallint", "-32768", NULL, NULL, NULL, ALL },
	{ "smallint", "32767", NULL, NULL, NULL, ALL },
	{ "boolean", "true", NULL, NULL, NULL, ALL },
	{ "boolean", "false", NULL, NULL, NULL, ALL },
	{ "boolean", "1", "true", NULL, NULL, ALL },
	{ "boolean", "null", NULL, NULL, NULL, ALL },
	{ "string", "\"\"", NULL, NULL, NULL, ALL },
	{ "string", "\"plain ascii\"", NULL, NULL, NULL, ALL },
	{ "string", "\"quote ' and \\\\ backslash\"", NULL, NULL, NULL, ALL },
	{ "unicode", "\"\\u00fcn\\u00efc\\u00f6d\\u00e9 \\u4e2d\\u6587\"", NULL, NULL, NULL, ALL },
	{ "unicode", "\"astral \\ud83d\\ude00 \\ud834\\udd1e\"", NULL, NULL, NULL, ALL },
	{ "unicode", "null", NULL, NULL, NULL, ALL },
	{ "text", "\"@LARGE_TEXT@\"", NULL, NULL, NULL, ALL },
	{ "float", "1.5", NULL, NULL, NULL, ALL },
	{ "float", "-2.25", NULL, NULL, NULL, ALL },
	{ "float", "0.0", NULL, NULL, NULL, ALL },
	{ "float", "3", "3.0", NULL, NULL, ALL },
	{ "double", "1.0000000000000002", NULL, NULL, NULL, ALL },
	{ "double", "-1e+300", NULL, NULL, NULL, ALL },
	{ "double", "2.2250738585072014e-308", NULL, NULL, NULL, ALL },
	{ "numeric", DEC("1.5000000000"), NULL, NULL, NULL, ALL },
	{ "numeric", DEC("0.0000000001"), NULL, NULL, NULL, ALL },
	/* SQLite's NUMERIC affinity keeps 15 significant digits (as SQLAlchemy's float path does) */
	{ "numeric", DEC("-1234567890123456789012345678.1234567890"), NULL,
	  DEC("-1234567890123456850245451776.0000000000"), NULL, ALL },
	{ "numeric", DEC("9999999999999999999999999999.9999999999"), NULL,
	  DEC("10000000000000000905969664.0000000000"), NULL, PG | MY },
	{ "numeric", "42", DEC("42.0000000000"), NULL, NULL, ALL },
	{ "numeric", "null", NULL, NULL, NULL, ALL },
	{ "date", D("0001-01-01"), NULL, NULL, D("0001-01-01"), ALL },
	{ "date", D("1969-12-31"), NULL, NULL, NULL, ALL },
	{ "date", D("2024-02-29"), NULL, NULL, NULL, ALL },
	{ "date", D("9999-12-31"), NULL, NULL, NULL, ALL },
	{ "datetime", DT("1901-12-13T20:45:52"), NULL, NULL, NULL, ALL },
	{ "datetime", DT("1969-12-31T23:59:59.999999"), NULL, NULL, NULL, ALL },
	{ "datetime", DT("2038-01-19T03:14:08.000001"), NULL, NULL, NULL, ALL },
	{ "datetime", DT("9999-12-31T23:59:59.999999"), NULL, NULL, NULL, ALL },
	{ "datetime", DT("2024-01-02 03:04:05.5"), DT("2024-01-02T03:04:05.500000"), NULL, NULL, ALL },
	{ "datetime", "null", NULL, NULL, NULL, ALL },
	{ "datetime_tz", TS("1969-12-31T23:59:59Z"), NULL, NULL, NULL, ALL },
	{ "datetime_tz", TS("2038-01-19T03:14:08Z"), NULL, NULL, NULL, ALL },
	{ "datetime_tz", TS("2100-06-30T12:00:00.123456Z"), NULL, NULL, TS("2100-06-30T12:00:00Z"), SQ | PG },
	{ "datetime_tz", TS("1950-01-01T00:00:00.000001Z"), NULL, NULL, NULL, SQ | PG },
	{ "time", T("00:00:00"), NULL, NULL, NULL, ALL },
	{ "time", T("23:59:59.999999"), NULL, NULL, NULL, ALL },
	{ "time", T("12:30:00.5"), T("12:30:00.500000"), NULL, NULL, ALL },
	{ "time_tz", T("03:04:05+02:00"), NULL, NULL, NULL, PG },
	{ "time_tz", T("00:00:00+00:00"), NULL, NULL, NULL, PG },
	{ "time_tz", T("23:59:59.999999-01:30"), NULL, NULL, NULL, PG },
	{ "time_tz", T("12:30:00.5+05:30"), T("12:30:00.500000+05:30"), NULL, NULL, PG },
	{ "time_tz", T("06:00:00-08"), T("06:00:00-08:00"), NULL, NULL, PG },
	{ "time_tz", "null", NULL, NULL, NULL, PG },
	{ "interval", "@IV:0@", NULL, NULL, NULL, ALL },
	{ "interval", "@IV:1000000@", NULL, NULL, NULL, ALL },
	{ "interval", "@IV:-1000000@", NULL, NULL, NULL, ALL },
	{ "interval", "@IV:3155760000000001@", NULL, NULL, NULL, SQ | PG },
	{ "interval", "@IV:-86400000000@", NULL, NULL, NULL, ALL },
	{ "binary", "{\"$bin\": \"\"}", NULL, NULL, NULL, ALL },
	{ "binary", "{\"$bin\": \"AP8AAQ==\"}", NULL, NULL, NULL, ALL },
	{ "binary", "\"@LARGE_BIN@\"", NULL, NULL, NULL, ALL },
	{ "binary", "null", NULL, NULL, NULL, ALL },
	{ "enum", "\"ok\"", NULL, NULL, NULL, ALL },
	{ "enum", "\"happy\"", NULL, NULL, NULL, ALL },
	{ "enum", "null", NULL, NULL, NULL, ALL },
	{ "json", "{\"a\": 1, \"b\": [true, null, 1.5, \"x\"], \"c\": {\"d\": \"\\ud83d\\ude00\", \"e\": {\"f\": [[1], []]}}}", NULL, NULL, NULL, ALL },
	{ "json", "[1, \"two\", {\"three\": 3}]", NULL, NULL, NULL, ALL },
	{ "json", "{}", NULL, NULL, NULL, ALL },
	{ "json", "\"just a string with \\\"quotes\\\"\"", NULL, NULL, NULL, ALL },
	{ "json", "-12", NULL, NULL, NULL, ALL },
	{ "json", "null", NULL, NULL, NULL, ALL },
	{ "jsonb", "{\"a\": 1, \"b\": [true, null, 1.5, \"x\"], \"c\": {\"d\": \"\\u00e9\"}}", NULL, NULL, NULL, PG },
	{ "jsonb", "[[], {}, \"s\"]", NULL, NULL, NULL, PG },
	{ "uuid", "{\"$ext\": 7, \"v\": \"EjRWeBI0VngSNFZ4EjRWeA==\"}", NULL, NULL, NULL, ALL },
	{ "uuid", "\"00000000-0000-0000-0000-000000000000\"", "{\"$ext\": 7, \"v\": \"AAAAAAAAAAAAAAAAAAAAAA==\"}", NULL, NULL, ALL },
	{ "uuid", "\"ffffffffffffffffffffffffffffffff\"", "{\"$ext\": 7, \"v\": \"/////////////////////w==\"}", NULL, NULL, ALL },
	{ "uuid", "null", NULL, NULL, NULL, ALL },
	{ "int_array", "[1, -2, 2147483647]", NULL, NULL, NULL, PG },
	{ "int_array", "[]", NULL, NULL, NULL, PG },
	{ "int_array", "[null, 5]", NULL, NULL, NULL, PG },
	{ "str_array", "[\"a\", \"b c\", \"q\\\"uote\", \"\", \"NULL\", \"\\u00e9\"]", NULL, NULL, NULL, PG },
};
#define NVALUES (sizeof values / sizeof *values)

/* Wrong-typed values: a DataError naming the column, before the server. */
static const struct {
	const char *type, *in, *msg;
	unsigned on;
} wrong[] = {
	{ "integer", "\"12\"", "column ath_ty_integer.v: expected an integer, got str", ALL },
	{ "integer", "1.5", "column ath_ty_integer.v: expected an integer, got float", ALL },
	{ "integer", "2147483648", "column ath_ty_integer.v: integer 2147483648 is out of range", PG | MY },
	{ "smallint", "-32769", "column ath_ty_smallint.v: integer -32769 is out of range", PG | MY },
	{ "boolean", "\"yes\"", "column ath_ty_boolean.v: expected a bool, got str", ALL },
	{ "boolean", "2", "column ath_ty_boolean.v: expected a bool, got int", ALL },
	{ "string", "5", "column ath_ty_string.v: expected a string, got int", ALL },
	{ "float", "\"x\"", "column ath_ty_float.v: expected a float, got str", ALL },
	{ "numeric", "\"1.5\"", "column ath_ty_numeric.v: expected a decimal (ext 2), int or finite float, got str", ALL },
	{ "numeric", DEC("1.2.3"), "column ath_ty_numeric.v: malformed decimal '1.2.3'", ALL },
	{ "date", D("2023-02-29"), "column ath_ty_date.v: malformed date '2023-02-29'", ALL },
	{ "date", "\"2024-01-01\"", "column ath_ty_date.v: expected a date (ext 3), got str", ALL },
	{ "datetime", D("2024-01-01"), "column ath_ty_datetime.v: expected a naive datetime (ext 5), got date (ext 3)", ALL },
	{ "datetime", DT("2024-01-01T25:00:00"), "column ath_ty_datetime.v: malformed datetime", ALL },
	{ "datetime_tz", DT("2024-01-01T00:00:00"), "column ath_ty_datetime_tz.v: expected a timezone-aware timestamp (ext -1), got datetime (ext 5)", ALL },
	{ "time", T("24:00:00"), "column ath_ty_time.v: malformed time", ALL },
	{ "time", T("03:04:05+02:00"), "column ath_ty_time.v: malformed time", ALL },
	{ "time_tz", T("03:04:05"), "column ath_ty_time_tz.v: malformed time with UTC offset '03:04:05'", PG },
	{ "time_tz", T("03:04:05+24:00"), "column ath_ty_time_tz.v: malformed time with UTC offset", PG },
	{ "time_tz", "\"03:04:05+02:00\"", "column ath_ty_time_tz.v: expected a time with a UTC offset (ext 4, HH:MM:SS[.f]+HH:MM), got str", PG },
	{ "interval", "5", "column ath_ty_interval.v: expected an interval (ext 6), got int", ALL },
	{ "binary", "\"x\"", "column ath_ty_binary.v: expected bytes (bin), got str", ALL },
	{ "enum", "\"angry\"", "column ath_ty_enum.v: 'angry' is not among the defined enum values", ALL },
	{ "json", "{\"a\": {\"$bin\": \"AA==\"}}", "column ath_ty_json.v: cannot be serialized as JSON: bytes (bin)", ALL },
	{ "uuid", "\"not-a-uuid\"", "column ath_ty_uuid.v: expected a uuid (ext 7 or its text), got str", ALL },
	{ "int_array", "[1, \"x\"]", "column ath_ty_int_array.v: expected an integer, got str", PG },
};
#define NWRONG (sizeof wrong / sizeof *wrong)

static const char *type_for(const tcase *t, int bi)
{
	const char *o = bi == 1 ? t->type_pg : bi == 2 ? t->type_my : NULL;
	return o ? o : t->type;
}

static void base64(char *out, const unsigned char *in, size_t n)
{
	static const char tab[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
	size_t o = 0;
	for (size_t i = 0; i < n; i += 3) {
		uint32_t v = (uint32_t)in[i] << 16 | (i + 1 < n ? (uint32_t)in[i + 1] << 8 : 0) | (i + 2 < n ? in[i + 2] : 0);
		out[o++] = tab[v >> 18 & 63];
		out[o++] = tab[v >> 12 & 63];
		out[o++] = i + 1 < n ? tab[v >> 6 & 63] : '=';
		out[o++] = i + 2 < n ? tab[v & 63] : '=';
	}
	out[o] = '\0';
}

/* The JSON spelling of a value, with the placeholders filled in; the caller frees it. */
static char *spell(const char *v)
{
	if (strcmp(v, "\"@LARGE_TEXT@\"") == 0) {
		size_t n = 20000;
		char *s = malloc(n + 3);
		s[0] = '"';
		for (size_t i = 0; i < n; i++)
			s[1 + i] = (char)('a' + i % 26);
		strcpy(s + 1 + n, "\"");
		return s;
	}
	if (strcmp(v, "\"@LARGE_BIN@\"") == 0) {
		size_t n = 60000; /* MySQL's BLOB holds 65535 bytes */
		unsigned char *b = malloc(n);
		for (size_t i = 0; i < n; i++)
			b[i] = (unsigned char)(i * 7 + 3);
		char *s = malloc(n * 2 + 32);
		strcpy(s, "{\"$bin\": \"");
		base64(s + strlen(s), b, n);
		strcat(s, "\"}");
		free(b);
		return s;
	}
	if (strncmp(v, "@IV:", 4) == 0) {
		long long us = strtoll(v + 4, NULL, 10);
		unsigned char b[8];
		for (int i = 0; i < 8; i++)
			b[i] = (unsigned char)((unsigned long long)us >> (56 - 8 * i));
		char *s = malloc(64);
		strcpy(s, "{\"$ext\": 6, \"v\": \"");
		base64(s + strlen(s), b, 8);
		strcat(s, "\"}");
		return s;
	}
	return strdup(v);
}

/* The canonical JSON text of a JSON spelling (through msgpack and back). */
static char *canon(const char *json)
{
	ath_buf b = mp("%s", json);
	char *s = as_json(b.ptr, b.size);
	mp_free(&b);
	return s;
}

static int run(ath_conn *c, const char *shape, const char *params, int many, char **rows)
{
	ath_buf s = mp("%s", shape), p = mp("%s", params), out = ATH_BUF_INIT;
	ath_result *r = NULL;
	int rc;
	if (many)
		rc = ath_conn_executemany(&r, c, s.ptr, s.size, p.ptr, p.size);
	else
		rc = ath_conn_execute(&r, c, s.ptr, s.size, p.ptr, p.size);
	if (rc == ATH_OK && rows)
		rc = ath_result_fetch_all(&out, r);
	if (rc == ATH_OK && rows)
		*rows = as_json(out.ptr, out.size);
	ath_result_close(r);
	ath_buf_dispose(&out);
	mp_free(&s);
	mp_free(&p);
	return rc;
}

/* The rows of `shape` with `params`, compared as JSON. */
static void check_rows(ath_conn *c, const char *shape, const char *params, const char *want)
{
	char *got = NULL;
	CHECK_INT(ATH_OK, run(c, shape, params, 0, &got));
	CHECK_STR(want, got);
	free(got);
}

/* `shape` with `params` is a DataError naming the column before the server sees it. */
static void check_data_error(ath_conn *c, const char *shape, const char *params, const char *msg)
{
	CHECK(run(c, shape, params, 0, NULL) < 0);
	CHECK_STR("DataError", ath_error_class_name(ath_error_last()->klass));
	CHECK_CONTAINS(ath_error_last()->message, msg);
}

static ath_metadata *make_md(int bi, unsigned mask)
{
	size_t cap = 8192, len = 0;
	char *spec = malloc(cap);
	len += (size_t)snprintf(spec + len, cap - len, "{\"k\": \"metadata\", \"tables\": [");
	int first = 1;
	for (size_t i = 0; i < NTYPES; i++) {
		if (!(types[i].on & mask))
			continue;
		len += (size_t)snprintf(spec + len, cap - len,
					"%s{\"name\": \"ath_ty_%s\", \"columns\": [{\"name\": \"id\", \"type\": [\"Integer\"], "
					"\"primary_key\": true, \"autoincrement\": false}, {\"name\": \"v\", \"type\": %s}]}",
					first ? "" : ", ", types[i].name, type_for(&types[i], bi));
		first = 0;
	}
	snprintf(spec + len, cap - len, "]}");
	ath_buf b = mp("%s", spec);
	free(spec);
	ath_metadata *md = NULL;
	if (ath_metadata_create(&md, b.ptr, b.size) != ATH_OK) {
		fprintf(stderr, "metadata: %s\n", ath_error_last()->message);
		exit(1);
	}
	mp_free(&b);
	return md;
}

/* Insert the values of each type and read them back; with `insert` 0 only read (a file
 * SQLAlchemy wrote, sqla_read.py write). */
static void round_trips(ath_conn *c, int bi, unsigned mask, int insert)
{
	char shape[512], name[128];
	for (size_t t = 0; t < NTYPES; t++) {
		if (!(types[t].on & mask))
			continue;
		snprintf(name, sizeof name, "types/%s/%s", bi == 0 ? "sqlite" : bi == 1 ? "postgresql" : "mysql",
			 types[t].name);
		TEST_CASE(name);
		/* the table's values: the first inserted alone, the rest as one executemany */
		char *params = strdup("["), *expect = strdup("[");
		int n = 0;
		for (size_t i = 0; i < NVALUES; i++) {
			const tval *v = &values[i];
			if (strcmp(v->type, types[t].name) != 0 || !(v->on & mask))
				continue;
			const char *o = (bi == 0 && v->out_sq) ? v->out_sq : (bi == 2 && v->out_my) ? v->out_my : v->out ? v->out : v->in;
			char *in = spell(v->in), *out = spell(o);
			if (n == 0 && insert) {
				snprintf(shape, sizeof shape,
					 "{\"k\": \"insert\", \"table\": [\"table\", \"ath_ty_%s\"], \"columns\": [\"id\", \"v\"], "
					 "\"values\": [[[\"bind\", 0], [\"bind\", 1]]]}", types[t].name);
				size_t need = strlen(in) + 32;
				char *p = malloc(need);
				snprintf(p, need, "[0, %s]", in);
				int rc = run(c, shape, p, 0, NULL);
				if (rc != ATH_OK)
					fprintf(stderr, "%s: insert %s: %s\n", name, v->in, ath_error_last()->message);
				CHECK_INT(ATH_OK, rc);
				free(p);
			} else {
				size_t need = strlen(params) + strlen(in) + 32;
				params = realloc(params, need);
				snprintf(params + strlen(params), need - strlen(params), "%s[%d, %s]", n > 1 ? ", " : "", n, in);
			}
			size_t need = strlen(expect) + strlen(out) + 32;
			expect = realloc(expect, need);
			snprintf(expect + strlen(expect), need - strlen(expect), "%s[%d, %s]", n ? ", " : "", n, out);
			free(in);
			free(out);
			n++;
		}
		params = realloc(params, strlen(params) + 2);
		expect = realloc(expect, strlen(expect) + 2);
		strcat(params, "]");
		strcat(expect, "]");
		snprintf(shape, sizeof shape,
			 "{\"k\": \"insert\", \"table\": [\"table\", \"ath_ty_%s\"], \"columns\": [\"id\", \"v\"], "
			 "\"values\": [[[\"bind\", 0], [\"bind\", 1]]]}", types[t].name);
		if (n > 1 && insert) {
			int rc = run(c, shape, params, 1, NULL);
			if (rc != ATH_OK)
				fprintf(stderr, "%s: executemany: %s\n", name, ath_error_last()->message);
			CHECK_INT(ATH_OK, rc);
		}
		snprintf(shape, sizeof shape,
			 "{\"k\": \"select\", \"columns\": [[\"col\", \"ath_ty_%s\", \"id\"], [\"col\", \"ath_ty_%s\", \"v\"]], "
			 "\"from\": [[\"table\", \"ath_ty_%s\"]], \"order_by\": [[\"col\", \"ath_ty_%s\", \"id\"]]}",
			 types[t].name, types[t].name, types[t].name, types[t].name);
		char *got = NULL;
		int rc = run(c, shape, "[]", 0, &got);
		if (rc != ATH_OK)
			fprintf(stderr, "%s: select: %s\n", name, ath_error_last()->message);
		CHECK_INT(ATH_OK, rc);
		char *want = canon(expect);
		if (got && strlen(got) > 2000) { /* the large values: say where they differ */
			size_t at = 0;
			while (want[at] && want[at] == got[at])
				at++;
			if (want[at] || got[at])
				fprintf(stderr, "%s: differs at %zu (%zu vs %zu chars): ...%.60s vs ...%.60s\n", name, at,
					strlen(want), strlen(got), want + (at > 20 ? at - 20 : 0), got + (at > 20 ? at - 20 : 0));
			CHECK(strcmp(want, got) == 0);
		} else if (got) {
			CHECK_STR(want, got);
		}
		/* a typed comparison in WHERE binds by the column's type too */
		snprintf(shape, sizeof shape,
			 "{\"k\": \"select\", \"columns\": [[\"col\", \"ath_ty_%s\", \"id\"]], \"from\": [[\"table\", \"ath_ty_%s\"]], "
			 "\"where\": [\"=\", [\"col\", \"ath_ty_%s\", \"id\"], [\"bind\", 0]]}", types[t].name, types[t].name,
			 types[t].name);
		free(got);
		got = NULL;
		CHECK_INT(ATH_OK, run(c, shape, "[0]", 0, &got));
		CHECK_STR("[[0]]", got);
		free(got);
		free(want);
		free(params);
		free(expect);
	}
}

static void wrong_types(ath_conn *c, int bi, unsigned mask)
{
	char shape[512], name[128];
	for (size_t i = 0; i < NWRONG; i++) {
		if (!(wrong[i].on & mask))
			continue;
		snprintf(name, sizeof name, "types/%s/wrong/%s/%s", bi == 0 ? "sqlite" : bi == 1 ? "postgresql" : "mysql",
			 wrong[i].type, wrong[i].in);
		TEST_CASE(name);
		snprintf(shape, sizeof shape,
			 "{\"k\": \"insert\", \"table\": [\"table\", \"ath_ty_%s\"], \"columns\": [\"id\", \"v\"], "
			 "\"values\": [[[\"bind\", 0], [\"bind\", 1]]]}", wrong[i].type);
		char p[256];
		snprintf(p, sizeof p, "[%zu, %s]", 100 + 3 * i, wrong[i].in);
		CHECK(run(c, shape, p, 0, NULL) < 0);
		const ath_error *e = ath_error_last();
		CHECK_STR("DataError", ath_error_class_name(e->klass));
		CHECK_CONTAINS(e->message, wrong[i].msg);
		/* executemany reports the row; a WHERE comparison checks the same way */
		snprintf(p, sizeof p, "[[%zu, null], [%zu, %s]]", 101 + 3 * i, 102 + 3 * i, wrong[i].in);
		CHECK(run(c, shape, p, 1, NULL) < 0);
		CHECK_STR("DataError", ath_error_class_name(ath_error_last()->klass));
		CHECK_CONTAINS(ath_error_last()->message, wrong[i].msg);
		snprintf(shape, sizeof shape,
			 "{\"k\": \"select\", \"columns\": [[\"col\", \"ath_ty_%s\", \"id\"]], \"from\": [[\"table\", \"ath_ty_%s\"]], "
			 "\"where\": [\"=\", [\"col\", \"ath_ty_%s\", \"v\"], [\"bind\", 0]]}", wrong[i].type, wrong[i].type,
			 wrong[i].type);
		snprintf(p, sizeof p, "[%s]", wrong[i].in);
		CHECK(run(c, shape, p, 0, NULL) < 0);
		CHECK_CONTAINS(ath_error_last()->message, wrong[i].msg);
	}
}

int main(int argc, char **argv)
{
	static const char *const names[] = { "sqlite", "postgresql", "mysql" };
	static const char *const envs[] = { NULL, "ATHANOR_TEST_PG_URL", "ATHANOR_TEST_MYSQL_URL" };
	const char *which = argc > 1 ? argv[1] : "sqlite";
	int bi = 0;
	char url_buf[600];
	const char *url = "sqlite:///test_types.db";
	int reading = strcmp(which, "read") == 0;
	if ((reading || strcmp(which, "write") == 0) && argc > 2) { /* rows for / from sqla_read.py */
		snprintf(url_buf, sizeof url_buf, "sqlite:///%s", argv[2]);
		url = url_buf;
		if (!reading)
			remove(argv[2]);
	} else {
		while (bi < 3 && strcmp(names[bi], which) != 0)
			bi++;
		if (bi == 3)
			return 2;
		if (envs[bi]) {
			int rc = test_server_url(envs[bi], &url);
			if (rc)
				return rc;
		} else {
			remove("test_types.db");
		}
	}
	unsigned mask = bi == 0 ? SQ : bi == 1 ? PG : MY;
	ath_metadata *md = make_md(bi, mask);
	ath_engine_options o;
	ath_engine_options_init(&o, ATH_ENGINE_OPTIONS_VERSION);
	o.metadata = md;
	ath_engine *e = NULL;
	ath_conn *c = NULL;
	if (ath_engine_create(&e, url, &o) != ATH_OK) {
		fprintf(stderr, "engine: %s\n", ath_error_last()->message);
		return 1;
	}
	if (reading) {
		CHECK_INT(ATH_OK, ath_engine_connect(&c, e));
		round_trips(c, bi, mask, 0);
		ath_conn_close(c);
		ath_engine_free(e);
		ath_metadata_free(md);
		return test_exit();
	}
	ath_engine_drop_all(e, md, 0); /* leftovers of an interrupted run */
	int rc = ath_engine_create_all(e, md, 0);
	if (rc != ATH_OK)
		fprintf(stderr, "create_all: %s\n", ath_error_last()->message);
	CHECK_INT(ATH_OK, rc);
	CHECK_INT(ATH_OK, ath_engine_connect(&c, e));
	round_trips(c, bi, mask, 1);
	if (strcmp(which, "write") == 0) {
		CHECK_INT(ATH_OK, ath_conn_commit(c));
		ath_conn_close(c);
	} else {
		/* a CAST's target type types its result column (SQLAlchemy's Cast.type); RETURNING too */
		TEST_CASE("types/cast");
		char *got = NULL;
		CHECK_INT(ATH_OK, run(c, "{\"k\": \"select\", \"columns\": [[\"cast\", [\"col\", \"ath_ty_integer\", \"v\"], [\"Boolean\"]]], "
				   "\"from\": [[\"table\", \"ath_ty_integer\"]], \"where\": [\"=\", [\"col\", \"ath_ty_integer\", \"id\"], [\"bind\", 0]]}",
			      "[1]", 0, &got));
		CHECK_STR("[[false]]", got);
		free(got);
		got = NULL;
		if (bi != 2) {
			CHECK_INT(ATH_OK, run(c, "{\"k\": \"update\", \"table\": [\"table\", \"ath_ty_date\"], \"set\": [[\"v\", [\"bind\", 0]]], "
					   "\"where\": [\"=\", [\"col\", \"ath_ty_date\", \"id\"], [\"bind\", 1]], \"returning\": [[\"col\", \"ath_ty_date\", \"v\"]]}",
				      "[{\"$ext\": 3, \"v\": \"1900-03-01\"}, 1]", 0, &got));
			CHECK_STR("[[{\"$ext\":3,\"v\":\"1900-03-01\"}]]", got);
			free(got);
		}
		/* the result header's types: the metadata column's wire form, a CAST's target type */
		TEST_CASE("types/header");
		ath_result *hr = NULL;
		ath_buf hs = mp("{\"k\": \"select\", \"columns\": [[\"col\", \"ath_ty_numeric\", \"v\"], [\"col\", \"ath_ty_datetime_tz\", \"v\"], "
				"[\"cast\", [\"col\", \"ath_ty_numeric\", \"id\"], [\"String\", 12]]], \"from\": [[\"table\", \"ath_ty_numeric\"], [\"table\", \"ath_ty_datetime_tz\"]]}"),
		       hb = ATH_BUF_INIT;
		CHECK_INT(ATH_OK, ath_conn_execute(&hr, c, hs.ptr, hs.size, NULL, 0));
		CHECK_INT(ATH_OK, ath_result_header(&hb, hr));
		json_t *h = jsonwire_from_msgpack(hb.ptr, hb.size, NULL, 0);
		json_t *cols = json_object_get(h, "columns");
		char *ht = NULL;
		for (size_t k = 0; k < json_array_size(cols); k++) {
			char *one = json_dumps(json_object_get(json_array_get(cols, k), "type"), JSON_COMPACT | JSON_ENCODE_ANY);
			size_t len = ht ? strlen(ht) : 0;
			ht = realloc(ht, len + strlen(one) + 2);
			snprintf(ht + len, strlen(one) + 2, "%s%s", len ? " " : "", one);
			free(one);
		}
		CHECK_STR("[\"Numeric\",38,10] [\"DateTime\",{\"timezone\":true}] [\"String\",12]", ht);
		free(ht);
		json_decref(h);
		ath_buf_dispose(&hb);
		mp_free(&hs);
		ath_result_close(hr);
		/* every item of an expanding IN, and both BETWEEN bounds, take the column's type */
		TEST_CASE("types/in_between");
		const char *in_shape = "{\"k\": \"select\", \"columns\": [[\"col\", \"ath_ty_date\", \"id\"]], \"from\": [[\"table\", \"ath_ty_date\"]], "
				       "\"where\": [\"in\", [\"col\", \"ath_ty_date\", \"v\"], [\"expanding\", 0]], \"order_by\": [[\"col\", \"ath_ty_date\", \"id\"]]}";
		CHECK_INT(ATH_OK, run(c, in_shape, "[[" D("2024-02-29") ", " D("9999-12-31") "]]", 0, &got));
		CHECK_STR("[[2],[3]]", got);
		free(got);
		got = NULL;
		CHECK(run(c, in_shape, "[[" D("2024-02-29") ", 7]]", 0, NULL) < 0);
		CHECK_CONTAINS(ath_error_last()->message, "column ath_ty_date.v: expected a date (ext 3), got int");
		CHECK_INT(ATH_OK, run(c, "{\"k\": \"select\", \"columns\": [[\"col\", \"ath_ty_date\", \"id\"]], \"from\": [[\"table\", \"ath_ty_date\"]], "
				   "\"where\": [\"between\", [\"col\", \"ath_ty_date\", \"v\"], [\"bind\", 0], [\"bind\", 1]]}",
			      "[" D("2000-01-01") ", " D("2100-01-01") "]", 0, &got));
		CHECK_STR("[[2]]", got);
		free(got);
		/* binds inside functions, arithmetic and upsert SET values take the column they meet */
		TEST_CASE("types/fn_arith_upsert");
		const char *fn_shape = "{\"k\": \"select\", \"columns\": [[\"col\", \"ath_ty_date\", \"id\"]], \"from\": [[\"table\", \"ath_ty_date\"]], "
				       "\"where\": [\"=\", [\"fn\", \"coalesce\", [[\"col\", \"ath_ty_date\", \"v\"], [\"bind\", 0]]], [\"bind\", 1]]}";
		check_rows(c, fn_shape, "[" D("1970-01-01") ", " D("2024-02-29") "]", "[[2]]");
		check_data_error(c, fn_shape, "[7, " D("2024-02-29") "]", "column ath_ty_date.v: expected a date (ext 3), got int");
		const char *arith_shape = "{\"k\": \"select\", \"columns\": [[\"col\", \"ath_ty_integer\", \"id\"]], \"from\": [[\"table\", \"ath_ty_integer\"]], "
					  "\"where\": [\"=\", [\"+\", [\"col\", \"ath_ty_integer\", \"v\"], [\"bind\", 0]], [\"bind\", 1]]}";
		check_rows(c, arith_shape, "[1, 1]", "[[1]]");
		check_rows(c, arith_shape, "[0.5, 0.5]", "[[1]]"); /* int_col + 0.5 binds a float */
		check_data_error(c, arith_shape, "[\"1\", 1]", "column ath_ty_integer.v: expected an integer, got str");
		check_data_error(c, "{\"k\": \"select\", \"columns\": [[\"*\", [\"col\", \"ath_ty_numeric\", \"v\"], [\"bind\", 0]]], "
				    "\"from\": [[\"table\", \"ath_ty_numeric\"]]}", "[\"2\"]",
				 "column ath_ty_numeric.v: expected a decimal (ext 2), int or finite float, got str");
		const char *upsert_shape = "{\"k\": \"insert\", \"table\": [\"table\", \"ath_ty_date\"], \"columns\": [\"id\", \"v\"], "
					   "\"values\": [[[\"bind\", 0], [\"bind\", 1]]], \"on_conflict\": {\"target\": [\"id\"], \"do\": \"update\", "
					   "\"set\": [[\"v\", [\"bind\", 2]]]}}";
		CHECK_INT(ATH_OK, run(c, upsert_shape, "[2, " D("2024-02-29") ", " D("2024-03-01") "]", 0, NULL));
		check_rows(c, in_shape, "[[" D("2024-03-01") "]]", "[[2]]");
		check_data_error(c, upsert_shape, "[2, " D("2024-02-29") ", 7]", "column ath_ty_date.v: expected a date (ext 3), got int");
		wrong_types(c, bi, mask);
		ath_conn_rollback(c);
		ath_conn_close(c);
		CHECK_INT(ATH_OK, ath_engine_drop_all(e, md, 0));
	}
	ath_engine_free(e);
	ath_metadata_free(md);
	return test_exit();
}
