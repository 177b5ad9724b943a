/* test_md_statements.c — statements against a metadata (sql/crud.py's rules and select(table)):
 * compiled without an engine through ath_compile_v2 (table schemas, columns_of, unknown columns,
 * the DDL statement kinds, client-side defaults and onupdate in table column order; without a
 * metadata, columns_of and DDL kinds are CompileErrors), then run on a backend through an engine
 * created with ath_engine_options.metadata: create_all, INSERT with scalar and SQL defaults
 * (execute and executemany), inserted_primary_key from the metadata's key, UPDATE with onupdate,
 * SELECT columns_of, a create_table statement. `test_md_statements [sqlite|postgresql|mysql]`;
 * the servers as test_create_all. Expected SQL matches SQLAlchemy 1.4 (t.insert().compile(
 * column_keys=[...]): a SQL default is self_group()ed, hence "(40 + 2)"), except PostgreSQL's
 * implicit RETURNING of the key, which athanor does not render yet. */
#include <athanor/athanor.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "test.h"
#include "wirejson.h"

#define SPEC \
	"{\"k\": \"metadata\", \"tables\": [" \
	"{\"name\": \"ath_md_item\", \"columns\": [{\"name\": \"id\", \"type\": [\"Integer\"], \"primary_key\": true}," \
	" {\"name\": \"name\", \"type\": [\"String\", 40]}," \
	" {\"name\": \"status\", \"type\": [\"String\", 20], \"default\": [\"lit\", \"new\"]}," \
	" {\"name\": \"k\", \"type\": [\"Integer\"], \"default\": [\"+\", [\"lit\", 40], [\"lit\", 2]]}," \
	" {\"name\": \"rev\", \"type\": [\"Integer\"], \"onupdate\": [\"lit\", 9]}]," \
	" \"indexes\": [{\"name\": \"ix_ath_md_item_name\", \"columns\": [\"name\"]}]}," \
	"{\"name\": \"ath_md_log\", \"schema\": \"audit\", \"columns\": [{\"name\": \"id\", \"type\": [\"Integer\"], \"primary_key\": true}," \
	" {\"name\": \"msg\", \"type\": [\"Text\"]}]}]}"

/* the second table lives in schema "audit": only compiled, never created */
#define RUN_SPEC \
	"{\"k\": \"metadata\", \"tables\": [" \
	"{\"name\": \"ath_md_item\", \"columns\": [{\"name\": \"id\", \"type\": [\"Integer\"], \"primary_key\": true}," \
	" {\"name\": \"name\", \"type\": [\"String\", 40]}," \
	" {\"name\": \"status\", \"type\": [\"String\", 20], \"default\": [\"lit\", \"new\"]}," \
	" {\"name\": \"k\", \"type\": [\"Integer\"], \"default\": [\"+\", [\"lit\", 40], [\"lit\", 2]]}," \
	" {\"name\": \"rev\", \"type\": [\"Integer\"], \"onupdate\": [\"lit\", 9]}]}]}"

#define INSERT "{\"k\": \"insert\", \"table\": [\"table\", \"ath_md_item\"], \"columns\": [\"name\"], \"values\": [[[\"bind\", 0]]]}"
#define UPDATE "{\"k\": \"update\", \"table\": [\"table\", \"ath_md_item\"], \"set\": [[\"name\", [\"bind\", 0]]], " \
	       "\"where\": [\"=\", [\"col\", \"ath_md_item\", \"id\"], [\"bind\", 1]]}"
#define SELECT_ALL "{\"k\": \"select\", \"columns\": [[\"columns_of\", \"ath_md_item\"]], \"order_by\": [[\"col\", \"ath_md_item\", \"id\"]]}"

