/* reflect_postgresql.c — PostgreSQL's catalog for reflection: pg_class / pg_attribute with
 * format_type() and pg_get_expr() defaults, identity options from pg_sequence, SERIAL detected by
 * its nextval() default, ENUM labels from pg_enum, keys and checks from pg_constraint, indexes
 * from pg_index (expressions through pg_get_indexdef, predicates through pg_get_expr), comments
 * from pg_description. Every name is bound, never pasted. Mirrors
 * sqlalchemy/dialects/postgresql/base.py PGDialect.get_columns / _get_column_info,
 * get_pk_constraint, get_foreign_keys, get_indexes, get_unique_constraints,
 * get_check_constraints, get_table_comment and ischema_names. */
#include <ctype.h>
#include <string.h>

#include "schema/reflect.h"

/* the table's oid from :a (name) and :b (schema, NULL = current_schema()) */
#define TBL                                                                                          \
	"(SELECT c.oid FROM pg_catalog.pg_class c JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace " \
	"WHERE c.relname = :a AND n.nspname = coalesce(CAST(:b AS TEXT), current_schema()) "           \
	"AND c.relkind IN ('r', 'p', 'v', 'm', 'f'))"

static const struct {
	const char *sql, *wire;
	int8_t args; /* integer args kept; -1: timezone true */
} types[] = {
	{ "integer", "Integer", 0 }, { "bigint", "BigInteger", 0 }, { "smallint", "SmallInteger", 0 },
	{ "boolean", "Boolean", 0 }, { "character varying", "String", 1 }, { "text", "Text", 0 },
	{ "double precision", "Double", 0 }, { "real", "postgresql.REAL", 0 }, { "numeric", "Numeric", 2 },
	{ "date", "Date", 0 }, { "timestamp without time zone", "DateTime", 0 },
	{ "timestamp with time zone", "DateTime", -1 }, { "time without time zone", "Time", 0 },
	{ "time with time zone", "Time", -1 }, { "interval", "Interval", 0 }, { "bytea", "LargeBinary", 0 },
	{ "json", "JSON", 0 }, { "jsonb", "postgresql.JSONB", 0 }, { "uuid", "UUID", 0 },
	{ "character", "postgresql.CHAR", 1 }, { "inet", "postgresql.INET", 0 }, { "cidr", "postgresql.CIDR", 0 },
	{ "macaddr", "postgresql.MACADDR", 0 }, { "money", "postgresql.MONEY", 0 }, { "oid", "postgresql.OID", 0 },
	{ "tsvector", "postgresql.TSVECTOR", 0 }, { "bit", "postgresql.BIT", 1 }, { "bit varying", "postgresql.BIT", 1 },
	{ "int4range", "postgresql.INT4RANGE", 0 }, { "int8range", "postgresql.INT8RANGE", 0 },
	{ "numrange", "postgresql.NUMRANGE", 0 }, { "daterange", "postgresql.DATERANGE", 0 },
	{ "tsrange", "postgresql.TSRANGE", 0 }, { "tstzrange", "postgresql.TSTZRANGE", 0 },
};

static int pg_type(ath_rf *rf, const char *sqltype, ath_rf_type *t)
{
	memset(t, 0, sizeof *t);
	t->timezone = -1;
	t->dims = -1;
	size_t len = strlen(sqltype);
	if (len > 2 && strcmp(sqltype + len - 2, "[]") == 0) {
		ath_rf_type *item = ath_arena__zalloc(&rf->arena, sizeof *item);
		const char *it = ath_rf__dup(rf, sqltype, len - 2);
		if (!item || !it)
			return ATH_ENOMEM;
		int rc = pg_type(rf, it, item);
		if (rc)
			return rc;
		t->name = "ARRAY";
		t->item = item;
		return 0;
	}
	/* "timestamp(3) without time zone": the precision sits in the middle */
	char buf[128];
	int64_t a[2];
	uint32_t na;
	const char *paren = strchr(sqltype, '('), *close = paren ? strchr(paren, ')') : NULL;
	const char *b = ath_rf__split_type(rf, sqltype, a, &na);
	if (!b)
		return ATH_ENOMEM;
	if (close && close[1]) {
		snprintf(buf, sizeof buf, "%s%s", b, close + 1);
		if (!(b = ath_rf__dup(rf, buf, strlen(buf))))
			return ATH_ENOMEM;
	}
	for (size_t i = 0; i < sizeof types / sizeof *types; i++)
		if (strcmp(b, types[i].sql) == 0) {
			t->name = types[i].wire;
			if (types[i].args < 0)
				t->timezone = 1;
			t->nargs = na < (uint32_t)(types[i].args > 0 ? types[i].args : 0) ? na : (uint32_t)(types[i].args > 0 ? types[i].args : 0);
			memcpy(t->args, a, sizeof a);
			return 0;
		}
	/* anything else: postgresql.<NAME> with spaces as underscores (no arguments) */
	snprintf(buf, sizeof buf, "postgresql.%s", b);
	for (char *p = buf + 11; *p; p++)
		*p = *p == ' ' ? '_' : (char)toupper((unsigned char)*p);
	t->name = ath_rf__dup(rf, buf, strlen(buf));
	return t->name ? 0 : ATH_ENOMEM;
}

