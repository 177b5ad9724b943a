/* postgresql/errors.c — SQLSTATE classes to SQLAlchemy's error classes, as psycopg maps them
 * (psycopg/errors.py: class 23 IntegrityError, 22 DataError, 42 ProgrammingError, 08 and 57P0x
 * OperationalError, ...), plus disconnect detection in the spirit of
 * sqlalchemy/dialects/postgresql/psycopg2.py is_disconnect(): here by connection status and
 * SQLSTATE rather than message text. No message translation: the server's text is kept. */
#include <string.h>

#include "errors.h"

ath_error_class ath_pg__error_class(const char *s)
{
	if (!s || strlen(s) != 5)
		return ATH_ERRCLASS_OPERATIONAL_ERROR;
	if (strcmp(s, "57014") == 0) /* query_canceled */
		return ATH_ERRCLASS_OPERATIONAL_ERROR;
	switch (s[0]) {
	case '0':
		if (s[1] == 'A')
			return ATH_ERRCLASS_NOT_SUPPORTED_ERROR; /* feature_not_supported */
		if (s[1] == '8')
			return ATH_ERRCLASS_OPERATIONAL_ERROR; /* connection exceptions */
		return ATH_ERRCLASS_DATABASE_ERROR;
	case '2':
		if (s[1] == '1')
			return ATH_ERRCLASS_PROGRAMMING_ERROR; /* cardinality violation */
		if (s[1] == '2')
			return ATH_ERRCLASS_DATA_ERROR;
		if (s[1] == '3')
			return ATH_ERRCLASS_INTEGRITY_ERROR;
		if (s[1] == '4' || s[1] == '5')
			return ATH_ERRCLASS_INTERNAL_ERROR; /* invalid cursor / transaction state */
		if (s[1] == '6' || s[1] == '7' || s[1] == '8')
			return ATH_ERRCLASS_OPERATIONAL_ERROR;
		return ATH_ERRCLASS_INTERNAL_ERROR;
	case '3':
		if (s[1] == '4')
			return ATH_ERRCLASS_OPERATIONAL_ERROR; /* invalid cursor name */
		if (s[1] == 'D' || s[1] == 'F')
			return ATH_ERRCLASS_PROGRAMMING_ERROR;
		return ATH_ERRCLASS_INTERNAL_ERROR;
	case '4':
		if (s[1] == '0')
			return ATH_ERRCLASS_OPERATIONAL_ERROR; /* serialization failure, deadlock */
		if (s[1] == '2' || s[1] == '4')
			return ATH_ERRCLASS_PROGRAMMING_ERROR;
		return ATH_ERRCLASS_DATABASE_ERROR;
	case '5':
		if (s[1] == '3' || s[1] == '7' || s[1] == '8')
			return ATH_ERRCLASS_OPERATIONAL_ERROR;
		return ATH_ERRCLASS_DATABASE_ERROR;
	case 'F':
	case 'H':
	case 'P':
	case 'X': return ATH_ERRCLASS_INTERNAL_ERROR;
	default: return ATH_ERRCLASS_DATABASE_ERROR;
	}
}

static int is_disconnect(PGconn *pg, const char *s)
{
	if (!pg || PQstatus(pg) == CONNECTION_BAD)
		return 1;
	if (!s)
		return 0;
	/* admin_shutdown (pg_terminate_backend), crash_shutdown, cannot_connect_now; class 08 except
	 * protocol_violation, which the server reports for a bad bind on a live connection */
	return strncmp(s, "57P0", 4) == 0 || (strncmp(s, "08", 2) == 0 && strcmp(s, "08P01") != 0);
}

int ath_pg__error(ath_err *err, PGconn *pg, const PGresult *res)
{
	const char *state = res ? PQresultErrorField(res, PG_DIAG_SQLSTATE) : NULL;
	const char *msg = res ? PQresultErrorField(res, PG_DIAG_MESSAGE_PRIMARY) : NULL;
	const char *detail = res ? PQresultErrorField(res, PG_DIAG_MESSAGE_DETAIL) : NULL;
	if (!msg || !*msg)
		msg = res && *PQresultErrorMessage(res) ? PQresultErrorMessage(res) : pg ? PQerrorMessage(pg) : NULL;
	if (!msg || !*msg)
		msg = "unknown libpq error";
	size_t n = strlen(msg);
	while (n && (msg[n - 1] == '\n' || msg[n - 1] == ' '))
		n--;
	ath_err__set(err, ATH_ERROR, ath_pg__error_class(state), "(libpq) %.*s%s%s", (int)n, msg,
		     detail ? "\nDETAIL:  " : "", detail ? detail : "");
	if (state && strlen(state) == 5)
		memcpy(err->sqlstate, state, 6); /* libpq has no native error number: native_code stays 0 */
	if (is_disconnect(pg, state)) {
		err->flags |= ATH_ERROR_DISCONNECT;
		err->klass = ATH_ERRCLASS_OPERATIONAL_ERROR;
	}
	return ATH_ERROR;
}