static const struct compile_case {
	const char *name, *dialect, *stmt, *expected;
} cases[] = {
	{ "columns_of", "sqlite", SELECT_ALL,
	  "SELECT ath_md_item.id, ath_md_item.name, ath_md_item.status, ath_md_item.k, ath_md_item.rev FROM ath_md_item ORDER BY ath_md_item.id" },
	{ "columns_of_alias", "postgresql",
	  "{\"k\": \"select\", \"columns\": [[\"columns_of\", \"i\"]], \"from\": [[\"alias\", [\"table\", \"ath_md_item\"], \"i\"]]}",
	  "SELECT i.id, i.name, i.status, i.k, i.rev FROM ath_md_item AS i" },
	{ "columns_of_schema", "postgresql", "{\"k\": \"select\", \"columns\": [[\"columns_of\", \"ath_md_log\"]]}",
	  "SELECT audit.ath_md_log.id, audit.ath_md_log.msg FROM audit.ath_md_log" },
	{ "columns_of_subquery", "sqlite",
	  "{\"k\": \"select\", \"columns\": [[\"columns_of\", \"s\"]], \"from\": [[\"subquery\", {\"k\": \"select\", \"columns\": "
	  "[[\"col\", \"ath_md_item\", \"id\"], [\"label\", \"n\", [\"col\", \"ath_md_item\", \"name\"]]]}, \"s\"]]}",
	  "SELECT s.id, s.n FROM (SELECT ath_md_item.id, ath_md_item.name AS n FROM ath_md_item) AS s" },
	{ "insert_defaults", "sqlite", INSERT, "INSERT INTO ath_md_item (name, status, k) VALUES (?, ?, (40 + 2))" },
	{ "insert_defaults", "mysql", INSERT, "INSERT INTO ath_md_item (name, status, k) VALUES (?, ?, (40 + 2))" },
	{ "insert_order", "sqlite",
	  "{\"k\": \"insert\", \"table\": [\"table\", \"ath_md_item\"], \"columns\": [\"k\", \"name\"], \"values\": [[[\"bind\", 0], [\"bind\", 1]]]}",
	  "INSERT INTO ath_md_item (name, status, k) VALUES (?, ?, ?)" },
	{ "update_onupdate", "postgresql", UPDATE,
	  "UPDATE ath_md_item SET name=$1, rev=$2 WHERE ath_md_item.id = $3" },
	{ "unknown_column", "sqlite", "{\"k\": \"select\", \"columns\": [[\"col\", \"ath_md_item\", \"nope\"]]}",
	  "CompileError: table 'ath_md_item' has no column 'nope'" },
	{ "unconsumed", "sqlite",
	  "{\"k\": \"insert\", \"table\": [\"table\", \"ath_md_item\"], \"columns\": [\"nope\"], \"values\": [[[\"bind\", 0]]]}",
	  "CompileError: Unconsumed column names: nope (table 'ath_md_item')" },
	{ "create_index", "postgresql", "{\"k\": \"create_index\", \"table\": \"ath_md_item\", \"index\": \"ix_ath_md_item_name\"}",
	  "CREATE INDEX ix_ath_md_item_name ON ath_md_item (name)" },
	{ "drop_table", "mysql", "{\"k\": \"drop_table\", \"table\": \"ath_md_log\", \"if_exists\": true}",
	  "DROP TABLE IF EXISTS audit.ath_md_log" },
	{ "no_index", "sqlite", "{\"k\": \"drop_index\", \"table\": \"ath_md_item\", \"index\": \"nope\"}",
	  "CompileError: drop_index: table 'ath_md_item' has no index named 'nope'" },
};

static char *compile(const char *dialect, const ath_metadata *md, const char *stmt)
{
	ath_buf s = mp("%s", stmt), out = ATH_BUF_INIT;
	ath_compile_options o;
	ath_compile_options_init(&o, ATH_COMPILE_OPTIONS_VERSION);
	o.metadata = md;
	char *r;
	if (ath_compile_v2(&out, dialect, s.ptr, s.size, NULL, 0, &o) != ATH_OK) {
		const ath_error *e = ath_error_last();
		size_t n = strlen(e->message) + 64;
		r = malloc(n);
		snprintf(r, n, "%s: %s", ath_error_class_name(e->klass), e->message);
	} else {
		char *j = field_json(out.ptr, out.size, "sql");
		/* a JSON string: drop the quotes (the expected SQL has no quote or escape in it) */
		size_t n = strlen(j);
		memmove(j, j + 1, n - 2);
		j[n - 2] = '\0';
		r = j;
	}
	ath_buf_dispose(&out);
	mp_free(&s);
	return r;
}

static void compile_cases(void)
{
	ath_buf spec = mp(SPEC);
	ath_metadata *md = NULL;
	CHECK_INT(ATH_OK, ath_metadata_create(&md, spec.ptr, spec.size));
	mp_free(&spec);
	for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
		char name[128];
		snprintf(name, sizeof name, "md_statements/%s/%s", cases[i].name, cases[i].dialect);
		TEST_CASE(name);
		char *got = compile(cases[i].dialect, md, cases[i].stmt);
		CHECK_STR(cases[i].expected, got);
		free(got);
	}
	TEST_CASE("md_statements/no_metadata");
	char *got = compile("sqlite", NULL, SELECT_ALL);
	CHECK_CONTAINS(got, "CompileError: columns_of 'ath_md_item' needs a metadata");
	free(got);
	got = compile("sqlite", NULL, "{\"k\": \"create_table\", \"table\": \"ath_md_item\"}");
	CHECK_CONTAINS(got, "CompileError: a create_table statement needs a metadata");
	free(got);
	got = compile("sqlite", NULL, INSERT); /* names only: as given */
	CHECK_STR("INSERT INTO ath_md_item (name) VALUES (?)", got);
	free(got);
	ath_metadata_free(md);
}

