/* test_create_all.c — ath_engine_create_all / drop_all on a real backend: a schema with foreign
 * keys in both orders, a cycle, indexes, an enum, comments, defaults, a computed column; a row
 * inserted and read back; checkfirst making a second create_all a no-op; drop_all leaving no table
 * behind (checked in the catalog). `test_create_all [sqlite|postgresql|mysql]`: the servers read
 * ATHANOR_TEST_PG_URL / ATHANOR_TEST_MYSQL_URL and exit 77 without it unless
 * ATHANOR_TEST_REQUIRE_SERVERS=1. */
#include <athanor/athanor.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "test.h"
#include "wirejson.h"

#define SPEC \
	"{\"k\": \"metadata\", \"tables\": [" \
	"{\"name\": \"ath_addr\", \"columns\": [{\"name\": \"id\", \"type\": [\"Integer\"], \"primary_key\": true}," \
	" {\"name\": \"user_id\", \"type\": [\"Integer\"], \"index\": true}]," \
	" \"constraints\": [{\"k\": \"foreign_key\", \"columns\": [\"user_id\"], \"ref_table\": \"ath_user\", \"ref_columns\": [\"id\"], \"ondelete\": \"CASCADE\"}]}," \
	"{\"name\": \"ath_user\", \"comment\": \"people\", \"columns\": [{\"name\": \"id\", \"type\": [\"Integer\"], \"primary_key\": true}," \
	" {\"name\": \"name\", \"type\": [\"String\", 40], \"nullable\": false, \"unique\": true, \"comment\": \"login\"}," \
	" {\"name\": \"mood\", \"type\": [\"Enum\", [\"sad\", \"ok\"], {\"name\": \"ath_mood\"}], \"server_default\": [\"lit\", \"ok\"]}," \
	" {\"name\": \"n\", \"type\": [\"Integer\"], \"server_default\": [\"text\", \"0\"]}," \
	" {\"name\": \"twice\", \"type\": [\"Integer\"], \"computed\": {\"sql\": [\"*\", [\"col\", \"n\"], [\"lit\", 2]]}}]," \
	" \"indexes\": [{\"name\": \"ix_ath_user_lower\", \"columns\": [%s]}]}," \
	"{\"name\": \"ath_a\", \"columns\": [{\"name\": \"id\", \"type\": [\"Integer\"], \"primary_key\": true}, {\"name\": \"b_id\", \"type\": [\"Integer\"]}]," \
	" \"constraints\": [{\"k\": \"foreign_key\", \"name\": \"fk_ath_a_b\", \"columns\": [\"b_id\"], \"ref_table\": \"ath_b\", \"ref_columns\": [\"id\"]}]}," \
	"{\"name\": \"ath_b\", \"columns\": [{\"name\": \"id\", \"type\": [\"Integer\"], \"primary_key\": true}, {\"name\": \"a_id\", \"type\": [\"Integer\"]}]," \
	" \"constraints\": [{\"k\": \"foreign_key\", \"name\": \"fk_ath_b_a\", \"columns\": [\"a_id\"], \"ref_table\": \"ath_a\", \"ref_columns\": [\"id\"]}]}]}"

static const struct {
	const char *name, *env, *leftover;
} backends[] = {
	{ "sqlite", NULL, "SELECT name FROM sqlite_master WHERE name LIKE 'ath!_%' ESCAPE '!'" },
	{ "postgresql", "ATHANOR_TEST_PG_URL",
	  "SELECT relname FROM pg_class WHERE relname LIKE 'ath!_%' ESCAPE '!' UNION ALL SELECT typname FROM pg_type WHERE typname = 'ath_mood'" },
	{ "mysql", "ATHANOR_TEST_MYSQL_URL",
	  "SELECT TABLE_NAME FROM information_schema.TABLES WHERE TABLE_SCHEMA = DATABASE() AND TABLE_NAME LIKE 'ath!_%' ESCAPE '!'" },
};

