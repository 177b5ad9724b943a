/* postgresql/errors.h — libpq errors (SQLSTATE, connection status) to error classes. */
#ifndef ATH_POSTGRESQL_ERRORS_H
#define ATH_POSTGRESQL_ERRORS_H

#include <libpq-fe.h>

#include "util/err.h"

/* The class for a SQLSTATE (five characters, or NULL/"" when the server gave none). */
ath_error_class ath_pg__error_class(const char *sqlstate);
/* Record the error of `res` (or of the connection when res is NULL or carries no message);
 * sets ATH_ERROR_DISCONNECT when the connection is lost. Returns the ath_rc. */
int ath_pg__error(ath_err *err, PGconn *pg, const PGresult *res);

#endif
