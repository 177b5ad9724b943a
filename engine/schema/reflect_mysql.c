/* reflect_mysql.c — MySQL / MariaDB catalog for reflection through information_schema (COLUMNS,
 * TABLE_CONSTRAINTS, KEY_COLUMN_USAGE, REFERENTIAL_CONSTRAINTS, STATISTICS, CHECK_CONSTRAINTS,
 * TABLES), every name bound. COLUMN_TYPE is parsed as SQLAlchemy parses SHOW CREATE TABLE's column
 * types (int(11), decimal(10,2), enum('a','b'), tinyint(1)); MariaDB's JSON (LONGTEXT with a
 * json_valid() CHECK named after the column) comes back as JSON. Mirrors
 * sqlalchemy/dialects/mysql/base.py MySQLDialect.get_columns / get_pk_constraint /
 * get_foreign_keys / get_indexes / get_unique_constraints / get_check_constraints /
 * get_table_comment and reflection.py's MySQLTableDefinitionParser (types, ENUM values). */
#include <ctype.h>
#include <string.h>
#include <strings.h>

#include "schema/reflect.h"

#define WHERE_T "TABLE_SCHEMA = coalesce(:b, DATABASE()) AND TABLE_NAME = :a"

static const struct {
	const char *sql, *wire;
	uint8_t args;
} types[] = {
	{ "int", "Integer", 0 }, { "integer", "Integer", 0 }, { "bigint", "BigInteger", 0 },
	{ "smallint", "SmallInteger", 0 }, { "varchar", "String", 1 }, { "text", "Text", 0 }, { "float", "Float", 0 },
	{ "double", "Double", 0 }, { "decimal", "Numeric", 2 }, { "date", "Date", 0 }, { "datetime", "DateTime", 0 },
	{ "time", "Time", 0 }, { "blob", "LargeBinary", 0 }, { "json", "JSON", 0 }, { "char", "mysql.CHAR", 1 },
	{ "tinytext", "mysql.TINYTEXT", 0 }, { "mediumtext", "mysql.MEDIUMTEXT", 0 }, { "longtext", "mysql.LONGTEXT", 0 },
	{ "tinyblob", "mysql.TINYBLOB", 0 }, { "mediumblob", "mysql.MEDIUMBLOB", 0 }, { "longblob", "mysql.LONGBLOB", 0 },
	{ "timestamp", "mysql.TIMESTAMP", 1 }, { "year", "mysql.YEAR", 0 }, { "bit", "mysql.BIT", 1 },
	{ "mediumint", "mysql.MEDIUMINT", 0 }, { "binary", "mysql.BINARY", 1 }, { "varbinary", "mysql.VARBINARY", 1 },
};

static int my_type(ath_rf *rf, const char *sqltype, ath_rf_type *t)
{
	memset(t, 0, sizeof *t);
	t->timezone = -1;
	int64_t a[2];
	uint32_t na;
	const char *b = ath_rf__split_type(rf, sqltype, a, &na);
	if (!b)
		return ATH_ENOMEM;
	if (strcmp(b, "enum") == 0) { /* enum('a','b''c') */
		ath_rf_names v = { 0 };
		const char *p = strchr(sqltype, '(');
		while (p && *p && *p != ')') {
			p++;
			if (*p != '\'')
				break;
			char buf[1024];
			size_t n = 0;
			for (p++; *p; p++) {
				if (*p == '\'' && p[1] == '\'')
					p++;
				else if (*p == '\\' && p[1])
					p++;
				else if (*p == '\'')
					break;
				if (n < sizeof buf)
					buf[n++] = *p;
			}
			if (*p)
				p++;
			const char *s = ath_rf__dup(rf, buf, n);
			if (!s || ath_rf__names_push(rf, &v, s))
				return ATH_ENOMEM;
		}
		t->name = "Enum";
		t->values = v.v;
		t->nvalues = v.n;
		if (!v.n)
			t->name = "Text", t->values = NULL;
		return 0;
	}
	if (strcmp(b, "tinyint") == 0) {
		t->name = "mysql.TINYINT";
		t->nargs = na > 1 ? 1 : na;
		t->args[0] = a[0];
		return 0;
	}
	if ((strcmp(b, "datetime") == 0 || strcmp(b, "time") == 0) && na) { /* fsp */
		t->name = b[4] ? "mysql.DATETIME" : "mysql.TIME";
		t->nargs = 1;
		t->args[0] = a[0];
		return 0;
	}
	for (size_t i = 0; i < sizeof types / sizeof *types; i++)
		if (strcmp(b, types[i].sql) == 0) {
			t->name = types[i].wire;
			t->nargs = na < types[i].args ? na : types[i].args;
			memcpy(t->args, a, sizeof a);
			/* float(53) is DOUBLE; decimal without arguments is decimal(10,0) */
			return 0;
		}
	char buf[64];
	snprintf(buf, sizeof buf, "mysql.%s", b);
	for (char *p = buf + 6; *p; p++)
		*p = isalnum((unsigned char)*p) ? (char)toupper((unsigned char)*p) : '_';
	t->name = ath_rf__dup(rf, buf, strlen(buf));
	return t->name ? 0 : ATH_ENOMEM;
}

