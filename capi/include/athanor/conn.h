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
 * commits on its own and nothing is begun implicitly. ath_conn_begin_twophase() begins a
 * two-phase (XA) transaction: PostgreSQL PREPARE TRANSACTION, MySQL/MariaDB XA; SQLite has none.
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
 * Execute one statement once per parameter row (DBAPI executemany) inside the current
 * transaction (autobegun when needed). rowcount is the total.
 *
 * How the rows travel (SQLAlchemy 2.0's "insertmanyvalues" and do_executemany):
 * - an INSERT ... VALUES with RETURNING (and on MySQL/MariaDB any plain INSERT ... VALUES) is sent
 *   as multi-row INSERT ... VALUES (...), (...) of up to 1000 rows per statement, fewer when the
 *   backend's parameter limit requires (SQLite 32766, PostgreSQL and MySQL 65535). The RETURNING
 *   rows of every batch are buffered and fetched with ath_result_fetch() in input order (the
 *   backend's order for a multi-row VALUES, which PostgreSQL and SQLite keep in practice);
 * - on PostgreSQL, inside a transaction, other statements are pipelined (libpq pipeline mode,
 *   one round trip per 1000 rows);
 * - otherwise one prepared statement runs once per row.
 * A failure names the row (or batch of rows) in the message and leaves the transaction for the
 * caller to roll back. ath_result_inserted_primary_key() is nil for executemany; for every row's
 * key use ath_conn_executemany_v2() with ATH_EXEC_RETURN_DEFAULTS.
 * @param params_rows msgpack array of arrays; borrowed for the call.
 * @param[out] out owned; release with ath_result_close().
 * @return as ath_conn_execute(); ArgumentError for an empty array or expanding parameters.
 */
ATH_EXTERN(int) ath_conn_executemany(ath_result **out, ath_conn *conn, const void *shape, size_t shape_len,
				     const void *params_rows, size_t params_rows_len);

/** ath_conn_executemany_v2() flag: learn the primary key of every inserted row, for
 *  ath_result_inserted_primary_key_rows() (SQLAlchemy 2.0's Insert.return_defaults() with
 *  executemany, filled through insertmanyvalues). */
#define ATH_EXEC_RETURN_DEFAULTS 0x1u

/**
 * ath_conn_executemany() with `flags` (ATH_EXEC_* bits; 0 behaves exactly as
 * ath_conn_executemany()).
 *
 * ATH_EXEC_RETURN_DEFAULTS, for an INSERT with one VALUES row (or DEFAULT VALUES): the result
 * keeps each row's primary key, read with ath_result_inserted_primary_key_rows(). How the keys
 * are learnt:
 * - when every row supplies every key column (non-null), from the rows themselves; the rows
 *   travel as with ath_conn_executemany();
 * - on SQLite, PostgreSQL and MariaDB (the "mariadb" dialect), the insertmanyvalues batches end
 *   with RETURNING of the key columns (for a plain INSERT ... VALUES, without an upsert clause or
 *   RETURNING of its own);
 * - otherwise (MySQL, which has no RETURNING, an upsert, a statement with RETURNING) one execute
 *   per row, the generated part from lastrowid as for a single-row INSERT (SQLAlchemy's fallback
 *   without RETURNING): a round trip per row. Only an autoincrement / rowid / SERIAL column that
 *   is the whole key is generated this way; other generated key parts are nil.
 * The flag does nothing for other statements (inserted_primary_key_rows is then nil).
 * @param[out] out owned; release with ath_result_close().
 * @return as ath_conn_executemany(); ATH_EINVALID (ArgumentError) for an unknown flag bit.
 */
ATH_EXTERN(int) ath_conn_executemany_v2(ath_result **out, ath_conn *conn, const void *shape, size_t shape_len,
					const void *params_rows, size_t params_rows_len, uint32_t flags);

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
 * Begin a two-phase transaction (SQLAlchemy's Connection.begin_twophase()): PostgreSQL BEGIN,
 * later PREPARE TRANSACTION 'xid'; MySQL/MariaDB XA START 'xid'. End it with ath_txn_prepare()
 * then ath_txn_commit() / ath_txn_rollback() (or commit/rollback without preparing).
 * @param[out] out owned; release with ath_txn_free(). Freeing it (or closing the connection)
 *             while it is prepared leaves it prepared on the server, for
 *             ath_conn_recover_twophase(); the driver connection is then not reused.
 * @param xid the transaction id, 1 to 64 characters of A-Z a-z 0-9 _ - . : @ / + =, copied;
 *            NULL = generated as "_sa_" + 32 random hex digits (read it with ath_txn_xid()).
 * @return ATH_OK; ATH_ERROR with NotSupportedError on SQLite; ATH_EINVALID with ArgumentError
 *         for a bad xid; ATH_EMISUSE with InvalidRequestError when a transaction is already
 *         begun (autobegun included); ATH_ERROR with the driver's class when the server refuses
 *         (PostgreSQL needs max_prepared_transactions > 0 at prepare time).
 */
ATH_EXTERN(int) ath_conn_begin_twophase(ath_txn **out, ath_conn *conn, const char *xid);

/**
 * The xids of the prepared transactions the server holds, as a msgpack array of strings
 * (PostgreSQL: this database's, from pg_prepared_xacts; MySQL: XA RECOVER). Finish each with
 * ath_conn_commit_prepared() or ath_conn_rollback_prepared(), from any connection.
 * @param[out] out replaced; dispose with ath_buf_dispose().
 * @return ATH_OK; ATH_ERROR with NotSupportedError on SQLite, or the driver's class.
 */
ATH_EXTERN(int) ath_conn_recover_twophase(ath_buf *out, ath_conn *conn);

/**
 * COMMIT PREPARED 'xid' (MySQL: XA COMMIT 'xid') for a transaction prepared earlier, possibly by
 * a connection since closed (SQLAlchemy's commit_prepared(xid, recover=True)). Runs outside any
 * transaction: commit or roll back this connection's own transaction first.
 * @param xid borrowed for the call.
 * @return ATH_OK; ATH_EMISUSE while this connection has a transaction; ATH_EINVALID for a bad
 *         xid; ATH_ERROR with NotSupportedError on SQLite, or the driver's class (an unknown xid is
 *         PostgreSQL's UndefinedObject 42704 / MySQL's XAER_NOTA 1397). A connection lost during
 *         it is an OperationalError with ATH_ERROR_DISCONNECT and ATH_ERROR_UNKNOWN_OUTCOME, as for
 *         ath_conn_commit(): the transaction may be committed, or still prepared (listed by
 *         ath_conn_recover_twophase(), to commit again).
 */
ATH_EXTERN(int) ath_conn_commit_prepared(ath_conn *conn, const char *xid);

/** ROLLBACK PREPARED 'xid' (MySQL: XA ROLLBACK 'xid'); as ath_conn_commit_prepared(). */
ATH_EXTERN(int) ath_conn_rollback_prepared(ath_conn *conn, const char *xid);

/**
 * Release the caller's connection: roll back what was not committed and return it to the
 * pool. Open results keep it alive until they are closed. NULL is fine.
 */
ATH_EXTERN(void) ath_conn_close(ath_conn *conn);

/** Commit the transaction (RELEASE for a savepoint). Committing an outer transaction ends its inner ones. */
ATH_EXTERN(int) ath_txn_commit(ath_txn *txn);
/** Roll back the transaction (ROLLBACK TO SAVEPOINT for a savepoint). */
ATH_EXTERN(int) ath_txn_rollback(ath_txn *txn);
/**
 * Prepare a two-phase transaction (PostgreSQL PREPARE TRANSACTION, MySQL XA END + XA PREPARE):
 * afterwards ath_txn_commit() / ath_txn_rollback() finish it with COMMIT / ROLLBACK PREPARED, and
 * the connection refuses other statements until then.
 * @return ATH_OK; ATH_EMISUSE with InvalidRequestError when the transaction is not two-phase,
 *         inactive, already prepared or has an open savepoint; ATH_ERROR with the driver's class.
 */
ATH_EXTERN(int) ath_txn_prepare(ath_txn *txn);
/**
 * The xid of a two-phase transaction.
 * @return borrowed; valid until ath_txn_free(txn); NULL for other transactions or a bad handle.
 */
ATH_EXTERN(const char *) ath_txn_xid(const ath_txn *txn);
/** 1 while the transaction can still be committed or rolled back, else 0. */
ATH_EXTERN(int) ath_txn_is_active(const ath_txn *txn);
/** Release the handle; rolls the transaction back first if it is still active. NULL is fine. */
ATH_EXTERN(void) ath_txn_free(ath_txn *txn);

ATH_END_DECL

#endif
