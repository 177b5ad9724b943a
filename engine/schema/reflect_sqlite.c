/* reflect_sqlite.c — SQLite's catalog for reflection: pragma_table_list, pragma_table_xinfo,
 * pragma_foreign_key_list, pragma_index_list / pragma_index_xinfo as table-valued functions with
 * bound arguments, and the CREATE TABLE / CREATE INDEX text of sqlite_master parsed for what the
 * pragmas do not tell (constraint names, CHECK text, generated-column expressions, index
 * expressions and WHERE). Mirrors sqlalchemy/dialects/sqlite/base.py SQLiteDialect.get_columns,
 * get_pk_constraint, get_foreign_keys, get_indexes, get_unique_constraints, get_check_constraints
 * and _resolve_type_affinity. Only the main and temp schemas (attached databases would need the
 * schema name in the SQL text). */
#include <ctype.h>
#include <string.h>
#include <strings.h>

#include "schema/reflect.h"

/* ---- CREATE TABLE text: top-level items ------------------------------------------------------ */

typedef struct span {
	const char *p;
	size_t n;
} span;

static const char *skip_quoted(const char *p)
{
	char q = *p == '[' ? ']' : *p;
	for (p++; *p; p++)
		if (*p == q) {
			if (q != ']' && p[1] == q)
				p++;
			else
				return p + 1;
		}
	return p;
}

/* Split the text between the first '(' (after `from`) and its closing ')' at top-level commas;
 * `*after` points past the ')'. */
static uint32_t split_items(const char *sql, span *items, uint32_t max, const char **after)
{
	const char *p = sql ? strchr(sql, '(') : NULL;
	uint32_t n = 0;
	if (!p)
		return 0;
	const char *start = ++p;
	int depth = 0;
	while (*p) {
		if (*p == '\'' || *p == '"' || *p == '`' || *p == '[') {
			p = skip_quoted(p);
			continue;
		}
		if (*p == '(')
			depth++;
		else if (*p == ')' && depth-- == 0)
			break;
		if (*p == ',' && depth == 0) {
			if (n < max)
				items[n++] = (span){ start, (size_t)(p - start) };
			start = p + 1;
		}
		p++;
	}
	if (n < max)
		items[n++] = (span){ start, (size_t)(p - start) };
	if (after)
		*after = *p ? p + 1 : p;
	return n;
}

static const char *ws(const char *p, const char *end)
{
	while (p < end && isspace((unsigned char)*p))
		p++;
	return p;
}

static bool kw(const char **pp, const char *end, const char *word)
{
	const char *p = ws(*pp, end);
	size_t n = strlen(word);
	if ((size_t)(end - p) < n || strncasecmp(p, word, n) != 0 || (p + n < end && (isalnum((unsigned char)p[n]) || p[n] == '_')))
		return false;
	*pp = p + n;
	return true;
}

/* An identifier (bare or quoted) into the arena. */
static const char *ident(ath_rf *rf, const char **pp, const char *end)
{
	const char *p = ws(*pp, end);
	if (p >= end)
		return NULL;
	char buf[256];
	size_t n = 0;
	if (*p == '"' || *p == '`' || *p == '[') {
		char q = *p == '[' ? ']' : *p;
		for (p++; p < end && n < sizeof buf - 1; p++) {
			if (*p == q) {
				if (q != ']' && p + 1 < end && p[1] == q)
					p++;
				else {
					p++;
					break;
				}
			}
			buf[n++] = *p;
		}
	} else {
		while (p < end && n < sizeof buf - 1 && (isalnum((unsigned char)*p) || *p == '_' || (unsigned char)*p >= 0x80))
			buf[n++] = *p++;
		if (!n)
			return NULL;
	}
	*pp = p;
	return ath_rf__dup(rf, buf, n);
}

/* The text inside the parentheses starting at *pp (balanced), trimmed. */
static const char *paren_text(ath_rf *rf, const char **pp, const char *end)
{
	const char *p = ws(*pp, end);
	if (p >= end || *p != '(')
		return NULL;
	const char *start = ++p;
	int depth = 0;
	while (p < end) {
		if (*p == '\'' || *p == '"' || *p == '`' || *p == '[') {
			p = skip_quoted(p);
			continue;
		}
		if (*p == '(')
			depth++;
		else if (*p == ')' && depth-- == 0)
			break;
		p++;
	}
	*pp = p < end ? p + 1 : p;
	const char *s = ws(start, p);
	const char *e = p;
	while (e > s && isspace((unsigned char)e[-1]))
		e--;
	return ath_rf__dup(rf, s, (size_t)(e - s));
}

