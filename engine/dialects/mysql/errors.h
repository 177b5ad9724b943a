/* mysql/errors.h — MySQL/MariaDB error numbers to error classes. */
#ifndef ATH_MYSQL_ERRORS_H
#define ATH_MYSQL_ERRORS_H

#include "util/err.h"

ath_error_class ath_mysql__error_class(unsigned int errnum);
/* Record an error (number, SQLSTATE, message); sets ATH_ERROR_DISCONNECT for a lost connection. */
int ath_mysql__error(ath_err *err, unsigned int errnum, const char *sqlstate, const char *msg);

#endif