static const char *rule(ath_rf *rf, const msgpack_object *row, uint32_t i)
{
	/* the catalog says RESTRICT (MariaDB) or NO ACTION for an action not given */
	const char *s = ath_rf__str(rf, row, i);
	return s && strcmp(s, "RESTRICT") != 0 && strcmp(s, "NO ACTION") != 0 ? s : NULL;
}

static bool textual(const char *wire)
{
	return strcmp(wire, "String") == 0 || strcmp(wire, "Text") == 0 || strcmp(wire, "Enum") == 0 ||
	       strncmp(wire, "mysql.", 6) == 0 || strcmp(wire, "Date") == 0 || strcmp(wire, "DateTime") == 0 ||
	       strcmp(wire, "Time") == 0;
}

static int columns(ath_rf *rf, ath_rf_table *t, const char *const p[2])
{
	ath_rf_rows r;
	int rc = ath_rf__query(rf, &r,
			       "SELECT COLUMN_NAME, COLUMN_TYPE, IS_NULLABLE, COLUMN_DEFAULT, EXTRA, COLUMN_COMMENT, "
			       "GENERATION_EXPRESSION FROM information_schema.COLUMNS WHERE " WHERE_T " ORDER BY ORDINAL_POSITION",
			       2, p);
	if (rc)
		return rc;
	if (r.n && !(t->cols = ath_arena__zalloc(&rf->arena, r.n * sizeof *t->cols)))
		rc = ath_rf__oom(rf);
	for (uint32_t i = 0; !rc && i < r.n; i++) {
		const msgpack_object *row = &r.row[i];
		ath_rf_column *c = &t->cols[t->ncols++];
		const char *type = ath_rf__str(rf, row, 1), *extra = ath_rf__str(rf, row, 4);
		c->name = ath_rf__str(rf, row, 0);
		if (!c->name || !type)
			return ath_rf__oom(rf);
		if ((rc = my_type(rf, type, &c->type)))
			break;
		const char *nl = ath_rf__str(rf, row, 2);
		c->nullable = nl && strcmp(nl, "YES") == 0;
		c->default_ = ath_rf__str(rf, row, 3);
		if (c->default_ && strcmp(c->default_, "NULL") == 0) /* MariaDB spells no default NULL */
			c->default_ = NULL;
		bool generated_default = extra && strstr(extra, "DEFAULT_GENERATED");
		if (c->default_ && !generated_default && c->default_[0] != '\'' && textual(c->type.name) &&
		    strncasecmp(c->default_, "current_timestamp", 17) != 0) { /* MySQL 8 gives string defaults unquoted */
			size_t n = strlen(c->default_);
			char *q = ath_arena__alloc(&rf->arena, 2 * n + 3), *o = q;
			if (!q)
				return ath_rf__oom(rf);
			*o++ = '\'';
			for (const char *s = c->default_; *s; s++) {
				if (*s == '\'')
					*o++ = '\'';
				*o++ = *s;
			}
			*o++ = '\'';
			*o = 0;
			c->default_ = q;
		}
		const char *comment = ath_rf__str(rf, row, 5);
		c->comment = comment && *comment ? comment : NULL;
		c->autoincrement = extra && strstr(extra, "auto_increment") ? 1 : 0;
		c->persisted = -1;
		if (extra && (strstr(extra, "VIRTUAL") || strstr(extra, "STORED") || strstr(extra, "PERSISTENT"))) {
			c->computed = ath_rf__str(rf, row, 6);
			c->persisted = !strstr(extra, "VIRTUAL");
			c->default_ = NULL;
		}
	}
	ath_rf__rows_free(&r);
	return rc;
}

