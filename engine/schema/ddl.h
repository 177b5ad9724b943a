/* ddl.h — DDL for a metadata, per dialect: create_all / drop_all in foreign-key dependency order
 * (cycles broken with ALTER TABLE ADD CONSTRAINT), and the single statements. Statements go to a
 * sink (collected by ath_compile_ddl, executed by ath_engine_create_all); `exists` answers
 * checkfirst. */
#ifndef ATH_SCHEMA_DDL_H
#define ATH_SCHEMA_DDL_H

#include "dialects/dialect.h"
#include "schema/metadata.h"

enum { ATH_DDL_TABLE, ATH_DDL_SEQUENCE, ATH_DDL_TYPE };

typedef struct ath_ddl_sink {
	/* checkfirst: *out = 1 when the object exists. NULL = checkfirst off. */
	int (*exists)(void *payload, int what, const char *schema, const char *name, int *out, ath_err *err);
	int (*emit)(void *payload, const char *sql, size_t len, ath_err *err);
	void (*warn)(void *payload, const char *msg); /* may be NULL */
	void *payload;
} ath_ddl_sink;

int ath_ddl__create_all(const ath_metadata *md, const ath_dialect *d, const ath_ddl_sink *s, ath_err *err);
int ath_ddl__drop_all(const ath_metadata *md, const ath_dialect *d, const ath_ddl_sink *s, ath_err *err);

/* One statement into `b`: CREATE TABLE (every foreign key inline) / DROP TABLE / CREATE INDEX / DROP INDEX. */
int ath_ddl__create_table(ath_strbuf *b, const ath_table *t, const ath_dialect *d, int if_not_exists, ath_err *err);
int ath_ddl__drop_table(ath_strbuf *b, const ath_table *t, const ath_dialect *d, int if_exists, ath_err *err);
int ath_ddl__create_index(ath_strbuf *b, const ath_index *ix, const ath_dialect *d, ath_err *err);
int ath_ddl__drop_index(ath_strbuf *b, const ath_index *ix, const ath_dialect *d, ath_err *err);

#endif
