/* test_reflect.c — reflection round trip on a real backend: a schema spec with every construct
 * the backend supports (types of each kind, nullability, server defaults, autoincrement / identity,
 * computed columns, composite and self-referencing foreign keys with ON DELETE / ON UPDATE, unique
 * and check constraints, plain / unique / functional / partial indexes, comments, enums) goes
 * through create_all, ath_reflect_spec() reads it back, both specs are normalised as
 * docs/schema-spec.md "Reflection" documents and must be equal; ath_metadata_reflect() builds a
 * metadata from the database; drop_all leaves no table (or sequence) the Inspector can see. On
 * SQLite also the shape of every Inspector result. `test_reflect [sqlite|postgresql|mysql]`;
 * servers from ATHANOR_TEST_PG_URL / ATHANOR_TEST_MYSQL_URL, 77 without unless
 * ATHANOR_TEST_REQUIRE_SERVERS=1. */
#include <athanor/athanor.h>
#include <ctype.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "test.h"
#include "wirejson.h"

enum { SQLITE, PG, MYSQL };

#define COMMON_TABLES \
	"{\"name\": \"rf_parent\", \"comment\": \"parents\", \"columns\": [" \
	" {\"name\": \"id\", \"type\": [\"Integer\"], \"primary_key\": true, \"autoincrement\": false}," \
	" {\"name\": \"code\", \"type\": [\"String\", 10], \"nullable\": false, \"comment\": \"the code\"}]," \
	" \"constraints\": [{\"k\": \"unique\", \"name\": \"uq_rf_parent_code\", \"columns\": [\"code\"]}," \
	"  {\"k\": \"check\", \"name\": \"ck_rf_parent_id\", \"sql\": [\"text\", \"id > 0\"]}]}," \
	"{\"name\": \"rf_pair\", \"columns\": [{\"name\": \"a\", \"type\": [\"Integer\"]}, {\"name\": \"b\", \"type\": [\"String\", 5]}]," \
	" \"constraints\": [{\"k\": \"primary_key\", \"columns\": [\"a\", \"b\"]}]}," \
	"{\"name\": \"rf_child\", \"columns\": [" \
	" {\"name\": \"id\", \"type\": [\"Integer\"], \"primary_key\": true}," \
	" {\"name\": \"parent_id\", \"type\": [\"Integer\"], \"nullable\": false}," \
	" {\"name\": \"self_id\", \"type\": [\"Integer\"]}," \
	" {\"name\": \"pa\", \"type\": [\"Integer\"]}, {\"name\": \"pb\", \"type\": [\"String\", 5]}," \
	" {\"name\": \"n\", \"type\": [\"Integer\"], \"server_default\": [\"text\", \"0\"]}," \
	" {\"name\": \"label\", \"type\": [\"String\", 20], \"server_default\": [\"lit\", \"x\"]}," \
	" {\"name\": \"mood\", \"type\": [\"Enum\", [\"sad\", \"ok\"], {\"name\": \"rf_mood\"}], \"server_default\": [\"lit\", \"ok\"]}," \
	" {\"name\": \"flag\", \"type\": [\"Boolean\"]}, {\"name\": \"price\", \"type\": [\"Numeric\", 10, 2]}," \
	" {\"name\": \"ratio\", \"type\": [\"Float\"]}, {\"name\": \"big\", \"type\": [\"BigInteger\"]}," \
	" {\"name\": \"small\", \"type\": [\"SmallInteger\"]}, {\"name\": \"body\", \"type\": [\"Text\"]}," \
	" {\"name\": \"born\", \"type\": [\"Date\"]}, {\"name\": \"at\", \"type\": [\"DateTime\"]}," \
	" {\"name\": \"at_tz\", \"type\": [\"DateTime\", {\"timezone\": true}]}, {\"name\": \"t\", \"type\": [\"Time\"]}," \
	" {\"name\": \"bin\", \"type\": [\"LargeBinary\"]}, {\"name\": \"doc\", \"type\": [\"JSON\"]}," \
	" {\"name\": \"twice\", \"type\": [\"Integer\"], \"computed\": {\"sql\": [\"text\", \"n * 2\"], \"persisted\": true}, \"comment\": \"n doubled\"}]," \
	" \"constraints\": [" \
	"  {\"k\": \"foreign_key\", \"name\": \"fk_rf_child_parent\", \"columns\": [\"parent_id\"], \"ref_table\": \"rf_parent\", \"ref_columns\": [\"id\"], \"ondelete\": \"CASCADE\"}," \
	"  {\"k\": \"foreign_key\", \"name\": \"fk_rf_child_self\", \"columns\": [\"self_id\"], \"ref_table\": \"rf_child\", \"ref_columns\": [\"id\"], \"ondelete\": \"SET NULL\"}," \
	"  {\"k\": \"foreign_key\", \"name\": \"fk_rf_child_pair\", \"columns\": [\"pa\", \"pb\"], \"ref_table\": \"rf_pair\", \"ref_columns\": [\"a\", \"b\"], \"onupdate\": \"CASCADE\"}," \
	"  {\"k\": \"check\", \"name\": \"ck_rf_child_n\", \"sql\": [\"text\", \"n >= 0\"]}]," \
	" \"indexes\": [{\"name\": \"ix_rf_child_n\", \"columns\": [\"n\"]}," \
	"  {\"name\": \"ix_rf_child_label_n\", \"columns\": [\"label\", \"n\"], \"unique\": true}%s]}"

