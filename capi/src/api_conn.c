/* api_conn.c — exported connection and transaction functions: validate, call, publish. */
#include "capi.h"

#define CONN_OPEN(conn)                                                                            \
	do {                                                                                       \
		CAPI_CHECK(conn, ATH_MAGIC_CONN, "conn");                                         \
		if ((conn)->closed)                                                                \
			return ath_capi__misuse(ATH_EMISUSE, "%s: the connection is closed", __func__); \
	} while (0)

ATH_EXTERN(int) ath_conn_execute(ath_result **out, ath_conn *conn, const void *shape, size_t shape_len,
				 const void *params, size_t params_len)
{
	if (!out)
		return ath_capi__misuse(ATH_EMISUSE, "ath_conn_execute: out is NULL");
	*out = NULL;
	CONN_OPEN(conn);
	CAPI_CALL(ath_conn__execute(out, conn, shape, shape_len, params, params_len, 0, 0, CAPI_ERR));
}

ATH_EXTERN(int) ath_conn_executemany(ath_result **out, ath_conn *conn, const void *shape, size_t shape_len,
				     const void *params_rows, size_t params_rows_len)
{
	if (!out)
		return ath_capi__misuse(ATH_EMISUSE, "ath_conn_executemany: out is NULL");
	*out = NULL;
	CONN_OPEN(conn);
	CAPI_CALL(ath_conn__execute(out, conn, shape, shape_len, params_rows, params_rows_len, 1, 0, CAPI_ERR));
}

ATH_EXTERN(int) ath_conn_executemany_v2(ath_result **out, ath_conn *conn, const void *shape, size_t shape_len,
					const void *params_rows, size_t params_rows_len, uint32_t flags)
{
	if (!out)
		return ath_capi__misuse(ATH_EMISUSE, "ath_conn_executemany_v2: out is NULL");
	*out = NULL;
	CONN_OPEN(conn);
	CAPI_CALL(ath_conn__execute(out, conn, shape, shape_len, params_rows, params_rows_len, 1, flags, CAPI_ERR));
}

ATH_EXTERN(int) ath_conn_commit(ath_conn *conn)
{
	CONN_OPEN(conn);
	CAPI_CALL(ath_conn__commit(conn, CAPI_ERR));
}

ATH_EXTERN(int) ath_conn_rollback(ath_conn *conn)
{
	CONN_OPEN(conn);
	CAPI_CALL(ath_conn__rollback(conn, CAPI_ERR));
}

ATH_EXTERN(int) ath_conn_in_transaction(const ath_conn *conn)
{
	return conn && conn->magic == ATH_MAGIC_CONN && !conn->closed && conn->top != NULL;
}

ATH_EXTERN(int) ath_conn_set_isolation_level(ath_conn *conn, const char *level)
{
	CONN_OPEN(conn);
	if (!level)
		return ath_capi__misuse(ATH_EMISUSE, "ath_conn_set_isolation_level: level is NULL");
	CAPI_CALL(ath_conn__set_isolation(conn, level, CAPI_ERR));
}

ATH_EXTERN(int) ath_conn_begin(ath_txn **out, ath_conn *conn)
{
	if (!out)
		return ath_capi__misuse(ATH_EMISUSE, "ath_conn_begin: out is NULL");
	*out = NULL;
	CONN_OPEN(conn);
	CAPI_CALL(ath_conn__begin(out, conn, 0, CAPI_ERR));
}

ATH_EXTERN(int) ath_conn_begin_nested(ath_txn **out, ath_conn *conn)
{
	if (!out)
		return ath_capi__misuse(ATH_EMISUSE, "ath_conn_begin_nested: out is NULL");
	*out = NULL;
	CONN_OPEN(conn);
	CAPI_CALL(ath_conn__begin(out, conn, 1, CAPI_ERR));
}

ATH_EXTERN(int) ath_conn_begin_twophase(ath_txn **out, ath_conn *conn, const char *xid)
{
	if (!out)
		return ath_capi__misuse(ATH_EMISUSE, "ath_conn_begin_twophase: out is NULL");
	*out = NULL;
	CONN_OPEN(conn);
	CAPI_CALL(ath_conn__begin_twophase(out, conn, xid, CAPI_ERR));
}

ATH_EXTERN(int) ath_conn_recover_twophase(ath_buf *out, ath_conn *conn)
{
	if (!out)
		return ath_capi__misuse(ATH_EMISUSE, "ath_conn_recover_twophase: out is NULL");
	CONN_OPEN(conn);
	CAPI_CALL(ath_conn__recover_twophase(out, conn, CAPI_ERR));
}

ATH_EXTERN(int) ath_conn_commit_prepared(ath_conn *conn, const char *xid)
{
	CONN_OPEN(conn);
	if (!xid)
		return ath_capi__misuse(ATH_EMISUSE, "ath_conn_commit_prepared: xid is NULL");
	CAPI_CALL(ath_conn__finish_prepared(conn, xid, 1, CAPI_ERR));
}

ATH_EXTERN(int) ath_conn_rollback_prepared(ath_conn *conn, const char *xid)
{
	CONN_OPEN(conn);
	if (!xid)
		return ath_capi__misuse(ATH_EMISUSE, "ath_conn_rollback_prepared: xid is NULL");
	CAPI_CALL(ath_conn__finish_prepared(conn, xid, 0, CAPI_ERR));
}

ATH_EXTERN(void) ath_conn_close(ath_conn *conn)
{
	if (conn && conn->magic == ATH_MAGIC_CONN)
		ath_conn__close(conn);
}

ATH_EXTERN(int) ath_txn_commit(ath_txn *txn)
{
	CAPI_CHECK(txn, ATH_MAGIC_TXN, "txn");
	CAPI_CALL(ath_txn__commit(txn, CAPI_ERR));
}

ATH_EXTERN(int) ath_txn_rollback(ath_txn *txn)
{
	CAPI_CHECK(txn, ATH_MAGIC_TXN, "txn");
	CAPI_CALL(ath_txn__rollback(txn, CAPI_ERR));
}

ATH_EXTERN(int) ath_txn_prepare(ath_txn *txn)
{
	CAPI_CHECK(txn, ATH_MAGIC_TXN, "txn");
	CAPI_CALL(ath_txn__prepare(txn, CAPI_ERR));
}

ATH_EXTERN(const char *) ath_txn_xid(const ath_txn *txn)
{
	return txn && txn->magic == ATH_MAGIC_TXN && txn->twophase ? txn->xid : NULL;
}

ATH_EXTERN(int) ath_txn_is_active(const ath_txn *txn) { return txn && txn->magic == ATH_MAGIC_TXN && txn->active; }

ATH_EXTERN(void) ath_txn_free(ath_txn *txn)
{
	if (txn && txn->magic == ATH_MAGIC_TXN && !txn->released)
		ath_txn__free(txn);
}
