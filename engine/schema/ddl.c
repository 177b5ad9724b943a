/* ddl.c — DDL text for a metadata, per dialect: CREATE TABLE (columns, types, DEFAULT, NOT NULL,
 * SERIAL / AUTO_INCREMENT / IDENTITY, computed columns, PRIMARY KEY, FOREIGN KEY with actions and
 * deferrability, UNIQUE, CHECK, MySQL's inline comments), CREATE INDEX (functional, partial),
 * COMMENT ON, CREATE SEQUENCE, PostgreSQL ENUM types, and create_all / drop_all: tables sorted by
 * foreign-key dependency, cycles broken with ALTER TABLE ADD CONSTRAINT, drops in reverse.
 * Mirrors sqlalchemy/sql/ddl.py (SchemaGenerator, SchemaDropper, sort_tables_and_constraints),
 * sqlalchemy/util/topological.py, and the DDLCompiler of sql/compiler.py and of each dialect;
 * dialect differences come only from dialect->ddl (dialects/ddl_dialect.h). Executing the
 * statements is engine/schema/create.c's. */
#include "schema/ddl.h"

#include <inttypes.h>
#include <stdio.h>
#include <string.h>

#include "dialects/ddl_dialect.h"
#include "sql/compiler.h"
#include "types/ddl_typename.h"
#include "types/typename.h"
#include "util/alloc.h"

#define Q(b, d, name) ath_sql__quote(b, d, name)

static int compile_fail(ath_err *err, const char *table, const char *column, const char *msg)
{
	if (column)
		return ath_err__set(err, ATH_ERROR, ATH_ERRCLASS_COMPILE_ERROR, "(in table '%s', column '%s'): %s", table, column, msg);
	return ath_err__set(err, ATH_ERROR, ATH_ERRCLASS_COMPILE_ERROR, "(in table '%s'): %s", table, msg);
}

static void table_name(ath_strbuf *b, const ath_dialect *d, const ath_table *t)
{
	if (t->schema) {
		Q(b, d, t->schema);
		ath_strbuf__putc(b, '.');
	}
	Q(b, d, t->name);
}

static int expr(ath_strbuf *b, const ath_dialect *d, const ath_table *t, const char *col, const ath_node *n, ath_err *err)
{
	int rc = ath_sql__ddl_expr(b, d, n, err);
	if (rc && err->klass == ATH_ERRCLASS_COMPILE_ERROR)
		ath_err__prefix(err, col ? "(in table '%s', column '%s'): " : "(in table '%s'): ", t->name, col);
	return rc;
}

static void seq_options(ath_strbuf *b, const ath_sequence *s, int is_sequence)
{
	/* DDLCompiler.get_identity_options; a sequence starts at 1 when not told (default_sequence_base) */
	const char *sep = "";
	if (s->has_increment)
		ath_strbuf__printf(b, "%sINCREMENT BY %" PRId64, sep, s->increment), sep = " ";
	if (s->has_start || is_sequence)
		ath_strbuf__printf(b, "%sSTART WITH %" PRId64, sep, s->has_start ? s->start : 1), sep = " ";
	if (s->has_minvalue)
		ath_strbuf__printf(b, "%sMINVALUE %" PRId64, sep, s->minvalue), sep = " ";
	if (s->has_maxvalue)
		ath_strbuf__printf(b, "%sMAXVALUE %" PRId64, sep, s->maxvalue), sep = " ";
	if (s->has_cache)
		ath_strbuf__printf(b, "%sCACHE %" PRId64, sep, s->cache), sep = " ";
	if (s->order)
		ath_strbuf__printf(b, "%sORDER", sep), sep = " ";
	if (s->cycle)
		ath_strbuf__printf(b, "%sCYCLE", sep);
}

static int is_sql_expr_default(const ath_sexpr *e)
{
	/* SQLite parenthesises a ColumnElement default; a string literal and text() are not ones */
	return !(e->node->kind == ATH_N_TEXT || (e->node->kind == ATH_N_LIT && e->node->value->type == MSGPACK_OBJECT_STR));
}

static int serial_column(const ath_table *t, const ath_column *c, const ath_ddl_dialect *x)
{
	return x->serial && c->primary_key && c == t->autoinc && !c->identity &&
	       (!c->default_.node && (!c->sequence || c->sequence->optional));
}