/* functional + partial indexes (not MySQL: MariaDB has neither) */
#define FANCY_INDEXES \
	", {\"name\": \"ix_rf_child_lower\", \"columns\": [[\"text\", \"lower(label)\"]]}," \
	" {\"name\": \"ix_rf_child_partial\", \"columns\": [\"small\"], \"where\": [\"text\", \"n > 5\"]}"

#define PG_TABLES \
	", {\"name\": \"rf_ident\", \"comment\": \"identity\", \"columns\": [" \
	" {\"name\": \"id\", \"type\": [\"Integer\"], \"primary_key\": true, \"identity\": {\"start\": 10, \"increment\": 5}}," \
	" {\"name\": \"data\", \"type\": [\"postgresql.JSONB\"]}, {\"name\": \"tags\", \"type\": [\"ARRAY\", [\"Integer\"]]}," \
	" {\"name\": \"u\", \"type\": [\"UUID\"]}, {\"name\": \"iv\", \"type\": [\"Interval\"]}," \
	" {\"name\": \"seqd\", \"type\": [\"BigInteger\"], \"sequence\": {\"name\": \"rf_seq\"}}]}"

#define MYSQL_TABLES \
	", {\"name\": \"rf_my\", \"columns\": [" \
	" {\"name\": \"id\", \"type\": [\"BigInteger\"], \"primary_key\": true}," \
	" {\"name\": \"tiny\", \"type\": [\"mysql.TINYINT\", 1]}, {\"name\": \"e\", \"type\": [\"Enum\", [\"a\", \"b\"]]}]}"

static const struct {
	const char *name, *env;
} backends[] = { { "sqlite", NULL }, { "postgresql", "ATHANOR_TEST_PG_URL" }, { "mysql", "ATHANOR_TEST_MYSQL_URL" } };

/* ---- normalisation (docs/schema-spec.md "Reflection") ---------------------------------------- */

static int be;