static int constraints(ath_rf *rf, ath_rf_table *t, const char *const p[2])
{
	ath_rf_rows r;
	int rc = ath_rf__query(rf, &r,
			       "SELECT tc.CONSTRAINT_NAME, tc.CONSTRAINT_TYPE, k.COLUMN_NAME, k.REFERENCED_TABLE_SCHEMA, "
			       "k.REFERENCED_TABLE_NAME, k.REFERENCED_COLUMN_NAME, rc.UPDATE_RULE, rc.DELETE_RULE, "
			       "k.REFERENCED_TABLE_SCHEMA = k.TABLE_SCHEMA "
			       "FROM information_schema.TABLE_CONSTRAINTS tc JOIN information_schema.KEY_COLUMN_USAGE k "
			       "ON k.CONSTRAINT_SCHEMA = tc.CONSTRAINT_SCHEMA AND k.CONSTRAINT_NAME = tc.CONSTRAINT_NAME "
			       "AND k.TABLE_NAME = tc.TABLE_NAME "
			       "LEFT JOIN information_schema.REFERENTIAL_CONSTRAINTS rc ON rc.CONSTRAINT_SCHEMA = tc.CONSTRAINT_SCHEMA "
			       "AND rc.CONSTRAINT_NAME = tc.CONSTRAINT_NAME AND rc.TABLE_NAME = tc.TABLE_NAME "
			       "WHERE tc.TABLE_SCHEMA = coalesce(:b, DATABASE()) AND tc.TABLE_NAME = :a "
			       "AND tc.CONSTRAINT_TYPE IN ('PRIMARY KEY', 'UNIQUE', 'FOREIGN KEY') "
			       "ORDER BY tc.CONSTRAINT_TYPE, tc.CONSTRAINT_NAME, k.ORDINAL_POSITION",
			       2, p);
	if (rc)
		return rc;
	const char *last = NULL, *lastkind = NULL;
	for (uint32_t i = 0; !rc && i < r.n; i++) {
		const msgpack_object *row = &r.row[i];
		const char *name = ath_rf__str(rf, row, 0), *kind = ath_rf__str(rf, row, 1), *col = ath_rf__str(rf, row, 2);
		if (!name || !kind || !col)
			return ath_rf__oom(rf);
		bool first = !last || strcmp(last, name) != 0 || strcmp(lastkind, kind) != 0;
		last = name, lastkind = kind;
		if (kind[0] == 'P') {
			rc = ath_rf__names_push(rf, &t->pk, col);
		} else if (kind[0] == 'U') {
			if (first) {
				if (!(t->uniques = ath_rf__grow(rf, t->uniques, t->nuniques, sizeof *t->uniques)))
					return ath_rf__oom(rf);
				memset(&t->uniques[t->nuniques], 0, sizeof *t->uniques);
				t->uniques[t->nuniques].name = name;
				t->uniques[t->nuniques++].unique = true;
			}
			rc = ath_rf__names_push(rf, &t->uniques[t->nuniques - 1].cols, col);
		} else {
			if (first) {
				if (!(t->fks = ath_rf__grow(rf, t->fks, t->nfks, sizeof *t->fks)))
					return ath_rf__oom(rf);
				ath_rf_fk *f = &t->fks[t->nfks++];
				memset(f, 0, sizeof *f);
				f->name = name;
				f->ref_schema = ath_rf__bool(row, 8) ? NULL : ath_rf__str(rf, row, 3);
				f->ref_table = ath_rf__str(rf, row, 4);
				f->onupdate = rule(rf, row, 6);
				f->ondelete = rule(rf, row, 7);
				f->deferrable = -1;
			}
			ath_rf_fk *f = &t->fks[t->nfks - 1];
			rc = ath_rf__names_push(rf, &f->cols, col);
			if (!rc)
				rc = ath_rf__names_push(rf, &f->ref_cols, ath_rf__str(rf, row, 5));
		}
	}
	ath_rf__rows_free(&r);
	return rc;
}

static int indexes(ath_rf *rf, ath_rf_table *t, const char *const p[2])
{
	ath_rf_rows r;
	int rc = ath_rf__query(rf, &r,
			       "SELECT INDEX_NAME, NON_UNIQUE, COLUMN_NAME FROM information_schema.STATISTICS "
			       "WHERE " WHERE_T " AND INDEX_NAME <> 'PRIMARY' ORDER BY INDEX_NAME, SEQ_IN_INDEX",
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
			if (!(t->indexes = ath_rf__grow(rf, t->indexes, t->nindexes, sizeof *t->indexes)))
				return ath_rf__oom(rf);
			ath_rf_index *x = &t->indexes[t->nindexes++];
			memset(x, 0, sizeof *x);
			x->name = last = name;
			x->unique = !ath_rf__bool(row, 1);
			for (uint32_t k = 0; x->unique && k < t->nuniques; k++)
				if (strcmp(t->uniques[k].name, name) == 0)
					x->duplicates_constraint = name;
		}
		ath_rf_index *x = &t->indexes[t->nindexes - 1];
		const char *col = ath_rf__str(rf, row, 2);
		rc = ath_rf__names_push(rf, &x->cols, col);
		if (!rc)
			rc = ath_rf__names_push(rf, &x->exprs, col ? NULL : "");
	}
	ath_rf__rows_free(&r);
	return rc;
}