static int column_spec(ath_strbuf *b, const ath_table *t, const ath_column *c, const ath_dialect *d, ath_err *err)
{
	const ath_ddl_dialect *x = d->ddl;
	char msg[256];
	int rc;
	if (x->no_composite_autoinc && c->primary_key && c->autoincrement == 1 && t->pk->ncolumns != 1)
		return compile_fail(err, t->name, c->name, "SQLite does not support autoincrement for composite primary keys");
	Q(b, d, c->name);
	ath_strbuf__putc(b, ' ');
	int serial = serial_column(t, c, x);
	if (serial)
		ath_strbuf__puts(b, c->type.kind == ATH_T_BIGINT ? "BIGSERIAL" : c->type.kind == ATH_T_SMALLINT ? "SMALLSERIAL" : "SERIAL");
	else if (ath_typename__ddl(b, &c->type, d, msg, sizeof msg))
		return compile_fail(err, t->name, c->name, msg);
	int identity = c->identity && x->supports_identity;
	int autoinc_suffix = x->autoincrement && c == t->autoinc && (!c->server_default.node) &&
			     !(x->supports_sequences && c->sequence && !c->sequence->optional);
	ath_strbuf dflt = ATH_STRBUF_INIT;
	if (c->server_default.node && !serial) {
		int paren = x->default_expr_parens && is_sql_expr_default(&c->server_default);
		if (paren)
			ath_strbuf__putc(&dflt, '(');
		if ((rc = expr(&dflt, d, t, c->name, c->server_default.node, err))) {
			ath_strbuf__free(&dflt);
			return rc;
		}
		if (paren)
			ath_strbuf__putc(&dflt, ')');
	}
	ath_strbuf comp = ATH_STRBUF_INIT;
	if (c->computed) {
		if (x->computed_always_stored && c->computed->persisted == 0) {
			ath_strbuf__free(&dflt);
			return compile_fail(err, t->name, c->name,
					    "PostrgreSQL computed columns do not support 'virtual' persistence; set the 'persisted' "
					    "flag to None or True for PostgreSQL support.");
		}
		ath_strbuf__puts(&comp, "GENERATED ALWAYS AS (");
		if ((rc = expr(&comp, d, t, c->name, c->computed->sql.node, err))) {
			ath_strbuf__free(&dflt);
			ath_strbuf__free(&comp);
			return rc;
		}
		ath_strbuf__putc(&comp, ')');
		if (x->computed_always_stored || c->computed->persisted == 1)
			ath_strbuf__puts(&comp, " STORED");
		else if (c->computed->persisted == 0)
			ath_strbuf__puts(&comp, " VIRTUAL");
	}
	/* a part that ran out of memory fails the statement (b's sticky flag), never vanishes from it */
	if (dflt.oom || comp.oom)
		b->oom = 1;
	switch (x->column_layout) {
	case ATH_DDL_COLUMNS_SQLITE:
		if (dflt.len)
			ath_strbuf__printf(b, " DEFAULT %s", dflt.ptr);
		if (!c->nullable)
			ath_strbuf__puts(b, " NOT NULL");
		if (comp.len)
			ath_strbuf__printf(b, " %s", comp.ptr);
		break;
	case ATH_DDL_COLUMNS_MYSQL:
		if (comp.len)
			ath_strbuf__printf(b, " %s", comp.ptr);
		if (!c->nullable)
			ath_strbuf__puts(b, " NOT NULL");
		if (c->comment && x->inline_comments) {
			ath_strbuf__puts(b, " COMMENT ");
			ath_sql__string_literal(b, d, c->comment, strlen(c->comment));
		}
		if (autoinc_suffix)
			ath_strbuf__printf(b, " %s", x->autoincrement);
		else if (dflt.len)
			ath_strbuf__printf(b, " DEFAULT %s", dflt.ptr);
		break;
	default:
		if (dflt.len)
			ath_strbuf__printf(b, " DEFAULT %s", dflt.ptr);
		if (comp.len)
			ath_strbuf__printf(b, " %s", comp.ptr);
		if (identity) {
			ath_strbuf__printf(b, " GENERATED %s AS IDENTITY", c->identity->always ? "ALWAYS" : "BY DEFAULT");
			ath_strbuf opts = ATH_STRBUF_INIT;
			seq_options(&opts, &c->identity->opts, 0);
			if (opts.oom)
				b->oom = 1;
			if (opts.len)
				ath_strbuf__printf(b, " (%s)", opts.ptr);
			ath_strbuf__free(&opts);
		}
		if (!c->nullable && !identity)
			ath_strbuf__puts(b, " NOT NULL");
		else if (c->nullable && identity)
			ath_strbuf__puts(b, " NULL");
	}
	ath_strbuf__free(&dflt);
	ath_strbuf__free(&comp);
	return 0;
}

