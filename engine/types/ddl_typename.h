/* ddl_typename.h — column type names in CREATE TABLE, per dialect, as SQLAlchemy's type
 * compilers render them there (they differ from the CAST names of typename.h). */
#ifndef ATH_TYPES_DDL_TYPENAME_H
#define ATH_TYPES_DDL_TYPENAME_H

#include "dialects/dialect.h"
#include "types/type.h"
#include "util/strbuf.h"

/* Append the DDL name of `t` for dialect `d`. Returns 0, or -1 with the reason in `err`
 * (SQLAlchemy's CompileError: "VARCHAR requires a length on dialect mysql", a type the dialect
 * cannot render, a PostgreSQL ENUM without a name). */
int ath_typename__ddl(ath_strbuf *b, const ath_type *t, const ath_dialect *d, char *err, size_t errlen);

#endif