static const char *pg_action(char c)
{
	switch (c) {
	case 'r': return "RESTRICT";
	case 'c': return "CASCADE";
	case 'n': return "SET NULL";
	case 'd': return "SET DEFAULT";
	default: return NULL; /* 'a': NO ACTION */
	}
}

static int columns(ath_rf *rf, ath_rf_table *t, const char *const p[2])
{
	ath_rf_rows r;
	int rc = ath_rf__query(
		rf, &r,
		"SELECT a.attname, pg_catalog.format_type(a.atttypid, a.atttypmod), a.attnotnull, "
		"pg_catalog.pg_get_expr(d.adbin, d.adrelid), pg_catalog.col_description(a.attrelid, a.attnum), "
		"CAST(a.attidentity AS TEXT), CAST(a.attgenerated AS TEXT), CAST(ty.typtype AS TEXT), ty.typname, "
		"CAST(CAST(a.atttypid AS BIGINT) AS TEXT), s.seqstart, s.seqincrement, s.seqmin, s.seqmax, s.seqcache, s.seqcycle, "
		"a.attndims, CAST(ety.typtype AS TEXT), ety.typname, CAST(CAST(ety.oid AS BIGINT) AS TEXT) "
		"FROM pg_catalog.pg_attribute a "
		"LEFT JOIN pg_catalog.pg_attrdef d ON d.adrelid = a.attrelid AND d.adnum = a.attnum "
		"JOIN pg_catalog.pg_type ty ON ty.oid = a.atttypid "
		"LEFT JOIN pg_catalog.pg_type ety ON ety.oid = ty.typelem AND ty.typcategory = 'A' "
		"LEFT JOIN pg_catalog.pg_sequence s ON a.attidentity <> '' AND s.seqrelid = "
		"CAST(CAST(pg_catalog.pg_get_serial_sequence(CAST(CAST(a.attrelid AS regclass) AS TEXT), a.attname) AS regclass) AS oid) "
		"WHERE a.attrelid = " TBL " AND a.attnum > 0 AND NOT a.attisdropped ORDER BY a.attnum",
		2, p);
	if (rc)
		return rc;
	if (r.n && !(t->cols = ath_arena__zalloc(&rf->arena, r.n * sizeof *t->cols)))
		rc = ath_rf__oom(rf);
	for (uint32_t i = 0; !rc && i < r.n; i++) {
		const msgpack_object *row = &r.row[i];
		ath_rf_column *c = &t->cols[t->ncols++];
		c->name = ath_rf__str(rf, row, 0);
		const char *fmt = ath_rf__str(rf, row, 1), *ident = ath_rf__str(rf, row, 5), *gen = ath_rf__str(rf, row, 6);
		const char *typtype = ath_rf__str(rf, row, 7), *etyptype = ath_rf__str(rf, row, 17);
		if (!c->name || !fmt)
			return ath_rf__oom(rf);
		if ((rc = pg_type(rf, fmt, &c->type)))
			break;
		/* ENUM (or ARRAY of ENUM): the labels in sort order */
		ath_rf_type *et = typtype && *typtype == 'e' ? &c->type
				: etyptype && *etyptype == 'e' && c->type.item ? c->type.item : NULL;
		if (et) {
			const char *ep[1] = { ath_rf__str(rf, row, et == &c->type ? 9 : 19) };
			ath_rf_rows lab;
			if ((rc = ath_rf__query(rf, &lab,
						"SELECT e.enumlabel FROM pg_catalog.pg_enum e WHERE e.enumtypid = "
						"CAST(CAST(:a AS BIGINT) AS oid) ORDER BY e.enumsortorder",
						1, ep)))
				break;
			ath_rf_names v = { 0 };
			for (uint32_t k = 0; !rc && k < lab.n; k++)
				rc = ath_rf__names_push(rf, &v, ath_rf__str(rf, &lab.row[k], 0));
			ath_rf__rows_free(&lab);
			memset(et, 0, sizeof *et);
			et->name = "Enum";
			et->timezone = -1;
			et->values = v.v;
			et->nvalues = v.n;
			et->enum_name = ath_rf__str(rf, row, et == &c->type ? 8 : 18);
			if (!rc && !v.n) { /* an ENUM without labels has no wire form */
				et->name = "Text";
				et->values = NULL;
				et->enum_name = NULL;
			}
		}
		if (c->type.item && ath_rf__int(row, 16, 0) > 1)
			c->type.dims = (int32_t)ath_rf__int(row, 16, 0);
		c->nullable = !ath_rf__bool(row, 2);
		c->default_ = ath_rf__str(rf, row, 3);
		c->comment = ath_rf__str(rf, row, 4);
		c->persisted = -1;
		c->autoincrement = 0;
		if (gen && *gen == 's') { /* GENERATED ALWAYS AS (expr) STORED: the expression is the default */
			c->computed = c->default_;
			c->persisted = 1;
			c->default_ = NULL;
		}
		if (ident && *ident) {
			c->identity = true;
			c->id_always = *ident == 'a';
			c->id_start = ath_rf__int(row, 10, 1);
			c->id_increment = ath_rf__int(row, 11, 1);
			c->id_min = ath_rf__int(row, 12, 1);
			c->id_max = ath_rf__int(row, 13, INT64_MAX);
			c->id_cache = ath_rf__int(row, 14, 1);
			c->id_cycle = ath_rf__bool(row, 15);
			c->autoincrement = 1;
		} else if (c->default_ && strncmp(c->default_, "nextval(", 8) == 0) {
			c->autoincrement = 1;
			c->serial = strcmp(c->type.name, "Integer") == 0 || strcmp(c->type.name, "BigInteger") == 0 ||
				    strcmp(c->type.name, "SmallInteger") == 0;
		}
	}
	ath_rf__rows_free(&r);
	return rc;
}