static int checks(ath_rf *rf, ath_rf_table *t, const char *const p[2])
{
	ath_rf_rows r;
	/* MariaDB's CHECK_CONSTRAINTS has TABLE_NAME; MySQL 8's does not: join TABLE_CONSTRAINTS there */
	int rc = ath_rf__query(rf, &r,
			       "SELECT CONSTRAINT_NAME, CHECK_CLAUSE FROM information_schema.CHECK_CONSTRAINTS "
			       "WHERE CONSTRAINT_SCHEMA = coalesce(:b, DATABASE()) AND TABLE_NAME = :a ORDER BY CONSTRAINT_NAME",
			       2, p);
	if (rc) {
		ath_err__clear(rf->err);
		rc = ath_rf__query(rf, &r,
				   "SELECT cc.CONSTRAINT_NAME, cc.CHECK_CLAUSE FROM information_schema.CHECK_CONSTRAINTS cc "
				   "JOIN information_schema.TABLE_CONSTRAINTS tc ON tc.CONSTRAINT_SCHEMA = cc.CONSTRAINT_SCHEMA "
				   "AND tc.CONSTRAINT_NAME = cc.CONSTRAINT_NAME AND tc.CONSTRAINT_TYPE = 'CHECK' "
				   "WHERE tc.TABLE_SCHEMA = coalesce(:b, DATABASE()) AND tc.TABLE_NAME = :a ORDER BY cc.CONSTRAINT_NAME",
				   2, p);
	}
	if (rc)
		return rc;
	for (uint32_t i = 0; i < r.n; i++) {
		const char *name = ath_rf__str(rf, &r.row[i], 0), *sql = ath_rf__str(rf, &r.row[i], 1);
		if (!name || !sql)
			return ath_rf__oom(rf);
		/* MariaDB's JSON: LONGTEXT + CHECK (json_valid(`c`)) named c */
		ath_rf_column *json = NULL;
		for (uint32_t k = 0; k < t->ncols; k++) {
			char want[300];
			snprintf(want, sizeof want, "json_valid(`%s`)", t->cols[k].name);
			if (strcmp(t->cols[k].name, name) == 0 && strcmp(sql, want) == 0 &&
			    strcmp(t->cols[k].type.name, "mysql.LONGTEXT") == 0)
				json = &t->cols[k];
		}
		if (json) {
			memset(&json->type, 0, sizeof json->type);
			json->type.name = "JSON";
			json->type.timezone = -1;
			continue;
		}
		if (!(t->checks = ath_rf__grow(rf, t->checks, t->nchecks, sizeof *t->checks)))
			return ath_rf__oom(rf);
		t->checks[t->nchecks++] = (ath_rf_check){ name, sql };
	}
	ath_rf__rows_free(&r);
	return 0;
}

static int my_table(ath_rf *rf, const char *schema, const char *name, ath_rf_table *t)
{
	memset(t, 0, sizeof *t);
	t->name = ath_rf__dup(rf, name, strlen(name));
	t->schema = schema;
	const char *p[2] = { name, schema };
	ath_rf_rows r;
	int rc = ath_rf__query(rf, &r, "SELECT TABLE_COMMENT FROM information_schema.TABLES WHERE " WHERE_T, 2, p);
	if (rc)
		return rc;
	uint32_t found = r.n;
	if (found) {
		const char *c = ath_rf__str(rf, &r.row[0], 0);
		t->comment = c && *c ? c : NULL;
	}
	ath_rf__rows_free(&r);
	if (!found)
		return ath_err__set(rf->err, ATH_ENOTFOUND, ATH_ERRCLASS_NO_SUCH_TABLE_ERROR, "%.200s", name);
	rc = columns(rf, t, p);
	if (!rc)
		rc = constraints(rf, t, p);
	if (!rc)
		rc = indexes(rf, t, p);
	if (!rc)
		rc = checks(rf, t, p);
	return rc;
}

const ath_reflect_ops ath_reflect_mysql = {
	.version = 2,
	.schema_names_sql = "SELECT SCHEMA_NAME FROM information_schema.SCHEMATA ORDER BY SCHEMA_NAME",
	.default_schema_sql = "SELECT DATABASE()",
	.table_names_sql = "SELECT TABLE_NAME FROM information_schema.TABLES WHERE TABLE_SCHEMA = coalesce(:a, DATABASE()) "
			   "AND TABLE_TYPE = CASE WHEN :b = 'view' THEN 'VIEW' ELSE 'BASE TABLE' END ORDER BY TABLE_NAME",
	.sequence_names_sql = NULL,
	.where_option = "mysql_where",
	.table = my_table,
	.type = my_type,
	/* the SELECT as information_schema keeps it; SQLAlchemy's SHOW CREATE TABLE would need the name
	 * in the SQL text, and reflection binds every name */
	.view_definition_sql = "SELECT VIEW_DEFINITION FROM information_schema.VIEWS WHERE TABLE_SCHEMA = coalesce(:a, DATABASE()) "
			       "AND TABLE_NAME = :b",
};