static char *run(ath_conn *c, const char *shape, const char *params, int many, char **pk)
{
	ath_buf s = mp("%s", shape), p = ATH_BUF_INIT, rows = ATH_BUF_INIT, key = ATH_BUF_INIT;
	if (params)
		p = mp("%s", params);
	ath_result *r = NULL;
	char *out;
	int rc = many ? ath_conn_executemany(&r, c, s.ptr, s.size, p.ptr, p.size)
		      : ath_conn_execute(&r, c, s.ptr, s.size, params ? p.ptr : NULL, p.size);
	if (rc != ATH_OK)
		out = strdup(ath_error_last()->message);
	else if (!ath_result_returns_rows(r))
		out = strdup("(no rows)");
	else
		out = ath_result_fetch_all(&rows, r) == ATH_OK ? as_json(rows.ptr, rows.size) : strdup(ath_error_last()->message);
	if (pk)
		*pk = rc == ATH_OK && ath_result_inserted_primary_key(&key, r) == ATH_OK ? as_json(key.ptr, key.size)
											  : strdup("(error)");
	ath_result_close(r);
	ath_buf_dispose(&rows);
	ath_buf_dispose(&key);
	mp_free(&s);
	mp_free(&p);
	return out;
}

static const struct {
	const char *name, *env;
} backends[] = { { "sqlite", NULL }, { "postgresql", "ATHANOR_TEST_PG_URL" }, { "mysql", "ATHANOR_TEST_MYSQL_URL" } };

int main(int argc, char **argv)
{
	const char *which = argc > 1 ? argv[1] : "sqlite";
	size_t bi = 0;
	while (bi < 3 && strcmp(backends[bi].name, which) != 0)
		bi++;
	if (bi == 3)
		return 2;
	if (bi == 0)
		compile_cases();
	const char *url = "sqlite:///test_md_statements.db";
	if (backends[bi].env) {
		int rc = test_server_url(backends[bi].env, &url);
		if (rc)
			return rc;
	} else {
		remove("test_md_statements.db");
	}
	char name[64];
	snprintf(name, sizeof name, "md_statements/run/%s", which);
	TEST_CASE(name);
	ath_buf spec = mp(RUN_SPEC);
	ath_metadata *md = NULL;
	ath_engine *e = NULL;
	ath_conn *c = NULL;
	ath_engine_options o;
	ath_engine_options_init(&o, ATH_ENGINE_OPTIONS_VERSION);
	if (ath_metadata_create(&md, spec.ptr, spec.size) != ATH_OK) {
		fprintf(stderr, "setup: %s\n", ath_error_last()->message);
		return 1;
	}
	o.metadata = md;
	if (ath_engine_create(&e, url, &o) != ATH_OK) {
		fprintf(stderr, "setup: %s\n", ath_error_last()->message);
		return 1;
	}
	mp_free(&spec);
	ath_engine_drop_all(e, md, 0); /* leftovers of an interrupted run */
	ath_metadata_free(md);         /* the engine keeps its reference */
	CHECK_INT(ATH_OK, ath_engine_connect(&c, e));
	char *pk = NULL, *got = run(c, "{\"k\": \"create_table\", \"table\": \"ath_md_item\", \"if_not_exists\": true}", NULL, 0, NULL);
	CHECK_STR("(no rows)", got);
	free(got);
	got = run(c, INSERT, "[\"a\"]", 0, &pk);
	CHECK_STR("(no rows)", got);
	CHECK_STR("[1]", pk);
	free(got);
	free(pk);
	got = run(c, INSERT, "[[\"b\"], [\"c\"]]", 1, NULL);
	CHECK_STR("(no rows)", got);
	free(got);
	got = run(c, UPDATE, "[\"a2\", 1]", 0, NULL);
	CHECK_STR("(no rows)", got);
	free(got);
	got = run(c, SELECT_ALL, NULL, 0, NULL);
	CHECK_STR("[[1,\"a2\",\"new\",42,9],[2,\"b\",\"new\",42,null],[3,\"c\",\"new\",42,null]]", got);
	free(got);
	got = run(c, "{\"k\": \"select\", \"columns\": [[\"col\", \"ath_md_item\", \"nope\"]]}", NULL, 0, NULL);
	CHECK_STR("table 'ath_md_item' has no column 'nope'", got);
	free(got);
	CHECK_INT(ATH_OK, ath_conn_commit(c));
	got = run(c, "{\"k\": \"drop_table\", \"table\": \"ath_md_item\"}", NULL, 0, NULL);
	CHECK_STR("(no rows)", got);
	free(got);
	CHECK_INT(ATH_OK, ath_conn_commit(c));
	ath_conn_close(c);
	ath_engine_free(e);
	return test_exit();
}