static void column_list(ath_strbuf *b, const ath_dialect *d, const ath_column *const *cols, uint32_t n)
{
	for (uint32_t i = 0; i < n; i++) {
		if (i)
			ath_strbuf__puts(b, ", ");
		Q(b, d, cols[i]->name);
	}
}

static void deferrability(ath_strbuf *b, const ath_constraint *c)
{
	if (c->deferrable == 1)
		ath_strbuf__puts(b, " DEFERRABLE");
	else if (c->deferrable == 0)
		ath_strbuf__puts(b, " NOT DEFERRABLE");
	if (c->initially)
		ath_strbuf__printf(b, " INITIALLY %s", c->initially);
}

/* One constraint as it appears in CREATE TABLE / ALTER TABLE ADD; returns 1 when the dialect
 * renders nothing for it (SQLite's foreign key to another schema). */
static int constraint_sql(ath_strbuf *b, const ath_table *t, const ath_constraint *c, const ath_dialect *d, ath_err *err)
{
	if (c->kind == ATH_CK_FOREIGN_KEY && !d->ddl->cross_schema_fk &&
	    !((!t->schema && !c->ref_table->schema) || (t->schema && c->ref_table->schema && strcmp(t->schema, c->ref_table->schema) == 0)))
		return 1;
	if (c->name) {
		ath_strbuf__puts(b, "CONSTRAINT ");
		Q(b, d, c->name);
		ath_strbuf__putc(b, ' ');
	}
	switch (c->kind) {
	case ATH_CK_PRIMARY_KEY:
		ath_strbuf__puts(b, "PRIMARY KEY (");
		column_list(b, d, c->columns, c->ncolumns);
		ath_strbuf__putc(b, ')');
		break;
	case ATH_CK_UNIQUE:
		ath_strbuf__puts(b, "UNIQUE (");
		column_list(b, d, c->columns, c->ncolumns);
		ath_strbuf__putc(b, ')');
		deferrability(b, c);
		break;
	case ATH_CK_FOREIGN_KEY:
		ath_strbuf__puts(b, "FOREIGN KEY(");
		column_list(b, d, c->columns, c->ncolumns);
		ath_strbuf__puts(b, ") REFERENCES ");
		table_name(b, d, c->ref_table);
		ath_strbuf__puts(b, " (");
		column_list(b, d, c->ref_columns, c->ncolumns);
		ath_strbuf__putc(b, ')');
		if (c->match)
			ath_strbuf__printf(b, " MATCH %s", c->match);
		if (c->ondelete)
			ath_strbuf__printf(b, " ON DELETE %s", c->ondelete);
		if (c->onupdate)
			ath_strbuf__printf(b, " ON UPDATE %s", c->onupdate);
		deferrability(b, c);
		break;
	case ATH_CK_CHECK:
		ath_strbuf__puts(b, "CHECK (");
		if (c->check_column) {
			const ath_type *ty = &c->check_column->type;
			Q(b, d, c->check_column->name);
			ath_strbuf__puts(b, " IN (");
			if (ty->kind == ATH_T_BOOLEAN)
				ath_strbuf__puts(b, "0, 1");
			for (uint32_t i = 0; ty->kind == ATH_T_ENUM && i < ty->nvalues; i++) {
				if (i)
					ath_strbuf__puts(b, ", ");
				ath_sql__string_literal(b, d, ty->values[i], strlen(ty->values[i]));
			}
			ath_strbuf__putc(b, ')');
		} else {
			int rc = expr(b, d, t, NULL, c->sql.node, err);
			if (rc)
				return rc < 0 ? rc : -1;
		}
		ath_strbuf__putc(b, ')');
		deferrability(b, c);
		break;
	}
	return 0;
}

/* a type-made CHECK is created only where the type is not native (SQLAlchemy's _create_rule) */
static int check_applies(const ath_constraint *c, const ath_dialect *d)
{
	if (!c->check_column)
		return 1;
	const ath_type *ty = &c->check_column->type;
	if (ty->kind == ATH_T_BOOLEAN)
		return d->ddl->bool_check;
	return !ty->native_enum || (!d->ddl->native_enum_type && d->type_family != ATH_TYPES_MYSQL);
}

