/* typename.h — SQL type names for the wire's type forms (["Integer"], ["String", 10],
 * ["Numeric", 10, 2], ["DateTime", {"timezone": true}], ["postgresql.JSONB"], ...), per dialect
 * family, as SQLAlchemy's type compilers render them for CAST. The schema/types work grows this
 * into the full type system (DDL names, bind/result processors). */
#ifndef ATH_TYPES_TYPENAME_H
#define ATH_TYPES_TYPENAME_H

#include <msgpack.h>
#include <stddef.h>

#include "util/strbuf.h"

/* Type families (ath_dialect.type_family). */
enum { ATH_TYPES_SQLITE, ATH_TYPES_POSTGRESQL, ATH_TYPES_MYSQL };

enum {
	ATH_TYPENAME_OK = 0,
	ATH_TYPENAME_SKIP_CAST = 1,   /* the backend cannot CAST to it: render the bare expression (MySQL) */
	ATH_TYPENAME_UNKNOWN = -1,    /* not a type form athanor knows (CompileError) */
	ATH_TYPENAME_UNSUPPORTED = -2 /* a type this family does not have (NotSupportedError) */
};

/* Append the CAST target name of `type` (a msgpack array) for `family`; `ns` is the dialect's
 * namespace for dialect types ("postgresql", "mysql", "sqlite"). On failure `err` says why. */
int ath_typename__cast(ath_strbuf *b, const msgpack_object *type, int family, const char *ns, char *err,
		       size_t errlen);

#endif