/* A parenthesised list of column names. */
static int ident_list(ath_rf *rf, const char **pp, const char *end, ath_rf_names *out)
{
	const char *p = ws(*pp, end);
	memset(out, 0, sizeof *out);
	if (p >= end || *p != '(')
		return -1;
	p++;
	for (;;) {
		const char *s = ident(rf, &p, end);
		if (!s || ath_rf__names_push(rf, out, s))
			return -1;
		p = ws(p, end);
		while (p < end && *p != ',' && *p != ')')
			p++; /* ASC / DESC / COLLATE */
		if (p >= end || *p == ')')
			break;
		p++;
	}
	*pp = p < end ? p + 1 : p;
	return 0;
}

static bool same_names(const ath_rf_names *a, const ath_rf_names *b)
{
	if (a->n != b->n)
		return false;
	for (uint32_t i = 0; i < a->n; i++)
		if (strcmp(a->v[i], b->v[i]) != 0)
			return false;
	return true;
}

/* ---- types (SQLiteDialect.ischema_names + _resolve_type_affinity) ----------------------------- */

static int sqlite_type(ath_rf *rf, const char *sqltype, ath_rf_type *t)
{
	memset(t, 0, sizeof *t);
	t->timezone = -1;
	int64_t a[2];
	uint32_t na;
	const char *b = ath_rf__split_type(rf, sqltype ? sqltype : "", a, &na);
	if (!b)
		return ATH_ENOMEM;
	static const struct {
		const char *sql, *wire;
		uint8_t args;
	} map[] = {
		{ "integer", "Integer", 0 }, { "int", "Integer", 0 }, { "bigint", "BigInteger", 0 },
		{ "smallint", "SmallInteger", 0 }, { "boolean", "Boolean", 0 }, { "bool", "Boolean", 0 },
		{ "varchar", "String", 1 }, { "nvarchar", "String", 1 }, { "text", "Text", 1 }, { "float", "Float", 1 },
		{ "numeric", "Numeric", 2 }, { "decimal", "Numeric", 2 }, { "date", "Date", 0 },
		{ "datetime", "DateTime", 0 }, { "time", "Time", 0 }, { "blob", "LargeBinary", 0 }, { "json", "JSON", 0 },
		{ "real", "sqlite.REAL", 0 }, { "char", "sqlite.CHAR", 1 }, { "nchar", "sqlite.NCHAR", 1 },
		{ "timestamp", "sqlite.TIMESTAMP", 0 }, { "double", "Double", 0 }, { "double precision", "Double", 0 },
	};
	for (size_t i = 0; i < sizeof map / sizeof *map; i++)
		if (strcmp(b, map[i].sql) == 0) {
			t->name = map[i].wire;
			t->nargs = na < map[i].args ? na : map[i].args;
			memcpy(t->args, a, sizeof a);
			return 0;
		}
	/* affinity (https://www.sqlite.org/datatype3.html 3.1) */
	t->name = strstr(b, "int") ? "Integer"
		: (strstr(b, "char") || strstr(b, "clob") || strstr(b, "text")) ? "Text"
		: (!*b || strstr(b, "blob")) ? "LargeBinary"
		: (strstr(b, "real") || strstr(b, "floa") || strstr(b, "doub")) ? "Float"
		: "Numeric";
	return 0;
}

/* ---- queries ---------------------------------------------------------------------------------- */

#define MASTER(cols, cond) \
	"SELECT " cols " FROM sqlite_master WHERE " cond " AND coalesce(:b, 'main') = 'main' UNION ALL " \
	"SELECT " cols " FROM sqlite_temp_master WHERE " cond " AND :b = 'temp'"

static int check_schema(ath_rf *rf, const char *schema)
{
	if (schema && strcmp(schema, "main") != 0 && strcmp(schema, "temp") != 0)
		return ath_err__set(rf->err, ATH_EINVALID, ATH_ERRCLASS_NOT_SUPPORTED_ERROR,
				    "reflection of attached SQLite databases is not supported (schema '%.60s')", schema);
	return 0;
}

static int one_sql(ath_rf *rf, const char *query, const char *name, const char *schema, const char **out)
{
	const char *p[2] = { name, schema };
	ath_rf_rows r;
	*out = NULL;
	int rc = ath_rf__query(rf, &r, query, 2, p);
	if (rc)
		return rc;
	uint32_t n = r.n;
	if (n)
		*out = ath_rf__str(rf, &r.row[0], 0);
	ath_rf__rows_free(&r);
	return n ? 0 : ATH_ENOTFOUND;
}