/* inline_fk[i]: constraint i (a foreign key) is rendered in the CREATE TABLE */
static int create_table_sql(ath_strbuf *b, const ath_table *t, const ath_dialect *d, const uint8_t *inline_fk,
			    int if_not_exists, ath_err *err)
{
	int rc;
	ath_strbuf__puts(b, if_not_exists ? "CREATE TABLE IF NOT EXISTS " : "CREATE TABLE ");
	table_name(b, d, t);
	ath_strbuf__puts(b, " (");
	const char *sep = "\n";
	for (uint32_t i = 0; i < t->ncolumns; i++) {
		ath_strbuf__puts(b, sep);
		ath_strbuf__putc(b, '\t');
		if ((rc = column_spec(b, t, &t->columns[i], d, err)))
			return rc;
		sep = ", \n";
	}
	const char *csep = sep;
	if (t->pk->ncolumns) {
		ath_strbuf__puts(b, csep);
		ath_strbuf__putc(b, '\t');
		constraint_sql(b, t, t->pk, d, err);
		csep = ", \n\t";
	} else {
		csep = ", \n\t";
		sep = NULL;
	}
	for (uint32_t i = 0; i < t->nconstraints; i++) {
		const ath_constraint *c = t->constraints[i];
		if (c->kind == ATH_CK_FOREIGN_KEY && !inline_fk[i])
			continue;
		if (c->kind == ATH_CK_CHECK && !check_applies(c, d))
			continue;
		ath_strbuf one = ATH_STRBUF_INIT;
		rc = constraint_sql(&one, t, c, d, err);
		if (rc < 0) {
			ath_strbuf__free(&one);
			return rc;
		}
		if (one.oom) /* what it rendered is cut short: fail the statement, never send it without */
			b->oom = 1;
		if (rc == 0) {
			if (!sep) { /* first constraint of a table without a primary key */
				ath_strbuf__puts(b, ", \n\t");
				sep = ", \n";
			} else {
				ath_strbuf__puts(b, csep);
			}
			ath_strbuf__put(b, one.ptr, one.len);
			csep = ", \n\t";
		}
		ath_strbuf__free(&one);
	}
	ath_strbuf__puts(b, "\n)");
	if (t->comment && d->ddl->inline_comments) {
		ath_strbuf__puts(b, "COMMENT=");
		ath_sql__string_literal(b, d, t->comment, strlen(t->comment));
	}
	return b->oom ? ath_err__oom(err) : 0;
}

int ath_ddl__create_table(ath_strbuf *b, const ath_table *t, const ath_dialect *d, int if_not_exists, ath_err *err)
{
	uint8_t *all = ath__malloc(t->nconstraints + 1);
	if (!all)
		return ath_err__oom(err);
	memset(all, 1, t->nconstraints + 1);
	int rc = create_table_sql(b, t, d, all, if_not_exists, err);
	ath__free(all);
	return rc;
}

int ath_ddl__drop_table(ath_strbuf *b, const ath_table *t, const ath_dialect *d, int if_exists, ath_err *err)
{
	ath_strbuf__puts(b, if_exists ? "DROP TABLE IF EXISTS " : "DROP TABLE ");
	table_name(b, d, t);
	return b->oom ? ath_err__oom(err) : 0;
}

static int needs_group(const ath_node *n, const ath_ddl_dialect *x)
{
	switch (n->kind) {
	case ATH_N_BINARY: case ATH_N_AND: case ATH_N_OR: case ATH_N_LIKE: case ATH_N_IN: case ATH_N_BETWEEN:
		return x->index_expr_group || x->functional_index_parens;
	case ATH_N_FN: case ATH_N_NOT: case ATH_N_NEG: case ATH_N_CAST:
		return x->functional_index_parens;
	case ATH_N_ORDER:
		return x->functional_index_parens && n->op != ATH_ORDER_ASC && n->op != ATH_ORDER_DESC;
	default:
		return 0;
	}
}

int ath_ddl__create_index(ath_strbuf *b, const ath_index *ix, const ath_dialect *d, ath_err *err)
{
	const ath_table *t = ix->table;
	ath_strbuf__puts(b, ix->unique ? "CREATE UNIQUE INDEX " : "CREATE INDEX ");
	Q(b, d, ix->name);
	ath_strbuf__puts(b, " ON ");
	table_name(b, d, t);
	ath_strbuf__puts(b, " (");
	for (uint32_t i = 0; i < ix->nitems; i++) {
		if (i)
			ath_strbuf__puts(b, ", ");
		if (ix->item_columns[i]) {
			Q(b, d, ix->item_columns[i]->name);
			continue;
		}
		int g = needs_group(ix->items[i].node, d->ddl);
		if (g)
			ath_strbuf__putc(b, '(');
		int rc = expr(b, d, t, NULL, ix->items[i].node, err);
		if (rc)
			return rc;
		if (g)
			ath_strbuf__putc(b, ')');
	}
	ath_strbuf__putc(b, ')');
	if (ix->where.node && d->ddl->partial_indexes) {
		ath_strbuf__puts(b, " WHERE ");
		int rc = expr(b, d, t, NULL, ix->where.node, err);
		if (rc)
			return rc;
	}
	return b->oom ? ath_err__oom(err) : 0;
}

