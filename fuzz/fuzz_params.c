/* fuzz_params.c — parameter binding and rendering: a fixed set of statement shapes against an
 * in-memory SQLite table, with arbitrary bytes as the parameters. The first byte picks the shape
 * and how it runs (execute, executemany, executemany_v2 with ATH_EXEC_RETURN_DEFAULTS, or
 * ath_compile() for every dialect with the values rendered); the rest is the msgpack params array
 * (or array of rows). Any input must end in rows or a clean error; the table is rolled back after
 * each input. The shapes are the harness's own: no raw SQL comes from the input. */
#include <athanor/athanor.h>
#include <stdint.h>
#include <stdlib.h>

#include "minijson.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static const char *const shapes_json[] = {
	"{\"k\": \"select\", \"columns\": [[\"col\", \"t\", \"id\"], [\"col\", \"t\", \"name\"]], \"where\": "
	"[\"and\", [\"=\", [\"col\", \"t\", \"id\"], [\"bind\", 0]], [\"=\", [\"col\", \"t\", \"name\"], [\"bind\", 1]]]}",
	"{\"k\": \"insert\", \"table\": [\"table\", \"t\"], \"columns\": [\"id\", \"name\", \"n\", \"x\", \"b\"], "
	"\"values\": [[[\"bind\", 0], [\"bind\", 1], [\"bind\", 2], [\"bind\", 3], [\"bind\", 4]]]}",
	"{\"k\": \"insert\", \"table\": [\"table\", \"t\"], \"columns\": [\"name\", \"n\"], "
	"\"values\": [[[\"bind\", 0], [\"bind\", 1]]], \"returning\": [[\"col\", \"t\", \"id\"], [\"col\", \"t\", \"n\"]]}",
	"{\"k\": \"select\", \"columns\": [[\"col\", \"t\", \"name\"]], \"where\": "
	"[\"in\", [\"col\", \"t\", \"id\"], [\"expanding\", 0]]}",
	"{\"k\": \"select\", \"columns\": [[\"col\", \"t\", \"name\"]], \"where\": [\"and\", "
	"[\"not_in\", [\"col\", \"t\", \"n\"], [\"expanding\", 1]], [\"like\", [\"col\", \"t\", \"name\"], [\"bind\", 0]]]}",
	"{\"k\": \"update\", \"table\": [\"table\", \"t\"], \"set\": [[\"name\", [\"bind\", 0]], [\"x\", [\"bind\", 1]]], "
	"\"where\": [\">\", [\"col\", \"t\", \"n\"], [\"bind\", 2]]}",
	"{\"k\": \"delete\", \"table\": [\"table\", \"t\"], \"where\": [\"=\", [\"col\", \"t\", \"b\"], [\"bind\", 0]]}",
	"{\"k\": \"select\", \"columns\": [[\"col\", \"t\", \"id\"]], \"order_by\": [[\"col\", \"t\", \"id\"]], "
	"\"limit\": [\"bind\", 0], \"offset\": [\"bind\", 1]}",
	"{\"k\": \"text\", \"sql\": \"SELECT :a, :b, :a\", \"binds\": {\"a\": [\"bind\", 0], \"b\": [\"bind\", 1]}}",
	"{\"k\": \"select\", \"columns\": [[\"bind\", 0], [\"cast\", [\"bind\", 1], [\"Integer\"]], "
	"[\"+\", [\"bind\", 2], [\"col\", \"t\", \"n\"]]], \"from\": [[\"table\", \"t\"]]}",
};
#define NSHAPES (sizeof shapes_json / sizeof *shapes_json)

static ath_engine *engine;
static ath_conn *conn;
static unsigned char shapes[NSHAPES][MJ_MAX];
static size_t shape_len[NSHAPES];

static void run_sql(const char *json)
{
	unsigned char s[MJ_MAX];
	size_t n = mj_encode(s, json);
	ath_result *r;
	if (ath_conn_execute(&r, conn, s, n, NULL, 0))
		abort();
	ath_result_close(r);
}

static void setup(void)
{
	if (ath_engine_create(&engine, "sqlite://", NULL) || ath_engine_connect(&conn, engine))
		abort();
	run_sql("{\"k\": \"text\", \"sql\": \"CREATE TABLE t (id INTEGER PRIMARY KEY, name TEXT, n INT, x REAL, b BLOB)\"}");
	run_sql("{\"k\": \"text\", \"sql\": \"INSERT INTO t VALUES (1, 'a', 1, 1.5, x'00'), (2, 'b', NULL, NULL, NULL)\"}");
	if (ath_conn_commit(conn))
		abort();
	for (size_t i = 0; i < NSHAPES; i++)
		shape_len[i] = mj_encode(shapes[i], shapes_json[i]);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const char *const dialects[] = { "sqlite", "postgresql", "mysql", "mariadb" };
	if (!engine)
		setup();
	if (size < 1)
		return 0;
	size_t k = data[0] % NSHAPES;
	unsigned mode = (unsigned)(data[0] / NSHAPES) % 4;
	const uint8_t *p = data + 1;
	size_t plen = size - 1;
	ath_result *r = NULL;
	ath_buf b = ATH_BUF_INIT;
	int rc;
	switch (mode) {
	case 0:
		rc = ath_conn_execute(&r, conn, shapes[k], shape_len[k], p, plen);
		break;
	case 1:
		rc = ath_conn_executemany(&r, conn, shapes[k], shape_len[k], p, plen);
		break;
	case 2:
		rc = ath_conn_executemany_v2(&r, conn, shapes[k], shape_len[k], p, plen, ATH_EXEC_RETURN_DEFAULTS);
		break;
	default:
		for (size_t d = 0; d < sizeof dialects / sizeof *dialects; d++)
			ath_compile(&b, dialects[d], shapes[k], shape_len[k], p, plen);
		rc = ATH_ERROR;
		break;
	}
	if (rc == ATH_OK) {
		while (ath_result_fetch(&b, r, 3) == ATH_OK)
			;
		ath_result_inserted_primary_key(&b, r);
		ath_result_inserted_primary_key_rows(&b, r);
		ath_result_rowcount(r);
		ath_result_close(r);
	}
	ath_conn_rollback(conn); /* keep the table as it was */
	ath_buf_dispose(&b);
	return 0;
}