#define MAX_ITEMS 1024

static int columns(ath_rf *rf, ath_rf_table *t, const char *schema, const span *items, uint32_t nitems)
{
	const char *p[2] = { t->name, schema ? schema : "main" };
	ath_rf_rows r;
	int rc = ath_rf__query(rf, &r,
			       "SELECT name, type, \"notnull\", dflt_value, pk, hidden FROM pragma_table_xinfo(:a, :b) "
			       "WHERE hidden != 1 ORDER BY cid",
			       2, p);
	if (rc)
		return rc;
	if (r.n && !(t->cols = ath_arena__zalloc(&rf->arena, r.n * sizeof *t->cols)))
		rc = ath_rf__oom(rf);
	uint32_t npk = 0;
	for (uint32_t i = 0; !rc && i < r.n; i++) {
		ath_rf_column *c = &t->cols[t->ncols++];
		const msgpack_object *row = &r.row[i];
		c->name = ath_rf__str(rf, row, 0);
		if ((rc = sqlite_type(rf, ath_rf__str(rf, row, 1), &c->type)))
			break;
		c->nullable = !ath_rf__bool(row, 2);
		c->default_ = ath_rf__str(rf, row, 3);
		c->autoincrement = -1;
		c->persisted = -1;
		int64_t pk = ath_rf__int(row, 4, 0), hidden = ath_rf__int(row, 5, 0);
		if (pk > (int64_t)npk)
			npk = (uint32_t)pk;
		if (hidden == 2 || hidden == 3) { /* generated: the expression from the CREATE TABLE text */
			c->persisted = hidden == 3;
			for (uint32_t k = 0; k < nitems; k++) {
				const char *q = items[k].p, *end = q + items[k].n;
				const char *name = ident(rf, &q, end);
				if (!name || strcmp(name, c->name) != 0)
					continue;
				while (q < end) {
					if (kw(&q, end, "AS")) {
						c->computed = paren_text(rf, &q, end);
						break;
					}
					q = ws(q, end);
					if (*q == '(' || *q == '\'' || *q == '"') {
						if (*q == '(')
							paren_text(rf, &q, end);
						else
							q = skip_quoted(q);
					} else {
						while (q < end && !isspace((unsigned char)*q) && *q != '(')
							q++;
					}
				}
				break;
			}
			if (!c->computed)
				c->computed = ath_rf__dup(rf, "", 0);
			c->persisted = hidden == 3 ? 1 : 0;
		}
	}
	/* primary key in key order */
	for (uint32_t k = 1; !rc && k <= npk; k++)
		for (uint32_t i = 0; i < r.n; i++)
			if (ath_rf__int(&r.row[i], 4, 0) == (int64_t)k)
				rc = ath_rf__names_push(rf, &t->pk, t->cols[i].name);
	ath_rf__rows_free(&r);
	return rc;
}

static const char *action(ath_rf *rf, const msgpack_object *row, uint32_t i)
{
	const char *s = ath_rf__str(rf, row, i);
	return s && strcmp(s, "NO ACTION") != 0 ? s : NULL;
}

static int foreign_keys(ath_rf *rf, ath_rf_table *t, const char *schema, const span *items, uint32_t nitems)
{
	const char *p[2] = { t->name, schema ? schema : "main" };
	ath_rf_rows r;
	int rc = ath_rf__query(rf, &r,
			       "SELECT id, \"table\", \"from\", \"to\", on_update, on_delete FROM pragma_foreign_key_list(:a, :b) "
			       "ORDER BY id DESC, seq",
			       2, p);
	if (rc)
		return rc;
	int64_t last = -1;
	for (uint32_t i = 0; !rc && i < r.n; i++) {
		const msgpack_object *row = &r.row[i];
		int64_t id = ath_rf__int(row, 0, 0);
		if (id != last || !t->nfks) {
			if (!(t->fks = ath_rf__grow(rf, t->fks, t->nfks, sizeof *t->fks)))
				return ath_rf__oom(rf);
			ath_rf_fk *f = &t->fks[t->nfks++];
			memset(f, 0, sizeof *f);
			f->ref_table = ath_rf__str(rf, row, 1);
			f->onupdate = action(rf, row, 4);
			f->ondelete = action(rf, row, 5);
			f->deferrable = -1;
			last = id;
		}
		ath_rf_fk *f = &t->fks[t->nfks - 1];
		rc = ath_rf__names_push(rf, &f->cols, ath_rf__str(rf, row, 2));
		const char *to = ath_rf__str(rf, row, 3);
		if (!rc && to)
			rc = ath_rf__names_push(rf, &f->ref_cols, to);
	}
	ath_rf__rows_free(&r);
	/* names, DEFERRABLE / INITIALLY and implicit referred columns from the CREATE TABLE text */
	for (uint32_t k = 0; !rc && k < nitems; k++) {
		const char *q = items[k].p, *end = q + items[k].n;
		const char *name = NULL;
		if (kw(&q, end, "CONSTRAINT"))
			name = ident(rf, &q, end);
		if (!kw(&q, end, "FOREIGN") || !kw(&q, end, "KEY"))
			continue;
		ath_rf_names cols;
		if (ident_list(rf, &q, end, &cols))
			continue;
		for (uint32_t i = 0; i < t->nfks; i++) {
			ath_rf_fk *f = &t->fks[i];
			if (!same_names(&f->cols, &cols))
				continue;
			f->name = name;
			const char *d = q;
			while (d < end) {
				if (kw(&d, end, "NOT") && kw(&d, end, "DEFERRABLE"))
					f->deferrable = 0;
				else if (kw(&d, end, "DEFERRABLE"))
					f->deferrable = 1;
				else if (kw(&d, end, "INITIALLY")) {
					d = ws(d, end);
					f->initially = kw(&d, end, "DEFERRED") ? "DEFERRED" : kw(&d, end, "IMMEDIATE") ? "IMMEDIATE" : NULL;
				} else
					d++;
			}
			break;
		}
	}
	return rc;
}