int ath_ddl__drop_index(ath_strbuf *b, const ath_index *ix, const ath_dialect *d, ath_err *err)
{
	ath_strbuf__puts(b, "DROP INDEX ");
	if (ix->table->schema && d->ddl->native_enum_type) { /* PostgreSQL: the index lives in the table's schema */
		Q(b, d, ix->table->schema);
		ath_strbuf__putc(b, '.');
	}
	Q(b, d, ix->name);
	if (d->type_family == ATH_TYPES_MYSQL) { /* MySQLDDLCompiler.visit_drop_index */
		ath_strbuf__puts(b, " ON ");
		table_name(b, d, ix->table);
	}
	return b->oom ? ath_err__oom(err) : 0;
}

/* ---- create_all / drop_all ------------------------------------------------------------------- */

static int emit(const ath_ddl_sink *s, ath_strbuf *b, ath_err *err)
{
	if (b->oom)
		return ath_err__oom(err);
	int rc = s->emit(s->payload, b->ptr ? b->ptr : "", b->len, err);
	ath_strbuf__reset(b);
	return rc;
}

typedef struct sorter {
	const ath_metadata *md;
	uint32_t n;            /* tables taking part */
	const ath_table **tables;
	uint8_t **remaining;   /* remaining[table pos][constraint]: the FK is left for ALTER */
	uint8_t *edges;        /* edges[parent * N + child], N = md->ntables */
	uint8_t *fixed;        /* fixed edges (filter_fn False): never removed */
	const ath_table **out;
} sorter;

static void sorter_free(sorter *s)
{
	if (s->remaining)
		for (uint32_t i = 0; i < s->md->ntables; i++)
			ath__free(s->remaining[i]);
	ath__free(s->remaining);
	ath__free(s->edges);
	ath__free(s->fixed);
	ath__free(s->out);
	ath__free(s->tables);
}

/* topological.sort_as_subsets: rounds of every table (in the given order) whose parents are done.
 * Returns 0 when all are sorted; else 1 and `in_cycle` marks the tables left on or between cycles. */
static int topo(sorter *s, uint8_t *in_cycle)
{
	uint32_t N = s->md->ntables, done_n = 0;
	uint8_t *done = ath__calloc(N + 1, 1), *todo = ath__calloc(N + 1, 1);
	if (!done || !todo) {
		ath__free(done);
		ath__free(todo);
		return -1;
	}
	for (uint32_t i = 0; i < s->n; i++)
		todo[s->tables[i]->pos] = 1;
	while (done_n < s->n) {
		uint32_t round_start = done_n;
		for (uint32_t i = 0; i < s->n; i++) {
			uint32_t c = s->tables[i]->pos;
			if (!todo[c])
				continue;
			int ready = 1;
			for (uint32_t p = 0; p < N && ready; p++)
				if (todo[p] && p != c && s->edges[p * N + c])
					ready = 0;
			if (ready)
				s->out[done_n++] = s->tables[i];
		}
		if (done_n == round_start)
			break;
		for (uint32_t i = round_start; i < done_n; i++)
			todo[s->out[i]->pos] = 0;
	}
	int cyclic = done_n < s->n;
	if (cyclic && in_cycle) { /* prune tables nothing left depends on: the rest is on cycles */
		memcpy(in_cycle, todo, N);
		for (int changed = 1; changed;) {
			changed = 0;
			for (uint32_t a = 0; a < N; a++) {
				if (!in_cycle[a])
					continue;
				int has_child = 0, has_parent = 0;
				for (uint32_t b2 = 0; b2 < N; b2++) {
					if (!in_cycle[b2] || b2 == a)
						continue;
					has_child |= s->edges[a * N + b2];
					has_parent |= s->edges[b2 * N + a];
				}
				if (!has_child || !has_parent) {
					in_cycle[a] = 0;
					changed = 1;
				}
			}
		}
	}
	ath__free(done);
	ath__free(todo);
	return cyclic;
}

/* sort_tables_and_constraints: `drop` applies SchemaDropper's filter (an unnamed foreign key, or
 * any on a backend without ALTER, must stay a dependency). Returns 0, 1 when a cycle could not be
 * broken (drop only), or an error. */