static char *query(ath_conn *c, const char *shape, const char *params)
{
	ath_buf s = mp("%s", shape), p = ATH_BUF_INIT, rows = ATH_BUF_INIT;
	if (params)
		p = mp("%s", params);
	ath_result *r = NULL;
	char *out;
	if (ath_conn_execute(&r, c, s.ptr, s.size, params ? p.ptr : NULL, p.size) != ATH_OK)
		out = strdup(ath_error_last()->message);
	else if (!ath_result_returns_rows(r))
		out = strdup("(no rows)");
	else
		out = ath_result_fetch_all(&rows, r) == ATH_OK ? as_json(rows.ptr, rows.size) : strdup(ath_error_last()->message);
	ath_result_close(r);
	ath_buf_dispose(&rows);
	mp_free(&s);
	mp_free(&p);
	return out;
}

int main(int argc, char **argv)
{
	const char *which = argc > 1 ? argv[1] : "sqlite";
	size_t bi = 0;
	while (bi < 3 && strcmp(backends[bi].name, which) != 0)
		bi++;
	if (bi == 3)
		return 2;
	const char *url = "sqlite:///test_create_all.db";
	if (backends[bi].env) {
		int rc = test_server_url(backends[bi].env, &url);
		if (rc)
			return rc;
	} else {
		remove("test_create_all.db");
	}
	TEST_CASE(which);
	/* MariaDB has no functional indexes (MySQL >= 8.0.13 has; SQLAlchemy renders the same DDL) */
	ath_buf spec = mp(SPEC, bi == 2 ? "\"n\"" : "[\"fn\", \"lower\", [[\"col\", \"name\"]]]");
	ath_metadata *md = NULL;
	ath_engine *e = NULL;
	ath_conn *c = NULL;
	if (ath_metadata_create(&md, spec.ptr, spec.size) != ATH_OK || ath_engine_create(&e, url, NULL) != ATH_OK) {
		fprintf(stderr, "setup: %s\n", ath_error_last()->message);
		return 1;
	}
	mp_free(&spec);
	/* leftovers of an interrupted run */
	ath_engine_drop_all(e, md, 0);
	int rc = ath_engine_create_all(e, md, 0);
	if (rc != ATH_OK)
		fprintf(stderr, "create_all: %s\n", ath_error_last()->message);
	CHECK_INT(ATH_OK, rc);
	CHECK_INT(ATH_OK, ath_engine_create_all(e, md, 0)); /* checkfirst: nothing left to create */
	CHECK(ath_engine_create_all(e, md, ATH_DDL_NO_CHECKFIRST) < 0);
	CHECK(ath_engine_connect(&c, e) == ATH_OK);
	char *got = query(c, "{\"k\": \"insert\", \"table\": [\"table\", \"ath_user\"], \"columns\": [\"name\", \"n\"], \"values\": [[[\"bind\", 0], [\"bind\", 1]]]}",
			  "[\"ann\", 21]");
	free(got);
	got = query(c, "{\"k\": \"select\", \"columns\": [[\"col\", \"ath_user\", \"name\"], [\"col\", \"ath_user\", \"mood\"], [\"col\", \"ath_user\", \"twice\"]], \"from\": [[\"table\", \"ath_user\"]]}", NULL);
	CHECK_STR("[[\"ann\",\"ok\",42]]", got);
	free(got);
	ath_conn_commit(c);
	ath_conn_close(c);
	rc = ath_engine_drop_all(e, md, 0);
	if (rc != ATH_OK)
		fprintf(stderr, "drop_all: %s\n", ath_error_last()->message);
	CHECK_INT(ATH_OK, rc);
	CHECK_INT(ATH_OK, ath_engine_drop_all(e, md, 0)); /* checkfirst: nothing left to drop */
	CHECK(ath_engine_connect(&c, e) == ATH_OK);
	char shape[512];
	snprintf(shape, sizeof shape, "{\"k\": \"text\", \"sql\": \"%s\"}", backends[bi].leftover);
	got = query(c, shape, NULL);
	CHECK_STR("[]", got);
	free(got);
	ath_conn_close(c);
	ath_engine_free(e);
	ath_metadata_free(md);
	return test_exit();
}