static int indexes(ath_rf *rf, ath_rf_table *t, const char *schema, const span *items, uint32_t nitems)
{
	const char *p[2] = { t->name, schema ? schema : "main" };
	ath_rf_rows r;
	int rc = ath_rf__query(rf, &r, "SELECT name, \"unique\", origin FROM pragma_index_list(:a, :b) ORDER BY name", 2, p);
	if (rc)
		return rc;
	for (uint32_t i = 0; !rc && i < r.n; i++) {
		const msgpack_object *row = &r.row[i];
		const char *name = ath_rf__str(rf, row, 0), *origin = ath_rf__str(rf, row, 2);
		if (!name || !origin)
			return ath_rf__oom(rf);
		if (strcmp(origin, "pk") == 0)
			continue;
		bool uq = strcmp(origin, "u") == 0;
		ath_rf_index **arr = uq ? &t->uniques : &t->indexes;
		uint32_t *n = uq ? &t->nuniques : &t->nindexes;
		if (!(*arr = ath_rf__grow(rf, *arr, *n, sizeof **arr)))
			return ath_rf__oom(rf);
		ath_rf_index *x = &(*arr)[(*n)++];
		memset(x, 0, sizeof *x);
		x->name = name;
		x->unique = ath_rf__bool(row, 1);
		ath_rf_rows cols;
		const char *ip[2] = { name, p[1] };
		if ((rc = ath_rf__query(rf, &cols, "SELECT name FROM pragma_index_xinfo(:a, :b) WHERE key = 1 ORDER BY seqno", 2, ip)))
			break;
		for (uint32_t k = 0; !rc && k < cols.n; k++)
			rc = ath_rf__names_push(rf, &x->cols, ath_rf__str(rf, &cols.row[k], 0));
		ath_rf__rows_free(&cols);
		if (rc)
			break;
		if (uq) { /* the constraint's name, if it has one, from the CREATE TABLE text */
			x->name = NULL;
			for (uint32_t k = 0; k < nitems; k++) {
				const char *q = items[k].p, *end = q + items[k].n, *cname = NULL;
				if (kw(&q, end, "CONSTRAINT"))
					cname = ident(rf, &q, end);
				ath_rf_names ucols;
				if (kw(&q, end, "UNIQUE") && !ident_list(rf, &q, end, &ucols) && same_names(&ucols, &x->cols)) {
					x->name = cname;
					break;
				}
			}
			continue;
		}
		/* expressions and WHERE from the CREATE INDEX text */
		const char *isql = NULL;
		rc = one_sql(rf, MASTER("sql", "type = 'index' AND name = :a"), name, schema, &isql);
		if (rc == ATH_ENOTFOUND || (!rc && !isql)) { /* no CREATE INDEX text; a failure is not that */
			rc = 0;
			continue;
		}
		if (rc)
			break;
		const char *on = strstr(isql, " ON ");
		span parts[64];
		const char *after = NULL;
		uint32_t np = split_items(on ? on : isql, parts, 64, &after);
		bool has_expr = false;
		for (uint32_t k = 0; k < x->cols.n; k++)
			has_expr |= !x->cols.v[k];
		if (has_expr && np == x->cols.n) {
			x->exprs.v = ath_arena__zalloc(&rf->arena, x->cols.n * sizeof *x->exprs.v);
			if (!x->exprs.v)
				return ath_rf__oom(rf);
			x->exprs.n = x->cols.n;
			for (uint32_t k = 0; k < np; k++) {
				const char *s = ws(parts[k].p, parts[k].p + parts[k].n), *e = parts[k].p + parts[k].n;
				while (e > s && isspace((unsigned char)e[-1]))
					e--;
				if (!x->cols.v[k])
					x->exprs.v[k] = ath_rf__dup(rf, s, (size_t)(e - s));
			}
		}
		if (after) {
			const char *end = after + strlen(after);
			if (kw(&after, end, "WHERE")) {
				const char *s = ws(after, end), *e = end;
				while (e > s && (isspace((unsigned char)e[-1]) || e[-1] == ';'))
					e--;
				x->where = ath_rf__dup(rf, s, (size_t)(e - s));
			}
		}
	}
	ath_rf__rows_free(&r);
	return rc;
}