/* SQL text compared without case, blanks, quotes, parentheses and PostgreSQL casts */
static char *canon_sql(const char *s)
{
	size_t n = strlen(s);
	char *o = malloc(n + 1), *p = o;
	for (size_t i = 0; i < n; i++) {
		if (s[i] == ':' && s[i + 1] == ':') { /* ::type or ::"type" */
			i += 2;
			while (i < n && (isalnum((unsigned char)s[i]) || s[i] == '_' || s[i] == '"' ||
					 (s[i] == ' ' && i + 1 < n && isalpha((unsigned char)s[i + 1]) &&
					  strncmp(s + i + 1, "AND", 3) && strncmp(s + i + 1, "OR", 2))))
				i++;
			i--;
			continue;
		}
		if (isspace((unsigned char)s[i]) || strchr("\"`()", s[i]))
			continue;
		*p++ = (char)tolower((unsigned char)s[i]);
	}
	*p = 0;
	return o;
}

static json_t *canon_expr(json_t *e)
{
	if (!json_is_array(e))
		return json_null();
	const char *k = json_string_value(json_array_get(e, 0));
	json_t *v = json_array_get(e, 1);
	char buf[512];
	if (k && strcmp(k, "lit") == 0 && json_is_string(v))
		snprintf(buf, sizeof buf, "'%s'", json_string_value(v));
	else if (k && strcmp(k, "lit") == 0 && json_is_integer(v))
		snprintf(buf, sizeof buf, "%lld", (long long)json_integer_value(v));
	else if (json_is_string(v))
		snprintf(buf, sizeof buf, "%s", json_string_value(v));
	else
		return json_string("?");
	char *c = canon_sql(buf);
	json_t *r = json_string(c);
	free(c);
	return r;
}

static json_t *canon_type(json_t *t)
{
	const char *n = json_string_value(json_array_get(t, 0));
	json_t *r = json_deep_copy(t);
	if (!n)
		return r;
	json_t *last = json_array_get(r, json_array_size(r) - 1);
	if (strcmp(n, "Enum") == 0 && be != PG && json_is_object(last))
		json_array_remove(r, json_array_size(r) - 1); /* only PostgreSQL's ENUM has a name */
	if (strcmp(n, "DateTime") == 0 && be != PG && json_is_object(last))
		json_array_remove(r, json_array_size(r) - 1); /* DATETIME has no time zone */
	if (be == SQLITE && strcmp(n, "Enum") == 0) { /* VARCHAR(longest value) */
		size_t len = 0, i;
		json_t *v;
		json_array_foreach(json_array_get(t, 1), i, v) if (strlen(json_string_value(v)) > len) len = strlen(json_string_value(v));
		json_decref(r);
		return json_pack("[sI]", "String", (json_int_t)len);
	}
	if (be == MYSQL && strcmp(n, "Boolean") == 0) { /* BOOL is TINYINT(1) */
		json_decref(r);
		return json_pack("[si]", "mysql.TINYINT", 1);
	}
	if (be == PG && strcmp(n, "Float") == 0 && json_array_size(t) == 1) { /* FLOAT is double precision */
		json_decref(r);
		return json_pack("[s]", "Double");
	}
	return r;
}

static json_t *sorted_by_name(json_t *arr)
{
	/* insertion sort by "name" */
	size_t n = json_array_size(arr);
	for (size_t i = 1; i < n; i++)
		for (size_t j = i; j > 0; j--) {
			const char *a = json_string_value(json_object_get(json_array_get(arr, j - 1), "name"));
			const char *b = json_string_value(json_object_get(json_array_get(arr, j), "name"));
			if (strcmp(a ? a : "", b ? b : "") <= 0)
				break;
			json_t *x = json_incref(json_array_get(arr, j - 1));
			json_array_set(arr, j - 1, json_array_get(arr, j));
			json_array_set_new(arr, j, x);
		}
	return arr;
}

static bool in_list(json_t *list, const char *s)
{
	size_t i;
	json_t *v;
	json_array_foreach(list, i, v) if (json_is_string(v) && strcmp(json_string_value(v), s) == 0) return true;
	return false;
}