static int keys(ath_rf *rf, ath_rf_table *t, const char *const p[2])
{
	ath_rf_rows r;
	int rc = ath_rf__query(rf, &r,
			       "SELECT con.conname, a.attname FROM pg_catalog.pg_constraint con "
			       "CROSS JOIN LATERAL unnest(con.conkey) WITH ORDINALITY AS k(attnum, ord) "
			       "JOIN pg_catalog.pg_attribute a ON a.attrelid = con.conrelid AND a.attnum = k.attnum "
			       "WHERE con.conrelid = " TBL " AND con.contype = 'p' ORDER BY k.ord",
			       2, p);
	if (rc)
		return rc;
	for (uint32_t i = 0; !rc && i < r.n; i++) {
		t->pk_name = ath_rf__str(rf, &r.row[i], 0);
		rc = ath_rf__names_push(rf, &t->pk, ath_rf__str(rf, &r.row[i], 1));
	}
	ath_rf__rows_free(&r);
	if (rc)
		return rc;
	rc = ath_rf__query(rf, &r,
			   "SELECT con.conname, CAST(con.confupdtype AS TEXT), CAST(con.confdeltype AS TEXT), "
			   "CAST(con.confmatchtype AS TEXT), con.condeferrable, con.condeferred, rn.nspname, rc.relname, "
			   "a.attname, ra.attname, rn.nspname = coalesce(CAST(:b AS TEXT), current_schema()) "
			   "FROM pg_catalog.pg_constraint con "
			   "CROSS JOIN LATERAL unnest(con.conkey, con.confkey) WITH ORDINALITY AS k(attnum, rattnum, ord) "
			   "JOIN pg_catalog.pg_attribute a ON a.attrelid = con.conrelid AND a.attnum = k.attnum "
			   "JOIN pg_catalog.pg_class rc ON rc.oid = con.confrelid "
			   "JOIN pg_catalog.pg_namespace rn ON rn.oid = rc.relnamespace "
			   "JOIN pg_catalog.pg_attribute ra ON ra.attrelid = con.confrelid AND ra.attnum = k.rattnum "
			   "WHERE con.conrelid = " TBL " AND con.contype = 'f' ORDER BY con.conname, k.ord",
			   2, p);
	if (rc)
		return rc;
	const char *last = NULL;
	for (uint32_t i = 0; !rc && i < r.n; i++) {
		const msgpack_object *row = &r.row[i];
		const char *name = ath_rf__str(rf, row, 0);
		if (!name)
			return ath_rf__oom(rf);
		if (!last || strcmp(last, name) != 0) {
			if (!(t->fks = ath_rf__grow(rf, t->fks, t->nfks, sizeof *t->fks)))
				return ath_rf__oom(rf);
			ath_rf_fk *f = &t->fks[t->nfks++];
			memset(f, 0, sizeof *f);
			const char *upd = ath_rf__str(rf, row, 1), *del = ath_rf__str(rf, row, 2), *m = ath_rf__str(rf, row, 3);
			f->name = last = name;
			f->onupdate = upd ? pg_action(*upd) : NULL;
			f->ondelete = del ? pg_action(*del) : NULL;
			f->match = m && *m == 'f' ? "FULL" : m && *m == 'p' ? "PARTIAL" : NULL;
			f->deferrable = ath_rf__bool(row, 4) ? 1 : -1;
			f->initially = ath_rf__bool(row, 5) ? "DEFERRED" : NULL;
			f->ref_schema = ath_rf__bool(row, 10) ? NULL : ath_rf__str(rf, row, 6);
			f->ref_table = ath_rf__str(rf, row, 7);
		}
		ath_rf_fk *f = &t->fks[t->nfks - 1];
		rc = ath_rf__names_push(rf, &f->cols, ath_rf__str(rf, row, 8));
		if (!rc)
			rc = ath_rf__names_push(rf, &f->ref_cols, ath_rf__str(rf, row, 9));
	}
	ath_rf__rows_free(&r);
	return rc;
}

