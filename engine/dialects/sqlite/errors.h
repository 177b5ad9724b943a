/* sqlite/errors.h — SQLite result codes to error classes. */
#ifndef ATH_SQLITE_ERRORS_H
#define ATH_SQLITE_ERRORS_H

#include <sqlite3.h>

#include "util/err.h"

ath_error_class ath_sqlite__error_class(int extended_code);
/* Record the connection's current error (or `rc`'s text when db is NULL); returns the ath_rc. */
int ath_sqlite__error(ath_err *err, sqlite3 *db, int rc);

#endif
