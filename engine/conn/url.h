/* url.h — database URLs in SQLAlchemy's grammar (sqlalchemy.engine.url.make_url):
 *   dialect[+driver]://[user[:password]@][host[:port] | [ipv6]:port][/database][?k=v&k=v...]
 * As SQLAlchemy 1.4, only username, password and query are percent-decoded (and "+" in the
 * query is a space); host and database are kept as written. Parsed the same for every dialect;
 * what each option means is up to the dialect. */
#ifndef ATH_CONN_URL_H
#define ATH_CONN_URL_H

#include <msgpack.h>

#include "util/err.h"

typedef struct ath_url_param {
	char *key;
	char *value;
} ath_url_param;

typedef struct ath_url {
	char *drivername;     /* "postgresql+libpq" as written before "://" */
	char *dialect;        /* "postgresql" */
	char *driver;         /* "libpq", or NULL */
	char *username;       /* NULL when absent */
	char *password;       /* NULL when absent; "" when given empty */
	char *host;           /* NULL when absent; IPv6 without brackets */
	int port;             /* -1 when absent */
	char *database;       /* NULL when absent; for sqlite the path as given after the third slash */
	ath_url_param *query; /* in order of appearance; a repeated key appears more than once */
	size_t nquery;
} ath_url;

/* Parse `text` into `out` (output only: not freed first; all strings owned by `out`). Returns 0, or ATH_EINVALID with an
 * ArgumentError naming the problem ("Could not parse SQLAlchemy URL from string 'x'",
 * "invalid port 'abc' in URL", "invalid percent-escape in URL"). On failure `out` is left empty. */
int ath_url__parse(ath_url *out, const char *text, ath_err *err);
void ath_url__free(ath_url *u);
/* The last value given for `key`, or NULL. */
const char *ath_url__query_get(const ath_url *u, const char *key);
/* Pack as the map documented for ath_url_parse() in athanor/engine.h; a repeated query key
 * becomes an array of its values. Returns 0 or -1 when the packer fails. */
int ath_url__pack(const ath_url *u, msgpack_packer *pk);
/* The URL with the password replaced by "***", for logs and messages; caller frees with
 * ath__free; NULL when out of memory. */
char *ath_url__render_safe(const ath_url *u);

#endif
