/* fuzz_api.c — bytes as a sequence of C API calls on in-memory SQLite engines: create and free
 * engines (early, while connections live), connect, execute and executemany from a small table of
 * shapes, fetch, begin / savepoint / commit / rollback through connections and transaction
 * handles, close results and connections out of order, stats. Handle lifetimes and the
 * transaction state machine: any sequence must end without a crash, a leak or UB, whatever the
 * calls return. Only the harness's own shapes run (text SQL on memory databases only). */
#include <athanor/athanor.h>
#include <stdint.h>
#include <stdlib.h>

#include "minijson.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static const char *const shapes_json[] = {
	"{\"k\": \"text\", \"sql\": \"CREATE TABLE IF NOT EXISTS t (id INTEGER PRIMARY KEY, name TEXT)\"}",
	"{\"k\": \"insert\", \"table\": [\"table\", \"t\"], \"columns\": [\"id\", \"name\"], "
	"\"values\": [[[\"bind\", 0], [\"bind\", 1]]]}",
	"{\"k\": \"select\", \"columns\": [[\"col\", \"t\", \"id\"], [\"col\", \"t\", \"name\"]], "
	"\"order_by\": [[\"col\", \"t\", \"id\"]]}",
	"{\"k\": \"select\", \"columns\": [[\"fn\", \"count\", []]], \"from\": [[\"table\", \"t\"]]}",
	"{\"k\": \"delete\", \"table\": [\"table\", \"t\"], \"where\": [\">\", [\"col\", \"t\", \"id\"], [\"bind\", 0]]}",
	"{\"k\": \"update\", \"table\": [\"table\", \"t\"], \"set\": [[\"name\", [\"bind\", 1]]], "
	"\"where\": [\"=\", [\"col\", \"t\", \"id\"], [\"bind\", 0]]}",
	"{\"k\": \"text\", \"sql\": \"DROP TABLE IF EXISTS t\"}",
	"{\"k\": \"select\", \"columns\": [[\"col\", \"nope\", \"x\"]]}",
	"{\"k\": \"text\", \"sql\": \"WITH RECURSIVE c(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM c WHERE x < 50) "
	"SELECT x FROM c\"}",
};
#define NSHAPES (sizeof shapes_json / sizeof *shapes_json)
#define NCONN 3
#define NRES 3
#define NTXN 3

static unsigned char shapes[NSHAPES][MJ_MAX];
static size_t shape_len[NSHAPES];

typedef struct cursor {
	const uint8_t *p;
	size_t n;
} cursor;

static unsigned next(cursor *c)
{
	if (!c->n)
		return 0;
	c->n--;
	return *c->p++;
}

/* params [id, name] from a byte: small ids collide on purpose (IntegrityError) */
static size_t params_of(unsigned char *out, unsigned v)
{
	size_t o = 0;
	out[o++] = 0x92;
	out[o++] = (unsigned char)(v & 0x1f);
	if (v & 0x80) {
		out[o++] = 0xc0;
	} else {
		out[o++] = 0xa2, out[o++] = 'n', out[o++] = (unsigned char)('a' + (v & 0x1f));
	}
	return o;
}