static json_t *norm_table(json_t *t, bool reflected)
{
	json_t *out = json_object(), *cols = json_array(), *pk = json_array(), *fks = json_array(), *uqs = json_array(),
	       *cks = json_array(), *ixs = json_array();
	size_t i;
	json_t *c, *k;
	json_array_foreach(json_object_get(t, "constraints"), i, k) if (strcmp(json_string_value(json_object_get(k, "k")), "primary_key") == 0)
		json_array_extend(pk, json_object_get(k, "columns"));
	json_array_foreach(json_object_get(t, "columns"), i, c) if (json_is_true(json_object_get(c, "primary_key")))
		json_array_append_new(pk, json_string(json_string_value(json_object_get(c, "name"))));
	json_array_foreach(json_object_get(t, "columns"), i, c) {
		const char *name = json_string_value(json_object_get(c, "name"));
		json_t *nc = json_object();
		json_object_set_new(nc, "name", json_string(name));
		json_object_set_new(nc, "type", canon_type(json_object_get(c, "type")));
		json_t *nl = json_object_get(c, "nullable");
		json_object_set_new(nc, "nullable", json_boolean(nl ? json_is_true(nl) : !in_list(pk, name)));
		if (in_list(pk, name))
			json_object_set_new(nc, "nullable", json_false());
		json_t *d = json_object_get(c, "server_default");
		if (d)
			json_object_set_new(nc, "default", canon_expr(d));
		json_t *cm = json_object_get(c, "computed");
		if (cm)
			json_object_set_new(nc, "computed", canon_expr(json_object_get(cm, "sql")));
		if (be != SQLITE && json_object_get(c, "comment") && !json_is_null(json_object_get(c, "comment")))
			json_object_set(nc, "comment", json_object_get(c, "comment"));
		json_t *id = json_object_get(c, "identity");
		if (id && be == PG)
			json_object_set_new(nc, "identity", json_pack("{sO*sO*}", "start", json_object_get(id, "start"),
								      "increment", json_object_get(id, "increment")));
		/* autoincrement: compared where the catalog tells it (not SQLite's rowid alias) */
		if (be != SQLITE && !id) {
			json_t *ai = json_object_get(c, "autoincrement");
			const char *tn = json_string_value(json_array_get(json_object_get(c, "type"), 0));
			bool on = reflected ? json_is_true(ai)
					    : json_array_size(pk) == 1 && in_list(pk, name) && !json_is_false(ai) &&
						      (strcmp(tn, "Integer") == 0 || strcmp(tn, "BigInteger") == 0);
			if (on)
				json_object_set_new(nc, "autoincrement", json_true());
		}
		json_array_append_new(cols, nc);
	}
	json_array_foreach(json_object_get(t, "constraints"), i, k) {
		const char *kind = json_string_value(json_object_get(k, "k"));
		json_t *n = json_deep_copy(k);
		json_object_del(n, "k");
		if (strcmp(kind, "foreign_key") == 0) {
			json_array_append_new(fks, n);
		} else if (strcmp(kind, "unique") == 0) {
			json_array_append_new(uqs, n);
		} else if (strcmp(kind, "check") == 0) {
			json_object_set_new(n, "sql", canon_expr(json_object_get(k, "sql")));
			json_array_append_new(cks, n);
		} else {
			json_decref(n);
		}
	}
	json_array_foreach(json_object_get(t, "indexes"), i, k) {
		const char *name = json_string_value(json_object_get(k, "name"));
		bool dup = false;
		size_t j;
		json_t *f;
		json_array_foreach(fks, j, f) dup |= be == MYSQL && strcmp(json_string_value(json_object_get(f, "name")), name) == 0;
		if (dup) /* MySQL's index behind a foreign key */
			continue;
		if (be == MYSQL && json_is_true(json_object_get(k, "unique"))) { /* a unique index is a unique constraint */
			json_array_append_new(uqs, json_pack("{sssO}", "name", name, "columns", json_object_get(k, "columns")));
			continue;
		}
		json_t *n = json_object(), *items = json_array(), *it;
		json_object_set_new(n, "name", json_string(name));
		json_array_foreach(json_object_get(k, "columns"), j, it) json_array_append_new(items, json_is_string(it) ? json_incref(it) : canon_expr(it));
		json_object_set_new(n, "columns", items);
		json_object_set_new(n, "unique", json_boolean(json_is_true(json_object_get(k, "unique"))));
		if (json_object_get(k, "where"))
			json_object_set_new(n, "where", canon_expr(json_object_get(k, "where")));
		json_array_append_new(ixs, n);
	}
	json_object_set(out, "name", json_object_get(t, "name"));
	if (be != SQLITE)
		json_object_set(out, "comment", json_object_get(t, "comment") ? json_object_get(t, "comment") : json_null());
	json_object_set_new(out, "columns", cols);
	json_object_set_new(out, "pk", pk);
	json_object_set_new(out, "fks", sorted_by_name(fks));
	json_object_set_new(out, "uniques", sorted_by_name(uqs));
	json_object_set_new(out, "checks", sorted_by_name(cks));
	json_object_set_new(out, "indexes", sorted_by_name(ixs));
	return out;
}

