/* create.h — DDL for a metadata collected for a dialect (ath_compile_ddl) or run on an engine
 * (create_all / drop_all). */
#ifndef ATH_SCHEMA_CREATE_H
#define ATH_SCHEMA_CREATE_H

#include "athanor/athanor.h"
#include "dialects/dialect.h"
#include "schema/metadata.h"

/* A msgpack array of the create_all (drop = 0) or drop_all statements, without checkfirst. */
int ath_schema__compile(ath_buf *out, const ath_dialect *d, const ath_metadata *md, int drop, ath_err *err);
/* Run create_all / drop_all on a connection of `e`, in one transaction. */
int ath_schema__run(ath_engine *e, const ath_metadata *md, int drop, int checkfirst, ath_err *err);

#endif
