/* mysql/errors.c — server and client error numbers to SQLAlchemy's error classes, as PyMySQL maps
 * them (pymysql/err.py: _map_error), and disconnect detection as
 * sqlalchemy/dialects/mysql/base.py is_disconnect() (2006, 2013, 2014, 2045, 2055, 4031) plus
 * MariaDB's 1927 "Connection was killed" and 1053 "Server shutdown in progress". */
#include <stdio.h>
#include <string.h>

#include "errors.h"

ath_error_class ath_mysql__error_class(unsigned int e)
{
	switch (e) {
	case 1022: case 1048: case 1052: case 1062: case 1169: case 1216: case 1217:
	case 1451: case 1452: case 1557: case 1586: case 3819: case 4025:
		return ATH_ERRCLASS_INTEGRITY_ERROR;
	case 1263: case 1264: case 1265: case 1292: case 1365: case 1366: case 1406:
	case 1416: case 1441: case 1690:
		return ATH_ERRCLASS_DATA_ERROR;
	case 1007: case 1064: case 1102: case 1103: case 1110: case 1111: case 1112:
	case 1113: case 1146: case 1149: case 1166: case 1179:
		return ATH_ERRCLASS_PROGRAMMING_ERROR;
	case 1196: case 1235: case 1286: case 1289:
		return ATH_ERRCLASS_NOT_SUPPORTED_ERROR;
	default:
		if (e >= 2000 && e < 3000) /* client library: connection and protocol trouble */
			return e == 2031 || e == 2034 || e == 2036 || e == 2057 ? ATH_ERRCLASS_INTERFACE_ERROR
										: ATH_ERRCLASS_OPERATIONAL_ERROR;
		return e < 1000 ? ATH_ERRCLASS_INTERNAL_ERROR : ATH_ERRCLASS_OPERATIONAL_ERROR;
	}
}

static int is_disconnect(unsigned int e)
{
	return e == 2006 || e == 2013 || e == 2014 || e == 2045 || e == 2055 || e == 4031 || e == 1927 || e == 1053;
}

int ath_mysql__error(ath_err *err, unsigned int errnum, const char *sqlstate, const char *msg)
{
	ath_err__set(err, ATH_ERROR, ath_mysql__error_class(errnum), "(mysql) (%u, '%s')", errnum,
		     msg && *msg ? msg : "unknown error");
	err->native_code = (int)errnum;
	if (sqlstate && strlen(sqlstate) == 5 && strcmp(sqlstate, "00000") != 0)
		memcpy(err->sqlstate, sqlstate, 6);
	if (is_disconnect(errnum))
		err->flags |= ATH_ERROR_DISCONNECT;
	return ATH_ERROR;
}