static int checks(ath_rf *rf, ath_rf_table *t, const span *items, uint32_t nitems)
{
	for (uint32_t k = 0; k < nitems; k++) {
		const char *q = items[k].p, *end = q + items[k].n, *name = NULL;
		if (kw(&q, end, "CONSTRAINT"))
			name = ident(rf, &q, end);
		if (!kw(&q, end, "CHECK"))
			continue;
		const char *sql = paren_text(rf, &q, end);
		if (!sql)
			continue;
		if (!(t->checks = ath_rf__grow(rf, t->checks, t->nchecks, sizeof *t->checks)))
			return ath_rf__oom(rf);
		t->checks[t->nchecks++] = (ath_rf_check){ name, sql };
	}
	return 0;
}

static int sqlite_table(ath_rf *rf, const char *schema, const char *name, ath_rf_table *t)
{
	int rc = check_schema(rf, schema);
	if (rc)
		return rc;
	memset(t, 0, sizeof *t);
	t->name = ath_rf__dup(rf, name, strlen(name));
	t->schema = schema;
	const char *sql = NULL;
	rc = one_sql(rf, MASTER("sql", "type IN ('table', 'view') AND name = :a"), name, schema, &sql);
	if (rc == ATH_ENOTFOUND)
		return ath_err__set(rf->err, ATH_ENOTFOUND, ATH_ERRCLASS_NO_SUCH_TABLE_ERROR, "%.200s", name);
	if (rc)
		return rc;
	span *items = ath_arena__zalloc(&rf->arena, MAX_ITEMS * sizeof *items);
	if (!items)
		return ath_rf__oom(rf);
	uint32_t nitems = split_items(sql, items, MAX_ITEMS, NULL);
	if (!rc)
		rc = columns(rf, t, schema, items, nitems);
	for (uint32_t k = 0; !rc && k < nitems && t->pk.n; k++) { /* CONSTRAINT name PRIMARY KEY */
		const char *q = items[k].p, *end = q + items[k].n, *cname;
		if (kw(&q, end, "CONSTRAINT") && (cname = ident(rf, &q, end)) && kw(&q, end, "PRIMARY"))
			t->pk_name = cname;
	}
	if (!rc)
		rc = foreign_keys(rf, t, schema, items, nitems);
	if (!rc)
		rc = indexes(rf, t, schema, items, nitems);
	if (!rc)
		rc = checks(rf, t, items, nitems);
	return rc;
}

const ath_reflect_ops ath_reflect_sqlite = {
	.version = 2,
	.schema_names_sql = "SELECT name FROM pragma_database_list WHERE name <> 'temp' ORDER BY seq",
	.default_schema_sql = "SELECT 'main'",
	.table_names_sql = "SELECT name FROM pragma_table_list WHERE schema = coalesce(:a, 'main') AND type = :b "
			   "AND name NOT LIKE 'sqlite~_%' ESCAPE '~' ORDER BY name",
	.sequence_names_sql = NULL,
	.where_option = "sqlite_where",
	.table = sqlite_table,
	.type = sqlite_type,
	/* sqlite_master keeps the CREATE VIEW statement, which SQLAlchemy returns as it is */
	.view_definition_sql = "SELECT sql FROM sqlite_master WHERE type = 'view' AND name = :b AND coalesce(:a, 'main') = 'main' "
			       "UNION ALL SELECT sql FROM sqlite_temp_master WHERE type = 'view' AND name = :b AND :a = 'temp'",
};