static json_t *norm_spec(json_t *spec, bool reflected)
{
	json_t *out = json_array(), *t;
	size_t i;
	json_array_foreach(json_object_get(spec, "tables"), i, t) {
		const char *name = json_string_value(json_object_get(t, "name"));
		if (strncmp(name, "rf_", 3) == 0)
			json_array_append_new(out, norm_table(t, reflected));
	}
	return sorted_by_name(out);
}

/* ---- helpers ---------------------------------------------------------------------------------- */

static json_t *inspect(ath_engine *e, ath_inspect_kind what, const char *table)
{
	ath_buf b = ATH_BUF_INIT;
	char err[256];
	if (ath_engine_inspect(&b, e, what, NULL, table) != ATH_OK) {
		fprintf(stderr, "inspect %d %s: %s\n", (int)what, table ? table : "", ath_error_last()->message);
		return NULL;
	}
	json_t *j = jsonwire_from_msgpack(b.ptr, b.size, err, sizeof err);
	ath_buf_dispose(&b);
	return j;
}

static char *dumps(const json_t *j) { return json_dumps(j, JSON_COMPACT | JSON_ENCODE_ANY | JSON_SORT_KEYS); }

static void check_json(const char *what, const json_t *got, const char *want)
{
	char *g = dumps(got);
	test_checks++;
	if (!g || strcmp(g, want) != 0) {
		test_failures++;
		fprintf(stderr, "FAIL %s\n  want %s\n  got  %s\n", what, want, g ? g : "(null)");
	}
	free(g);
}

static int count_rf(json_t *names)
{
	int n = 0;
	size_t i;
	json_t *v;
	json_array_foreach(names, i, v) n += strncmp(json_string_value(v), "rf_", 3) == 0;
	return n;
}

