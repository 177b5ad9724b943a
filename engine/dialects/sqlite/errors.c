/* sqlite/errors.c — SQLite result codes to SQLAlchemy error classes, as pysqlite maps them
 * (Modules/_sqlite/util.c) and SQLAlchemy then wraps them. Primary code = extended & 0xff. */
#include <sqlite3.h>

#include "errors.h"

ath_error_class ath_sqlite__error_class(int extended)
{
	switch (extended & 0xff) {
	case SQLITE_INTERNAL:
	case SQLITE_NOTFOUND: return ATH_ERRCLASS_INTERNAL_ERROR;
	case SQLITE_NOMEM: return ATH_ERRCLASS_OUT_OF_MEMORY_ERROR;
	case SQLITE_ERROR:
	case SQLITE_PERM:
	case SQLITE_ABORT:
	case SQLITE_BUSY:
	case SQLITE_LOCKED:
	case SQLITE_READONLY:
	case SQLITE_INTERRUPT:
	case SQLITE_IOERR:
	case SQLITE_FULL:
	case SQLITE_CANTOPEN:
	case SQLITE_PROTOCOL:
	case SQLITE_EMPTY:
	case SQLITE_SCHEMA: return ATH_ERRCLASS_OPERATIONAL_ERROR;
	case SQLITE_CORRUPT: return ATH_ERRCLASS_DATABASE_ERROR;
	case SQLITE_TOOBIG: return ATH_ERRCLASS_DATA_ERROR;
	case SQLITE_CONSTRAINT:
	case SQLITE_MISMATCH: return ATH_ERRCLASS_INTEGRITY_ERROR;
	case SQLITE_MISUSE:
	case SQLITE_RANGE: return ATH_ERRCLASS_INTERFACE_ERROR;
	default: return ATH_ERRCLASS_DATABASE_ERROR;
	}
}

int ath_sqlite__error(ath_err *err, sqlite3 *db, int rc)
{
	int extended = db ? sqlite3_extended_errcode(db) : rc;
	if ((extended & 0xff) != (rc & 0xff))
		extended = rc;
	int code = ATH_ERROR;
	if ((rc & 0xff) == SQLITE_BUSY || (rc & 0xff) == SQLITE_LOCKED)
		code = ATH_EBUSY;
	else if ((rc & 0xff) == SQLITE_NOMEM)
		code = ATH_ENOMEM;
	const char *msg = db ? sqlite3_errmsg(db) : sqlite3_errstr(rc);
	ath_err__set(err, code, ath_sqlite__error_class(extended), "(sqlite3) %s", msg ? msg : sqlite3_errstr(rc));
	err->native_code = extended;
	return code;
}