static int sort_tables(sorter *s, const ath_metadata *md, const ath_table **tables, uint32_t n, const ath_dialect *d,
		       int drop, uint8_t *in_cycle, ath_err *err)
{
	uint32_t N = md->ntables;
	memset(s, 0, sizeof *s);
	s->md = md;
	s->n = n;
	s->tables = ath__calloc(n + 1, sizeof *s->tables);
	s->out = ath__calloc(n + 1, sizeof *s->out);
	s->remaining = ath__calloc(N + 1, sizeof *s->remaining);
	s->edges = ath__calloc((size_t)N * N + 1, 1);
	s->fixed = ath__calloc((size_t)N * N + 1, 1);
	if (!s->tables || !s->out || !s->remaining || !s->edges || !s->fixed)
		return ath_err__oom(err);
	memcpy(s->tables, tables, n * sizeof *tables);
	for (uint32_t i = 0; i < N; i++)
		if (!(s->remaining[i] = ath__calloc(md->tables[i].nconstraints + 1, 1)))
			return ath_err__oom(err);
	uint8_t *present = ath__calloc(N + 1, 1);
	if (!present)
		return ath_err__oom(err);
	for (uint32_t i = 0; i < n; i++)
		present[tables[i]->pos] = 1;
	for (uint32_t i = 0; i < n; i++) {
		const ath_table *t = tables[i];
		for (uint32_t k = 0; k < t->nconstraints; k++) {
			const ath_constraint *c = t->constraints[k];
			if (c->kind != ATH_CK_FOREIGN_KEY)
				continue;
			if (c->use_alter) {
				s->remaining[t->pos][k] = 1;
				continue;
			}
			if (c->ref_table == t || !present[c->ref_table->pos])
				continue;
			s->edges[c->ref_table->pos * N + t->pos] = 1;
			if (drop && (!d->ddl->supports_alter || !c->name))
				s->fixed[c->ref_table->pos * N + t->pos] = 1;
		}
	}
	ath__free(present);
	uint8_t *cyc = ath__calloc(N + 1, 1);
	if (!cyc)
		return ath_err__oom(err);
	int rc = topo(s, cyc);
	if (rc == 1) {
		/* every foreign key of a table on a cycle becomes an ALTER (those the filter allows) */
		for (uint32_t i = 0; i < n; i++) {
			const ath_table *t = tables[i];
			if (!cyc[t->pos])
				continue;
			int has_edge = 0;
			for (uint32_t p = 0; p < N; p++)
				has_edge |= s->edges[p * N + t->pos];
			if (!has_edge)
				continue;
			for (uint32_t k = 0; k < t->nconstraints; k++) {
				const ath_constraint *c = t->constraints[k];
				if (c->kind != ATH_CK_FOREIGN_KEY || (drop && (!d->ddl->supports_alter || !c->name)))
					continue;
				s->remaining[t->pos][k] = 1;
				if (c->ref_table != t && !s->fixed[c->ref_table->pos * N + t->pos])
					s->edges[c->ref_table->pos * N + t->pos] = 0;
			}
		}
		rc = topo(s, in_cycle);
	}
	ath__free(cyc);
	return rc < 0 ? ath_err__oom(err) : rc;
}

static int exists(const ath_ddl_sink *s, int what, const char *schema, const char *name, int *out, ath_err *err)
{
	*out = 0;
	return s->exists ? s->exists(s->payload, what, schema, name, out, err) : 0;
}

static int alter_fk(ath_strbuf *b, const ath_table *t, const ath_constraint *c, const ath_dialect *d, int add, ath_err *err)
{
	ath_strbuf__puts(b, "ALTER TABLE ");
	table_name(b, d, t);
	if (add) {
		ath_strbuf__puts(b, " ADD ");
		int rc = constraint_sql(b, t, c, d, err);
		return rc < 0 ? rc : 0;
	}
	ath_strbuf__printf(b, " %s ", d->ddl->drop_fk);
	Q(b, d, c->name);
	return 0;
}