/* The Inspector's shapes on SQLite (SQLAlchemy's dict keys). */
static void inspector_shapes(ath_engine *e)
{
	json_t *j;
	TEST_CASE("inspector shapes");
	check_json("pk", j = inspect(e, ATH_INSPECT_PK_CONSTRAINT, "rf_pair"), "{\"constrained_columns\":[\"a\",\"b\"],\"name\":null}");
	json_decref(j);
	j = inspect(e, ATH_INSPECT_COLUMNS, "rf_parent");
	check_json("columns", j,
		   "[{\"autoincrement\":\"auto\",\"comment\":null,\"default\":null,\"name\":\"id\",\"nullable\":false,\"type\":[\"Integer\"]},"
		   "{\"autoincrement\":\"auto\",\"comment\":null,\"default\":null,\"name\":\"code\",\"nullable\":false,\"type\":[\"String\",10]}]");
	json_decref(j);
	j = inspect(e, ATH_INSPECT_FOREIGN_KEYS, "rf_child");
	check_json("fk[0]", json_array_get(sorted_by_name(j), 0),
		   "{\"constrained_columns\":[\"pa\",\"pb\"],\"name\":\"fk_rf_child_pair\",\"options\":{\"onupdate\":\"CASCADE\"},"
		   "\"referred_columns\":[\"a\",\"b\"],\"referred_schema\":null,\"referred_table\":\"rf_pair\"}");
	json_decref(j);
	j = inspect(e, ATH_INSPECT_INDEXES, "rf_child");
	check_json("indexes", sorted_by_name(j),
		   "[{\"column_names\":[\"label\",\"n\"],\"name\":\"ix_rf_child_label_n\",\"unique\":true},"
		   "{\"column_names\":[null],\"expressions\":[\"lower(label)\"],\"name\":\"ix_rf_child_lower\",\"unique\":false},"
		   "{\"column_names\":[\"n\"],\"name\":\"ix_rf_child_n\",\"unique\":false},"
		   "{\"column_names\":[\"small\"],\"dialect_options\":{\"sqlite_where\":\"n > 5\"},\"name\":\"ix_rf_child_partial\",\"unique\":false}]");
	json_decref(j);
	check_json("uniques", j = inspect(e, ATH_INSPECT_UNIQUE_CONSTRAINTS, "rf_parent"),
		   "[{\"column_names\":[\"code\"],\"name\":\"uq_rf_parent_code\"}]");
	json_decref(j);
	check_json("checks", j = inspect(e, ATH_INSPECT_CHECK_CONSTRAINTS, "rf_parent"), "[{\"name\":\"ck_rf_parent_id\",\"sqltext\":\"id > 0\"}]");
	json_decref(j);
	check_json("comment", j = inspect(e, ATH_INSPECT_TABLE_COMMENT, "rf_parent"), "{\"text\":null}");
	json_decref(j);
	j = inspect(e, ATH_INSPECT_COLUMNS, "rf_child");
	check_json("computed", json_object_get(json_array_get(j, json_array_size(j) - 1), "computed"),
		   "{\"persisted\":true,\"sqltext\":\"n * 2\"}");
	json_decref(j);
	check_json("schemas", j = inspect(e, ATH_INSPECT_SCHEMA_NAMES, NULL), "[\"main\"]");
	json_decref(j);
	check_json("default schema", j = inspect(e, ATH_INSPECT_DEFAULT_SCHEMA_NAME, NULL), "\"main\"");
	json_decref(j);
	check_json("views", j = inspect(e, ATH_INSPECT_VIEW_NAMES, NULL), "[]");
	json_decref(j);
	ath_buf b = ATH_BUF_INIT;
	CHECK(ath_engine_inspect(&b, e, ATH_INSPECT_COLUMNS, NULL, "rf_nope") == ATH_ENOTFOUND);
	CHECK_STR("NoSuchTableError", ath_error_class_name(ath_error_last()->klass));
	CHECK(ath_error_class_is(ath_error_last()->klass, ATH_ERRCLASS_INVALID_REQUEST_ERROR));
	CHECK_CONTAINS(ath_error_last()->message, "rf_nope");
	CHECK(ath_engine_inspect(&b, e, ATH_INSPECT_COLUMNS, NULL, NULL) == ATH_EINVALID);
	CHECK(ath_engine_inspect(&b, e, (ath_inspect_kind)99, NULL, NULL) == ATH_EINVALID);
	ath_buf_dispose(&b);
}