static int indexes(ath_rf *rf, ath_rf_table *t, const char *const p[2])
{
	ath_rf_rows r;
	int rc = ath_rf__query(rf, &r,
			       "SELECT i.relname, ix.indisunique, pg_catalog.pg_get_expr(ix.indpred, ix.indrelid), "
			       "CAST(con.contype AS TEXT), a.attname, pg_catalog.pg_get_indexdef(ix.indexrelid, CAST(k.ord AS INT), false) "
			       "FROM pg_catalog.pg_index ix JOIN pg_catalog.pg_class i ON i.oid = ix.indexrelid "
			       "CROSS JOIN LATERAL unnest(CAST(ix.indkey AS INT2[])) WITH ORDINALITY AS k(attnum, ord) "
			       "LEFT JOIN pg_catalog.pg_attribute a ON a.attrelid = ix.indrelid AND a.attnum = k.attnum AND k.attnum > 0 "
			       "LEFT JOIN pg_catalog.pg_constraint con ON con.conindid = ix.indexrelid AND con.conrelid = ix.indrelid "
			       "AND con.contype IN ('u', 'p', 'x') "
			       "WHERE ix.indrelid = " TBL " AND NOT ix.indisprimary AND k.ord <= ix.indnkeyatts "
			       "ORDER BY i.relname, k.ord",
			       2, p);
	if (rc)
		return rc;
	const char *last = NULL;
	ath_rf_index *x = NULL, *u = NULL;
	for (uint32_t i = 0; !rc && i < r.n; i++) {
		const msgpack_object *row = &r.row[i];
		const char *name = ath_rf__str(rf, row, 0), *contype = ath_rf__str(rf, row, 3);
		if (!name)
			return ath_rf__oom(rf);
		if (!last || strcmp(last, name) != 0) {
			if (!(t->indexes = ath_rf__grow(rf, t->indexes, t->nindexes, sizeof *t->indexes)))
				return ath_rf__oom(rf);
			x = &t->indexes[t->nindexes++];
			memset(x, 0, sizeof *x);
			x->name = last = name;
			x->unique = ath_rf__bool(row, 1);
			x->where = ath_rf__str(rf, row, 2);
			u = NULL;
			if (contype && *contype == 'u') {
				x->duplicates_constraint = name;
				if (!(t->uniques = ath_rf__grow(rf, t->uniques, t->nuniques, sizeof *t->uniques)))
					return ath_rf__oom(rf);
				u = &t->uniques[t->nuniques++];
				memset(u, 0, sizeof *u);
				u->name = name;
				u->unique = true;
			}
		}
		const char *col = ath_rf__str(rf, row, 4), *expr = col ? NULL : ath_rf__str(rf, row, 5);
		rc = ath_rf__names_push(rf, &x->cols, col);
		if (!rc)
			rc = ath_rf__names_push(rf, &x->exprs, expr);
		if (!rc && u)
			rc = ath_rf__names_push(rf, &u->cols, col);
	}
	ath_rf__rows_free(&r);
	return rc;
}

