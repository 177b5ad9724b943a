/**
 * @file athanor/conn.h
 * @brief Connections and transactions: executing statements given as msgpack.
 *
 * A statement crosses as two msgpack values: the shape (the tree, values replaced by
 * ["bind", i] placeholders; see docs/wire-format.md) and the params (an array; params[i] is
 * the value of ["bind", i]). Equal shapes share one compiled statement and, per connection,
 * one prepared statement.
 *
 * Transactions follow SQLAlchemy 2.0: the first statement outside a transaction begins one
 * implicitly ("autobegin"); ath_conn_commit()/ath_conn_rollback() end it; closing a connection
 * rolls back what was not committed. ath_conn_begin() makes the transaction explicit, and
 * ath_conn_begin_nested() opens a SAVEPOINT. With isolation level "AUTOCOMMIT" every statement
 * commits on its own and nothing is begun implicitly.
 *
 * Thread-safety: a connection, its transactions and results are used by one thread at a time.
 */
#ifndef ATHANOR_CONN_H
#define ATHANOR_CONN_H

#include "common.h"
#include "types.h"

ATH_BEGIN_DECL

/**
 * Execute one statement.
 * @param[out] out owned; release with ath_result_close(). Rows are read with ath_result_fetch().
 * @param shape msgpack statement shape; borrowed for the call.
 * @param params msgpack array of values, or NULL/0 for none; borrowed for the call.
 * @return ATH_OK; ATH_EINVALID (WireFormatError, ArgumentError) for bad input;
 *         ATH_ERROR with CompileError/NotSupportedError, or the driver's class
 *         (IntegrityError, OperationalError, ProgrammingError, ...) with SQLSTATE and SQL;
 *         ATH_EMISUSE for a closed connection.
 */
ATH_EXTERN(int) ath_conn_execute(ath_result **out, ath_conn *conn, const void *shape, size_t shape_len,
				 const void *params, size_t params_len);

/**
 * Execute one statement once per parameter row (DBAPI executemany), reusing one prepared
 * statement, inside the current transaction (autobegun when needed). rowcount is the total.
 * @param params_rows msgpack array of arrays.
 * @param[out] out owned; release with ath_result_close().
 */
ATH_EXTERN(int) ath_conn_executemany(ath_result **out, ath_conn *conn, const void *shape, size_t shape_len,
				     const void *params_rows, size_t params_rows_len);

/** Commit the connection's transaction (implicit or explicit), if any. */
ATH_EXTERN(int) ath_conn_commit(ath_conn *conn);
/** Roll back the connection's transaction (implicit or explicit), if any. */
ATH_EXTERN(int) ath_conn_rollback(ath_conn *conn);
/** 1 when a transaction is in progress on the connection, else 0. */
ATH_EXTERN(int) ath_conn_in_transaction(const ath_conn *conn);

/**
 * Set the isolation level for the connection's next transactions ("AUTOCOMMIT",
 * "SERIALIZABLE", "READ UNCOMMITTED", ...; the backend decides which exist). Fails with
 * InvalidRequestError while a transaction is in progress. The level is reset when the
 * connection returns to the pool.
 */
ATH_EXTERN(int) ath_conn_set_isolation_level(ath_conn *conn, const char *level);

/**
 * Begin an explicit transaction.
 * @param[out] out owned; release with ath_txn_free() (which rolls back if still active).
 * @return ATH_OK; ATH_EMISUSE with InvalidRequestError when a transaction is already begun.
 */
ATH_EXTERN(int) ath_conn_begin(ath_txn **out, ath_conn *conn);

/**
 * Begin a SAVEPOINT inside the current transaction (autobegun when none).
 * @param[out] out owned; release with ath_txn_free().
 */
ATH_EXTERN(int) ath_conn_begin_nested(ath_txn **out, ath_conn *conn);

/**
 * Release the caller's connection: roll back what was not committed and return it to the
 * pool. Open results keep it alive until they are closed. NULL is fine.
 */
ATH_EXTERN(void) ath_conn_close(ath_conn *conn);

/** Commit the transaction (RELEASE for a savepoint). Committing an outer transaction ends its inner ones. */
ATH_EXTERN(int) ath_txn_commit(ath_txn *txn);
/** Roll back the transaction (ROLLBACK TO SAVEPOINT for a savepoint). */
ATH_EXTERN(int) ath_txn_rollback(ath_txn *txn);
/** 1 while the transaction can still be committed or rolled back, else 0. */
ATH_EXTERN(int) ath_txn_is_active(const ath_txn *txn);
/** Release the handle; rolls the transaction back first if it is still active. NULL is fine. */
ATH_EXTERN(void) ath_txn_free(ath_txn *txn);

ATH_END_DECL

#endif