int main(int argc, char **argv)
{
	const char *which = argc > 1 ? argv[1] : "sqlite";
	for (be = 0; be < 3 && strcmp(backends[be].name, which) != 0; be++)
		;
	if (be == 3)
		return 2;
	const char *url = "sqlite:///test_reflect.db";
	if (backends[be].env) {
		int rc = test_server_url(backends[be].env, &url);
		if (rc)
			return rc;
	} else {
		remove("test_reflect.db");
	}
	TEST_CASE(which);
	ath_buf spec = mp("{\"k\": \"metadata\", \"tables\": [" COMMON_TABLES "%s]}", be == MYSQL ? "" : FANCY_INDEXES,
			  be == PG ? PG_TABLES : be == MYSQL ? MYSQL_TABLES : "");
	ath_metadata *md = NULL, *rmd = NULL;
	ath_engine *e = NULL;
	CHECK(ath_metadata_create(&md, spec.ptr, spec.size) == ATH_OK);
	CHECK(ath_engine_create(&e, url, NULL) == ATH_OK);
	if (!md || !e) {
		fprintf(stderr, "%s\n", ath_error_last()->message);
		return 1;
	}
	ath_engine_drop_all(e, md, 0); /* leftovers of an earlier run */
	if (ath_engine_create_all(e, md, 0) != ATH_OK) {
		fprintf(stderr, "create_all: %s\n%s\n", ath_error_last()->message, ath_error_last()->sql ? ath_error_last()->sql : "");
		return 1;
	}

	/* round trip */
	ath_buf refl = ATH_BUF_INIT;
	char err[256];
	CHECK(ath_reflect_spec(&refl, e, NULL) == ATH_OK);
	json_t *in = jsonwire_from_msgpack(spec.ptr, spec.size, err, sizeof err);
	json_t *out = jsonwire_from_msgpack(refl.ptr, refl.size, err, sizeof err);
	json_t *nin = norm_spec(in, false), *nout = out ? norm_spec(out, true) : json_array();
	for (size_t i = 0; i < json_array_size(nin) || i < json_array_size(nout); i++) {
		char *a = dumps(json_array_get(nin, i)), *b = dumps(json_array_get(nout, i));
		TEST_CASE("round trip");
		test_checks++;
		if (!a || !b || strcmp(a, b) != 0) {
			test_failures++;
			fprintf(stderr, "FAIL round trip table %zu\n  spec      %s\n  reflected %s\n", i, a ? a : "-", b ? b : "-");
		}
		free(a);
		free(b);
	}
	if (getenv("ATHANOR_TEST_VERBOSE")) {
		char *s = json_dumps(out, JSON_INDENT(1));
		fprintf(stderr, "%s\n", s);
		free(s);
	}

	/* the reflected spec builds a metadata; ath_metadata_reflect does the same */
	ath_metadata *m2 = NULL;
	int rc = ath_metadata_create(&m2, refl.ptr, refl.size);
	if (rc)
		fprintf(stderr, "reflected spec: %s\n", ath_error_last()->message);
	CHECK(rc == ATH_OK);
	ath_metadata_free(m2);
	CHECK(ath_metadata_reflect(&rmd, e, NULL, 0) == ATH_OK);
	CHECK(rmd && ath_metadata_table_count(rmd) >= json_array_size(nin));
	/* the reflected metadata's normalised spec builds a metadata with the same spec */
	TEST_CASE("reflected metadata spec round trip");
	ath_buf s1 = ATH_BUF_INIT, s2 = ATH_BUF_INIT;
	ath_metadata *m3 = NULL;
	CHECK(rmd && ath_metadata_spec(&s1, rmd) == ATH_OK);
	rc = ath_metadata_create(&m3, s1.ptr, s1.size);
	if (rc)
		fprintf(stderr, "normalised spec: %s\n", ath_error_last()->message);
	CHECK(rc == ATH_OK && ath_metadata_spec(&s2, m3) == ATH_OK);
	CHECK(s1.size > 0 && s1.size == s2.size && memcmp(s1.ptr, s2.ptr, s1.size) == 0);
	ath_metadata_free(m3);
	ath_buf_dispose(&s1);
	ath_buf_dispose(&s2);
	if (be == SQLITE)
		inspector_shapes(e);

	/* views: listed by VIEW_NAMES, defined by VIEW_DEFINITION, never in the reflected spec */
	TEST_CASE("view definition");
	ath_conn *vc = NULL;
	CHECK(ath_engine_connect(&vc, e) == ATH_OK);
	ath_buf vs = mp("{\"k\": \"text\", \"sql\": \"CREATE VIEW rf_view AS SELECT id, code FROM rf_parent WHERE id > 7\"}");
	ath_result *vr = NULL;
	CHECK(vc && ath_conn_execute(&vr, vc, vs.ptr, vs.size, NULL, 0) == ATH_OK && ath_conn_commit(vc) == ATH_OK);
	ath_result_close(vr);
	mp_free(&vs);
	json_t *views = inspect(e, ATH_INSPECT_VIEW_NAMES, NULL);
	check_json("view names", views, "[\"rf_view\"]");
	json_decref(views);
	json_t *vdef = inspect(e, ATH_INSPECT_VIEW_DEFINITION, "rf_view");
	const char *def = json_string_value(vdef);
	if (getenv("ATHANOR_TEST_VERBOSE"))
		fprintf(stderr, "view definition: %s\n", def ? def : "(none)");
	CHECK(def != NULL);
	CHECK_CONTAINS(def ? def : "", "rf_parent");
	CHECK_CONTAINS(def ? def : "", "> 7");
	if (be == SQLITE) /* sqlite_master's text, as SQLAlchemy returns it */
		CHECK_STR("CREATE VIEW rf_view AS SELECT id, code FROM rf_parent WHERE id > 7", def);
	json_decref(vdef);
	ath_buf vb = ATH_BUF_INIT;
	CHECK(ath_engine_inspect(&vb, e, ATH_INSPECT_VIEW_DEFINITION, NULL, "rf_parent") == ATH_ENOTFOUND);
	CHECK_STR("NoSuchTableError", ath_error_class_name(ath_error_last()->klass));
	CHECK(ath_engine_inspect(&vb, e, ATH_INSPECT_VIEW_DEFINITION, NULL, "rf_nope") == ATH_ENOTFOUND);
	CHECK_CONTAINS(ath_error_last()->message, "rf_nope");
	CHECK(ath_engine_inspect(&vb, e, ATH_INSPECT_VIEW_DEFINITION, NULL, NULL) == ATH_EINVALID);
	CHECK_CONTAINS(ath_error_last()->message, "needs a view name");
	CHECK(ath_reflect_spec(&vb, e, NULL) == ATH_OK);
	json_t *vspec = jsonwire_from_msgpack(vb.ptr, vb.size, err, sizeof err);
	char *vtext = dumps(vspec);
	CHECK(vtext && strstr(vtext, "rf_view") == NULL);
	free(vtext);
	json_decref(vspec);
	ath_buf_dispose(&vb);
	vs = mp("{\"k\": \"text\", \"sql\": \"DROP VIEW rf_view\"}");
	CHECK(vc && ath_conn_execute(&vr, vc, vs.ptr, vs.size, NULL, 0) == ATH_OK && ath_conn_commit(vc) == ATH_OK);
	ath_result_close(vr);
	mp_free(&vs);
	ath_conn_close(vc);

	/* drop_all leaves nothing behind */
	TEST_CASE("drop_all");
	CHECK(ath_engine_drop_all(e, md, 0) == ATH_OK);
	json_t *tables = inspect(e, ATH_INSPECT_TABLE_NAMES, NULL), *seqs = inspect(e, ATH_INSPECT_SEQUENCE_NAMES, NULL);
	CHECK(tables && count_rf(tables) == 0);
	CHECK(seqs && count_rf(seqs) == 0);
	json_decref(tables);
	json_decref(seqs);

	json_decref(in);
	json_decref(out);
	json_decref(nin);
	json_decref(nout);
	ath_buf_dispose(&refl);
	mp_free(&spec);
	ath_metadata_free(rmd);
	ath_metadata_free(md);
	ath_engine_free(e);
	return test_exit();
}