int ath_ddl__create_all(const ath_metadata *md, const ath_dialect *d, const ath_ddl_sink *s, ath_err *err)
{
	const ath_ddl_dialect *x = d->ddl;
	ath_strbuf b = ATH_STRBUF_INIT;
	const ath_table **tables = ath__calloc(md->ntables + 1, sizeof *tables);
	if (!tables)
		return ath_err__oom(err);
	uint32_t n = 0;
	int rc = 0;
	for (uint32_t i = 0; i < md->ntables && !rc; i++) {
		int ex;
		if (!(rc = exists(s, ATH_DDL_TABLE, md->tables[i].schema, md->tables[i].name, &ex, err)) && !ex)
			tables[n++] = &md->tables[i];
	}
	sorter so;
	if (!rc)
		rc = sort_tables(&so, md, tables, n, d, 0, NULL, err);
	else
		memset(&so, 0, sizeof so);
	/* the metadata's before_create: PostgreSQL ENUM types */
	for (uint32_t i = 0; !rc && x->native_enum_type && i < md->nenums; i++) {
		int ex;
		if ((rc = exists(s, ATH_DDL_TYPE, md->enums[i].schema, md->enums[i].name, &ex, err)) || ex)
			continue;
		ath_strbuf__puts(&b, "CREATE TYPE ");
		Q(&b, d, md->enums[i].name);
		ath_strbuf__puts(&b, " AS ENUM (");
		for (uint32_t v = 0; v < md->enums[i].type->nvalues; v++) {
			if (v)
				ath_strbuf__puts(&b, ", ");
			ath_sql__string_literal(&b, d, md->enums[i].type->values[v], strlen(md->enums[i].type->values[v]));
		}
		ath_strbuf__putc(&b, ')');
		rc = emit(s, &b, err);
	}
	for (uint32_t i = 0; !rc && i < n; i++) {
		const ath_table *t = so.out[i];
		for (uint32_t k = 0; !rc && x->supports_sequences && k < t->ncolumns; k++) {
			const ath_sequence *q = t->columns[k].sequence;
			int ex;
			if (!q || q->optional || (rc = exists(s, ATH_DDL_SEQUENCE, q->schema, q->name, &ex, err)) || ex)
				continue;
			ath_strbuf__puts(&b, "CREATE SEQUENCE ");
			if (q->schema) {
				Q(&b, d, q->schema);
				ath_strbuf__putc(&b, '.');
			}
			Q(&b, d, q->name);
			ath_strbuf__putc(&b, ' ');
			seq_options(&b, q, 1);
			rc = emit(s, &b, err);
		}
		if (rc)
			break;
		uint8_t *inl = ath__malloc(t->nconstraints + 1);
		if (!inl) {
			rc = ath_err__oom(err);
			break;
		}
		for (uint32_t k = 0; k < t->nconstraints; k++)
			inl[k] = !x->supports_alter || !so.remaining[t->pos][k];
		rc = create_table_sql(&b, t, d, inl, 0, err);
		ath__free(inl);
		if (!rc)
			rc = emit(s, &b, err);
		for (uint32_t k = 0; !rc && k < t->nindexes; k++)
			if (!(rc = ath_ddl__create_index(&b, t->indexes[k], d, err)))
				rc = emit(s, &b, err);
		if (!rc && x->supports_comments) {
			if (t->comment) {
				ath_strbuf__puts(&b, "COMMENT ON TABLE ");
				table_name(&b, d, t);
				ath_strbuf__puts(&b, " IS ");
				ath_sql__string_literal(&b, d, t->comment, strlen(t->comment));
				rc = emit(s, &b, err);
			}
			for (uint32_t k = 0; !rc && k < t->ncolumns; k++) {
				if (!t->columns[k].comment)
					continue;
				ath_strbuf__puts(&b, "COMMENT ON COLUMN ");
				table_name(&b, d, t);
				ath_strbuf__putc(&b, '.');
				Q(&b, d, t->columns[k].name);
				ath_strbuf__puts(&b, " IS ");
				ath_sql__string_literal(&b, d, t->columns[k].comment, strlen(t->columns[k].comment));
				rc = emit(s, &b, err);
			}
		}
	}
	/* the foreign keys left out: ALTER TABLE ADD CONSTRAINT (SQLite keeps them inline) */
	for (uint32_t i = 0; !rc && x->supports_alter && i < n; i++) {
		const ath_table *t = so.out[i];
		for (uint32_t k = 0; !rc && k < t->nconstraints; k++)
			if (so.remaining[t->pos][k] && !(rc = alter_fk(&b, t, t->constraints[k], d, 1, err)))
				rc = emit(s, &b, err);
	}
	sorter_free(&so);
	ath__free(tables);
	ath_strbuf__free(&b);
	return rc;
}