static void rows_of(unsigned char *out, size_t *len, unsigned first, unsigned count)
{
	size_t o = 0;
	count = count % 15 + 1;
	out[o++] = (unsigned char)(0x90 | count);
	for (unsigned i = 0; i < count; i++)
		o += params_of(out + o, first + i);
	*len = o;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const char *const levels[] = { "AUTOCOMMIT", "SERIALIZABLE", "READ UNCOMMITTED", "NOPE" };
	if (!shape_len[0])
		for (size_t i = 0; i < NSHAPES; i++)
			shape_len[i] = mj_encode(shapes[i], shapes_json[i]);
	cursor c = { data, size };
	ath_engine *e = NULL;
	ath_conn *conns[NCONN] = { 0 };
	ath_result *res[NRES] = { 0 };
	ath_txn *txns[NTXN] = { 0 };
	ath_buf b = ATH_BUF_INIT;
	unsigned char params[256];
	size_t plen;
	for (int steps = 0; c.n && steps < 200; steps++) {
		unsigned op = next(&c) % 20, a = next(&c);
		ath_conn **cn = &conns[a % NCONN];
		ath_result **rs = &res[(a >> 2) % NRES];
		ath_txn **tx = &txns[(a >> 4) % NTXN];
		unsigned k = (a >> 3) % NSHAPES;
		switch (op) {
		case 0:
			if (!e) {
				ath_engine_options o = ATH_ENGINE_OPTIONS_INIT;
				o.pool_class = a % 5;
				o.pool_size = a >> 6;
				o.flags = a & 0x20 ? ATH_ENGINE_STREAM_RESULTS : 0;
				o.stmt_cache_size = a & 0x10 ? 1 : 0;
				o.pool_timeout_ms = 1;
				if (ath_engine_create(&e, "sqlite://", &o))
					e = NULL;
			}
			break;
		case 1:
			if (e && !*cn && ath_engine_connect(cn, e))
				*cn = NULL;
			break;
		case 2:
		case 3:
			if (*cn) {
				ath_result_close(*rs);
				*rs = NULL;
				plen = params_of(params, next(&c));
				if (ath_conn_execute(rs, *cn, shapes[k], shape_len[k], params, plen))
					*rs = NULL;
			}
			break;
		case 4:
			if (*cn) {
				ath_result_close(*rs);
				*rs = NULL;
				rows_of(params, &plen, next(&c), next(&c));
				if (ath_conn_executemany_v2(rs, *cn, shapes[k], shape_len[k], params, plen,
							    a & 0x80 ? ATH_EXEC_RETURN_DEFAULTS : 0))
					*rs = NULL;
			}
			break;
		case 5:
			if (*rs)
				ath_result_fetch(&b, *rs, next(&c) % 8);
			break;
		case 6:
			if (*rs) {
				ath_result_header(&b, *rs);
				for (size_t i = 0; i <= ath_result_column_count(*rs); i++)
					ath_result_column_name(*rs, i);
				ath_result_rowcount(*rs);
				ath_result_lastrowid(*rs);
				ath_result_returns_rows(*rs);
				ath_result_inserted_primary_key(&b, *rs);
			}
			break;
		case 7:
			if (*rs)
				ath_result_fetch_all(&b, *rs);
			break;
		case 8:
			if (*cn && !*tx && ath_conn_begin(tx, *cn))
				*tx = NULL;
			break;
		case 9:
			if (*cn && !*tx && ath_conn_begin_nested(tx, *cn))
				*tx = NULL;
			break;
		case 10:
			if (*tx)
				ath_txn_commit(*tx);
			break;
		case 11:
			if (*tx)
				ath_txn_rollback(*tx);
			break;
		case 12:
			if (*tx && ath_txn_is_active(*tx))
				ath_txn_xid(*tx);
			ath_txn_free(*tx);
			*tx = NULL;
			break;
		case 13:
			if (*cn)
				ath_conn_commit(*cn);
			break;
		case 14:
			if (*cn)
				ath_conn_rollback(*cn);
			break;
		case 15:
			ath_result_close(*rs);
			*rs = NULL;
			break;
		case 16:
			ath_conn_close(*cn);
			*cn = NULL;
			break;
		case 17:
			ath_engine_free(e); /* early: live connections keep it */
			e = NULL;
			break;
		case 18:
			if (*cn) {
				ath_conn_set_isolation_level(*cn, levels[a % 4]);
				ath_conn_in_transaction(*cn);
			}
			break;
		default:
			if (e)
				ath_engine_stats(&b, e);
			break;
		}
	}
	/* teardown in an input-chosen order too: results, transactions, connections, engine */
	unsigned order = next(&c);
	if (order & 1)
		ath_engine_free(e), e = NULL;
	if (order & 2)
		for (int i = 0; i < NCONN; i++)
			ath_conn_close(conns[i]), conns[i] = NULL;
	for (int i = 0; i < NTXN; i++)
		ath_txn_free(txns[i]);
	for (int i = 0; i < NRES; i++)
		ath_result_close(res[i]);
	for (int i = 0; i < NCONN; i++)
		ath_conn_close(conns[i]);
	ath_engine_free(e);
	ath_buf_dispose(&b);
	return 0;
}