static int checks(ath_rf *rf, ath_rf_table *t, const char *const p[2])
{
	ath_rf_rows r;
	int rc = ath_rf__query(rf, &r,
			       "SELECT con.conname, pg_catalog.pg_get_constraintdef(con.oid) FROM pg_catalog.pg_constraint con "
			       "WHERE con.conrelid = " TBL " AND con.contype = 'c' ORDER BY con.conname",
			       2, p);
	if (rc)
		return rc;
	for (uint32_t i = 0; i < r.n; i++) {
		const char *name = ath_rf__str(rf, &r.row[i], 0), *def = ath_rf__str(rf, &r.row[i], 1);
		if (!name || !def)
			return ath_rf__oom(rf);
		/* "CHECK (expr)[ NOT VALID]" -> expr (PGDialect.get_check_constraints) */
		size_t n = strlen(def);
		if (n > 10 && strcmp(def + n - 10, " NOT VALID") == 0)
			n -= 10;
		if (strncmp(def, "CHECK (", 7) == 0 && n > 8 && def[n - 1] == ')')
			def = ath_rf__dup(rf, def + 7, n - 8);
		if (!(t->checks = ath_rf__grow(rf, t->checks, t->nchecks, sizeof *t->checks)))
			return ath_rf__oom(rf);
		t->checks[t->nchecks++] = (ath_rf_check){ name, def };
	}
	ath_rf__rows_free(&r);
	return 0;
}

static int pg_table(ath_rf *rf, const char *schema, const char *name, ath_rf_table *t)
{
	memset(t, 0, sizeof *t);
	t->name = ath_rf__dup(rf, name, strlen(name));
	t->schema = schema;
	const char *p[2] = { name, schema };
	ath_rf_rows r;
	int rc = ath_rf__query(rf, &r, "SELECT pg_catalog.obj_description(" TBL ", 'pg_class') WHERE " TBL " IS NOT NULL", 2, p);
	if (rc)
		return rc;
	uint32_t found = r.n;
	if (found)
		t->comment = ath_rf__str(rf, &r.row[0], 0);
	ath_rf__rows_free(&r);
	if (!found)
		return ath_err__set(rf->err, ATH_ENOTFOUND, ATH_ERRCLASS_NO_SUCH_TABLE_ERROR, "%.200s", name);
	rc = columns(rf, t, p);
	if (!rc)
		rc = keys(rf, t, p);
	if (!rc)
		rc = indexes(rf, t, p);
	if (!rc)
		rc = checks(rf, t, p);
	return rc;
}

const ath_reflect_ops ath_reflect_postgresql = {
	.version = 2,
	.schema_names_sql = "SELECT nspname FROM pg_catalog.pg_namespace WHERE nspname NOT LIKE 'pg!_%' ESCAPE '!' "
			    "AND nspname <> 'information_schema' ORDER BY nspname",
	.default_schema_sql = "SELECT current_schema()",
	.table_names_sql = "SELECT c.relname FROM pg_catalog.pg_class c JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace "
			   "WHERE n.nspname = coalesce(CAST(:a AS TEXT), current_schema()) AND "
			   "((CAST(:b AS TEXT) = 'view' AND c.relkind IN ('v', 'm')) OR (CAST(:b AS TEXT) = 'table' AND c.relkind IN ('r', 'p', 'f'))) "
			   "ORDER BY c.relname",
	.sequence_names_sql = "SELECT c.relname FROM pg_catalog.pg_class c JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace "
			      "WHERE c.relkind = 'S' AND n.nspname = coalesce(CAST(:a AS TEXT), current_schema()) ORDER BY c.relname",
	.where_option = "postgresql_where",
	.table = pg_table,
	.type = pg_type,
	.view_definition_sql = "SELECT pg_catalog.pg_get_viewdef(c.oid) FROM pg_catalog.pg_class c JOIN pg_catalog.pg_namespace n "
			       "ON n.oid = c.relnamespace WHERE n.nspname = coalesce(CAST(:a AS TEXT), current_schema()) "
			       "AND c.relname = CAST(:b AS TEXT) AND c.relkind IN ('v', 'm')",
};