int ath_ddl__drop_all(const ath_metadata *md, const ath_dialect *d, const ath_ddl_sink *s, ath_err *err)
{
	const ath_ddl_dialect *x = d->ddl;
	ath_strbuf b = ATH_STRBUF_INIT;
	const ath_table **tables = ath__calloc(md->ntables + 1, sizeof *tables);
	uint8_t *cyc = ath__calloc(md->ntables + 1, 1);
	if (!tables || !cyc) {
		ath__free(tables);
		ath__free(cyc);
		return ath_err__oom(err);
	}
	uint32_t n = 0;
	int rc = 0;
	for (uint32_t i = 0; i < md->ntables && !rc; i++) {
		int ex;
		if (!(rc = exists(s, ATH_DDL_TABLE, md->tables[i].schema, md->tables[i].name, &ex, err)) && (ex || !s->exists))
			tables[n++] = &md->tables[i];
	}
	sorter so;
	memset(&so, 0, sizeof so);
	int unsorted = 0;
	if (!rc) {
		rc = sort_tables(&so, md, tables, n, d, 1, cyc, err);
		if (rc == 1) {
			char names[512];
			size_t p = 0;
			names[0] = '\0';
			/* names of the tables on cycles, in alphabetical order */
			const char *done = "";
			for (;;) {
				const char *next = NULL;
				for (uint32_t i = 0; i < md->ntables; i++)
					if (cyc[i] && strcmp(md->tables[i].name, done) > 0 && (!next || strcmp(md->tables[i].name, next) < 0))
						next = md->tables[i].name;
				if (!next || p >= sizeof names - 2)
					break;
				p += (size_t)snprintf(names + p, sizeof names - p, "%s%s", p ? ", " : "", next);
				done = next;
			}
			if (!x->supports_alter) {
				char msg[1024];
				snprintf(msg, sizeof msg,
					 "Can't sort tables for DROP; an unresolvable foreign key dependency exists between tables: "
					 "%s; and backend does not support ALTER.  To restore at least a partial sort, apply "
					 "use_alter=True to ForeignKey and ForeignKeyConstraint objects involved in the cycle to mark "
					 "these as known cycles that will be ignored.", names);
				if (s->warn)
					s->warn(s->payload, msg);
				unsorted = 1;
				rc = 0;
			} else {
				rc = ath_err__set(err, ATH_ERROR, ATH_ERRCLASS_INVALID_REQUEST_ERROR,
						  "Can't sort tables for DROP; an unresolvable foreign key dependency exists between "
						  "tables: %s.  Please ensure that the ForeignKey and ForeignKeyConstraint objects "
						  "involved in the cycle have names so that they can be dropped using DROP CONSTRAINT.",
						  names);
			}
		}
	}
	/* the foreign keys left for ALTER go first, then the tables in reverse order */
	for (uint32_t i = 0; !rc && !unsorted && x->supports_alter && i < n; i++) {
		const ath_table *t = so.out[n - 1 - i];
		for (uint32_t k = 0; !rc && k < t->nconstraints; k++)
			if (so.remaining[t->pos][k] && !(rc = alter_fk(&b, t, t->constraints[k], d, 0, err)))
				rc = emit(s, &b, err);
	}
	for (uint32_t i = 0; !rc && i < n; i++) {
		const ath_table *t = unsorted ? tables[i] : so.out[n - 1 - i];
		if (!(rc = ath_ddl__drop_table(&b, t, d, 0, err)))
			rc = emit(s, &b, err);
	}
	/* sequences after every table (SQLAlchemy's seq_coll), then the ENUM types (after_drop) */
	for (uint32_t ti = 0; !rc && x->supports_sequences && ti < md->ntables; ti++)
		for (uint32_t k = 0; !rc && k < md->tables[ti].ncolumns; k++) {
			const ath_sequence *q = md->tables[ti].columns[k].sequence;
			int ex;
			if (!q || q->optional || (rc = exists(s, ATH_DDL_SEQUENCE, q->schema, q->name, &ex, err)) || (s->exists && !ex))
				continue;
			ath_strbuf__puts(&b, "DROP SEQUENCE ");
			if (q->schema) {
				Q(&b, d, q->schema);
				ath_strbuf__putc(&b, '.');
			}
			Q(&b, d, q->name);
			rc = emit(s, &b, err);
		}
	for (uint32_t i = 0; !rc && x->native_enum_type && i < md->nenums; i++) {
		int ex;
		if ((rc = exists(s, ATH_DDL_TYPE, md->enums[i].schema, md->enums[i].name, &ex, err)) || (s->exists && !ex))
			continue;
		ath_strbuf__puts(&b, "DROP TYPE ");
		Q(&b, d, md->enums[i].name);
		rc = emit(s, &b, err);
	}
	sorter_free(&so);
	ath__free(tables);
	ath__free(cyc);
	ath_strbuf__free(&b);
	return rc;
}
