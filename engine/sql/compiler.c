/* compiler.c — statement trees to SQL text for a dialect: the generic visitor for every node
 * kind, FROM inference and auto-correlation, SQLAlchemy's operator-precedence grouping, anonymous
 * labels, identifier quoting and literal rendering. Dialect differences come only through the
 * dialect vtable (dialects/dialect.h). Mirrors sqlalchemy/sql/compiler.py (SQLCompiler). */
#include "compiler_int.h"
#include "schema/ddl.h"
#include "types/process.h"
#include "wire/mpbuf.h"

#include <ctype.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

/* ---- small helpers ------------------------------------------------------------------------ */

const ath_dialect *ath_compiler__dialect(const ath_compiler *c) { return c->d; }

void ath_compiler__puts(ath_compiler *c, const char *s) { ath_strbuf__puts(&c->sql, s); }

int ath_compiler__fail(ath_compiler *c, ath_error_class klass, const char *fmt, ...)
{
	char msg[ATH_ERR_MSG_MAX];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(msg, sizeof msg, fmt, ap);
	va_end(ap);
	return ath_err__set(c->err, ATH_ERROR, klass, "%s", msg);
}

int ath_compiler__oom(ath_compiler *c) { return ath_err__oom(c->err); }

static int reserved_cmp(const void *key, const void *elem) { return strcmp(key, *(const char *const *)elem); }

static int needs_quotes(const ath_dialect *d, const char *s)
{
	char lower[128];
	size_t n = strlen(s);
	if (n == 0 || isdigit((unsigned char)s[0]) || s[0] == '$')
		return 1;
	for (size_t i = 0; i < n; i++) {
		unsigned char ch = (unsigned char)s[i];
		if (!((ch >= 'a' && ch <= 'z') || (ch >= '0' && ch <= '9') || ch == '_' || ch == '$'))
			return 1; /* upper case, punctuation, space, non-ASCII */
	}
	if (n >= sizeof lower)
		return 0;
	memcpy(lower, s, n + 1);
	return bsearch(lower, d->reserved, d->nreserved, sizeof *d->reserved, reserved_cmp) != NULL;
}

int ath_compiler__quote(ath_compiler *c, const char *name)
{
	size_t n = strlen(name);
	if (c->d->max_ident_len && n > c->d->max_ident_len)
		return ath_compiler__fail(c, ATH_ERRCLASS_COMPILE_ERROR,
					  "identifier '%.80s' is %zu bytes long; the %s limit is %u", name, n,
					  c->d->name, c->d->max_ident_len);
	if (!needs_quotes(c->d, name)) {
		ath_strbuf__put(&c->sql, name, n);
		return 0;
	}
	ath_strbuf__putc(&c->sql, c->d->quote);
	for (const char *p = name; *p; p++) {
		if (*p == c->d->quote)
			ath_strbuf__putc(&c->sql, c->d->quote);
		ath_strbuf__putc(&c->sql, *p);
	}
	ath_strbuf__putc(&c->sql, c->d->quote);
	return 0;
}

void ath_compiler__ident(ath_compiler *c, const char *name) { (void)ident(c, name); }

void ath_sql__quote(ath_strbuf *b, const ath_dialect *d, const char *name)
{
	if (!needs_quotes(d, name)) {
		ath_strbuf__puts(b, name);
		return;
	}
	ath_strbuf__putc(b, d->quote);
	for (const char *p = name; *p; p++) {
		if (*p == d->quote)
			ath_strbuf__putc(b, d->quote);
		ath_strbuf__putc(b, *p);
	}
	ath_strbuf__putc(b, d->quote);
}

void ath_sql__string_literal(ath_strbuf *b, const ath_dialect *d, const char *s, size_t n)
{
	ath_strbuf__putc(b, '\'');
	for (size_t i = 0; i < n; i++) {
		if (s[i] == '\'')
			ath_strbuf__putc(b, '\'');
		else if (s[i] == '\\' && d->backslash_escapes)
			ath_strbuf__putc(b, '\\');
		ath_strbuf__putc(b, s[i]);
	}
	ath_strbuf__putc(b, '\'');
}

const ath_table *ath_compiler__md_table(const ath_compiler *c, const ath_node *f)
{
	if (!c->md || !f)
		return NULL;
	if (f->kind == ATH_N_ALIAS)
		f = f->kids[0];
	if (f->kind != ATH_N_TABLE)
		return NULL;
	if (f->qual)
		return ath_metadata__table(c->md, f->qual, f->name);
	for (uint32_t i = 0; i < c->md->ntables; i++) /* unqualified: the table of that name, in any schema */
		if (strcmp(c->md->tables[i].name, f->name) == 0)
			return &c->md->tables[i];
	return NULL;
}

ath_bindcol ath_compiler__typeof(ath_compiler *c, const ath_node *e)
{
	ath_bindcol r = { 0 };
	if (!c->md)
		return r;
	if (e->kind == ATH_N_LABEL)
		e = e->kids[0];
	if (e->kind == ATH_N_CAST) { /* SQLAlchemy's Cast has the target type */
		char why[160];
		ath_type *t = ath_arena__zalloc(&c->tmp, sizeof *t);
		if (t && e->value && ath_type__parse(t, e->value, &c->tmp, why, sizeof why) == 0 && t->kind != ATH_T_ARRAY) {
			r.type = t;
			r.cast = 1;
		}
		return r;
	}
	if (e->kind != ATH_N_COL)
		return r;
	const ath_table *mt = NULL;
	const ath_column *col = NULL;
	if (e->qual) {
		mt = ath_compiler__md_table(c, ath_compiler__resolve_from(c, e->qual));
		col = mt ? ath_table__column(mt, e->name) : NULL;
	} else {
		for (scope *s = c->scope; s && !col; s = s->up) /* the one FROM item that has the column */
			for (uint32_t i = 0; i < s->n; i++) {
				const ath_table *t = ath_compiler__md_table(c, s->items[i]);
				const ath_column *k = t ? ath_table__column(t, e->name) : NULL;
				if (k && col)
					return r; /* ambiguous: untyped */
				if (k) {
					col = k;
					mt = t;
				}
			}
	}
	if (col) {
		r.type = &col->type;
		r.table = mt->name;
		r.column = col->name;
	}
	return r;
}

int ath_compiler__result_type(ath_compiler *c, const ath_node *e)
{
	if (!c->md || c->rlevel != 1 || c->rdone || c->rbad)
		return 0;
	if (e->kind == ATH_N_STAR || e->kind == ATH_N_COLUMNS_OF) {
		c->rbad = 1; /* the driver decides how many columns: no types */
		return 0;
	}
	if (c->nrcols == c->caprcols) {
		uint32_t cap = c->caprcols ? c->caprcols * 2 : 16;
		ath_bindcol *p = ath__realloc(c->rcols, cap * sizeof *p);
		if (!p)
			return oom(c);
		c->rcols = p;
		c->caprcols = cap;
	}
	c->rcols[c->nrcols++] = ath_compiler__typeof(c, e);
	return 0;
}

/* The processors for the recorded columns, in the compiled form's arena; NULL when none is typed.
 * For result columns (`results`) the types whose values come back as they are (integers, strings,
 * enums, bytes) get none, so a statement without other types is not rewritten row by row. */
static const ath_typeproc *const *make_procs(const ath_compiler *c, const ath_bindcol *cols, uint32_t n, int results,
					     ath_arena *arena, int *oom_flag)
{
	const ath_typeproc **v = NULL;
	int any = 0;
	for (uint32_t i = 0; i < n; i++) {
		if (!cols[i].type)
			continue;
		if (!v && !(v = ath_arena__zalloc(arena, n * sizeof *v))) {
			*oom_flag = 1;
			return NULL;
		}
		ath_typeproc *tp = (ath_typeproc *)ath_typeproc__make(cols[i].type, c->d->name, cols[i].table,
								      cols[i].column, arena, oom_flag);
		if (*oom_flag)
			return NULL;
		if (tp && cols[i].cast)
			tp->type = NULL; /* parsed in the compiler's scratch arena */
		if (tp && cols[i].arith && tp->proc == ATH_PROC_INT)
			tp->any_number = true; /* `int_col + 1.5` binds a float (SQLAlchemy's coerce_compared_value) */
		if (tp && results && ath_typeproc__passthrough(tp))
			tp = NULL;
		v[i] = tp;
		any |= tp != NULL;
	}
	return any ? v : NULL;
}

/* The result columns' wire type forms, packed once for every result header. */
static int col_types(ath_compiled *cs, const ath_compiler *c, ath_arena *arena)
{
	ath_bytes *v = ath_arena__zalloc(arena, c->nrcols * sizeof *v);
	if (!v)
		return 1;
	ath_buf b = ATH_BUF_INIT;
	msgpack_packer pk;
	uint32_t any = 0;
	int bad = 0;
	for (uint32_t i = 0; i < c->nrcols && !bad; i++) {
		const ath_type *t = c->rcols[i].type;
		if (!t || !t->wire)
			continue;
		ath_wire__packer_init(&pk, &b);
		unsigned char *p = NULL;
		if (msgpack_pack_object(&pk, *t->wire) < 0 || !(p = ath_arena__alloc(arena, b.size))) {
			bad = 1;
			break;
		}
		memcpy(p, b.ptr, b.size);
		v[i].ptr = p;
		v[i].len = b.size;
		any++;
	}
	ath__free(b.ptr);
	if (!bad && any) {
		cs->col_types = v;
		cs->ncol_types = c->nrcols;
		cs->col_types_all = any == c->nrcols;
	}
	return bad;
}

int ath_compiler__table_name(ath_compiler *c, const ath_node *t)
{
	int rc = 0;
	const char *schema = t->qual;
	if (!schema) { /* the metadata's schema qualifies the table, as Table(..., schema=s) does */
		const ath_table *mt = ath_compiler__md_table(c, t);
		schema = mt ? mt->schema : NULL;
	}
	if (schema) {
		if ((rc = ident(c, schema)))
			return rc;
		ath_strbuf__putc(&c->sql, '.');
	}
	return ident(c, t->name);
}

int ath_compiler__default_bind(ath_compiler *c, const msgpack_object *value)
{
	uint32_t k = 0;
	while (k < c->ndefaults && c->defaults[k] != value)
		k++;
	if (k == c->ndefaults) {
		if (c->ndefaults == c->capdefaults) {
			uint32_t cap = c->capdefaults ? c->capdefaults * 2 : 8;
			const msgpack_object **p = ath__realloc(c->defaults, cap * sizeof *p);
			if (!p)
				return oom(c);
			c->defaults = p;
			c->capdefaults = cap;
		}
		c->defaults[c->ndefaults++] = value;
	}
	return add_bind(c, k, ATH_BIND_DEFAULT, 0);
}

/* CREATE / DROP TABLE / INDEX of a metadata table: the text is ddl.c's (SQLAlchemy's DDLCompiler). */
int ath_compiler__ddl(ath_compiler *c, const ath_node *n)
{
	static const char *const kinds[] = { "create_table", "drop_table", "create_index", "drop_index" };
	if (!c->md)
		return ath_compiler__fail(c, ATH_ERRCLASS_COMPILE_ERROR,
					  "a %s statement needs a metadata (ath_engine_options.metadata or ath_compile_v2)",
					  kinds[n->op]);
	ath_node ref = { .kind = ATH_N_TABLE, .name = n->name, .qual = n->qual };
	const ath_table *t = ath_compiler__md_table(c, &ref);
	if (!t)
		return ath_compiler__fail(c, ATH_ERRCLASS_COMPILE_ERROR, "%s: table '%.80s%s%.80s' is not in the metadata",
					  kinds[n->op], n->qual ? n->qual : "", n->qual ? "." : "", n->name);
	switch (n->op) {
	case ATH_DDL_CREATE_TABLE: return ath_ddl__create_table(&c->sql, t, c->d, n->flags & ATH_NF_IF_EXISTS, c->err);
	case ATH_DDL_DROP_TABLE: return ath_ddl__drop_table(&c->sql, t, c->d, n->flags & ATH_NF_IF_EXISTS, c->err);
	default: break;
	}
	const ath_index *ix = ath_table__index(t, n->u.names[0]);
	if (!ix)
		return ath_compiler__fail(c, ATH_ERRCLASS_COMPILE_ERROR, "%s: table '%.80s' has no index named '%.80s'",
					  kinds[n->op], t->name, n->u.names[0]);
	return n->op == ATH_DDL_CREATE_INDEX ? ath_ddl__create_index(&c->sql, ix, c->d, c->err)
					     : ath_ddl__drop_index(&c->sql, ix, c->d, c->err);
}

/* Record a placeholder at the current position of the SQL (the text itself is added when the
 * statement is rendered, so that expanding lists and $n numbering are decided in one place). */
int ath_compiler__add_bind(ath_compiler *c, uint32_t param, uint16_t flags, uint16_t arity)
{
	if (c->nbinds == c->capbinds) {
		uint32_t cap = c->capbinds ? c->capbinds * 2 : 16;
		ath_bindref *b = ath__realloc(c->binds, cap * sizeof *b);
		if (!b)
			return oom(c);
		c->binds = b;
		ath_bindcol *bc = ath__realloc(c->bcols, cap * sizeof *bc);
		if (!bc)
			return oom(c);
		c->bcols = bc;
		c->capbinds = cap;
	}
	c->bcols[c->nbinds] = c->pend;
	c->pend = (ath_bindcol){ 0 };
	c->binds[c->nbinds++] = (ath_bindref){ param, (uint32_t)c->sql.len, flags, arity };
	if (!(flags & ATH_BIND_DEFAULT) && param + 1 > c->nparams)
		c->nparams = param + 1;
	if (flags & ATH_BIND_EXPANDING)
		c->has_expanding = 1;
	return 0;
}

/* Next anonymous label for `base`: count_1, count_2, anon_1 ... (SQLAlchemy's _anon_label). */
int ath_compiler__anon_label(ath_compiler *c, const char *base, size_t baselen)
{
	label_counter *lc = NULL;
	for (uint32_t i = 0; i < c->nlabels; i++)
		if (strlen(c->labels[i].name) == baselen && memcmp(c->labels[i].name, base, baselen) == 0)
			lc = &c->labels[i];
	if (!lc) {
		if (c->nlabels == c->caplabels) {
			uint32_t cap = c->caplabels ? c->caplabels * 2 : 8;
			label_counter *l = ath__realloc(c->labels, cap * sizeof *l);
			if (!l)
				return oom(c);
			c->labels = l;
			c->caplabels = cap;
		}
		lc = &c->labels[c->nlabels];
		if (!(lc->name = ath__strndup(base, baselen)))
			return oom(c);
		lc->n = 0;
		c->nlabels++;
	}
	/* label bases keep word characters only, as SQLAlchemy's anon labels ("my func" -> my_func_1) */
	char label[160];
	size_t k = 0;
	for (; k < baselen && k < 120; k++)
		label[k] = isalnum((unsigned char)base[k]) || base[k] == '_' ? base[k] : '_';
	snprintf(label + k, sizeof label - k, "_%u", ++lc->n);
	ath_strbuf__puts(&c->sql, " AS ");
	return ident(c, label);
}

/* ---- dispatch ----------------------------------------------------------------------------- */

int ath_compiler__visit_generic(ath_compiler *c, const ath_node *n)
{
	ath_visit_fn fn = n->kind < ATH_N__COUNT ? ath_compiler__generic[n->kind] : NULL;
	if (!fn)
		return ath_compiler__fail(c, ATH_ERRCLASS_COMPILE_ERROR, "this construct cannot be used as an expression");
	return fn(c, n);
}

int ath_compiler__expr(ath_compiler *c, const ath_node *n)
{
	if (c->sql.oom)
		return oom(c);
	const ath_visit_fn *hooks = c->d->visit;
	if (hooks && hooks[n->kind])
		return hooks[n->kind](c, n);
	return ath_compiler__visit_generic(c, n);
}

/* ---- compiled statements -------------------------------------------------------------------- */

static double now_seconds(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

void ath_compiled__incref(ath_compiled *c) { atomic_fetch_add_explicit(&c->refs, 1, memory_order_relaxed); }

void ath_compiled__decref(ath_compiled *c)
{
	if (c && atomic_fetch_sub_explicit(&c->refs, 1, memory_order_acq_rel) == 1) {
		if (c->md)
			ath_metadata__decref(c->md);
		ath_arena arena = c->arena; /* the struct lives in its own arena */
		ath_arena__free(&arena);
	}
}

static void compiler_free(ath_compiler *c)
{
	ath_strbuf__free(&c->sql);
	ath__free(c->binds);
	for (uint32_t i = 0; i < c->nlabels; i++)
		ath__free(c->labels[i].name);
	ath__free(c->labels);
	ath__free(c->defaults);
	ath__free(c->bcols);
	ath__free(c->rcols);
	ath_arena__free(&c->tmp);
}

int ath_sql__ddl_expr(ath_strbuf *out, const ath_dialect *d, const ath_node *e, ath_err *err)
{
	ath_compiler c = { .d = d, .err = err, .bare_columns = 1 };
	ath_arena__init(&c.tmp, 256);
	int rc = ath_compiler__expr(&c, e);
	if (!rc && c.nbinds)
		rc = ath_err__set(err, ATH_ERROR, ATH_ERRCLASS_COMPILE_ERROR,
				  "a schema expression cannot hold bind parameters; give values as [\"lit\", v]");
	if (!rc && c.sql.oom)
		rc = ath_err__oom(err);
	if (!rc)
		ath_strbuf__put(out, c.sql.ptr ? c.sql.ptr : "", c.sql.len);
	compiler_free(&c);
	return rc;
}

int ath_sql__compile(ath_compiled **out, const ath_dialect *d, const ath_metadata *md, const ath_node *stmt,
		     ath_err *err)
{
	ath_arena arena;
	ath_arena__init(&arena, 1024);
	ath_compiled *cs = ath_arena__zalloc(&arena, sizeof *cs);
	if (!cs) {
		ath_arena__free(&arena);
		return ath_err__oom(err);
	}
	cs->dialect = d;
	ath_compiler c = { .d = d, .err = err, .md = md };
	ath_arena__init(&c.tmp, 2048);
	/* the statement's own columns list is level 1: a DML's RETURNING, a SELECT's outermost */
	c.rlevel = stmt->kind == ATH_N_SELECT ? 0 : 1;
	int rc;
	switch (stmt->kind) {
	case ATH_N_SELECT:
		cs->kind = ATH_STMT_SELECT;
		c.returns_rows = 1;
		rc = compile_select(&c, stmt->u.select, NULL);
		break;
	case ATH_N_INSERT:
		cs->kind = ATH_STMT_INSERT;
		cs->arena = arena; /* compile_insert allocates INSERT facts in it */
		rc = ath_compiler__insert(&c, stmt->u.insert, cs);
		arena = cs->arena;
		if (!rc) {
			const ath_node *t = stmt->u.insert->table;
			cs->table = ath_arena__strndup(&arena, t->name, strlen(t->name));
			cs->schema = t->qual ? ath_arena__strndup(&arena, t->qual, strlen(t->qual)) : NULL;
			if (!cs->table || (t->qual && !cs->schema))
				rc = ath_err__oom(err);
		}
		break;
	case ATH_N_UPDATE:
		cs->kind = ATH_STMT_UPDATE;
		rc = ath_compiler__update(&c, stmt->u.update);
		break;
	case ATH_N_DELETE:
		cs->kind = ATH_STMT_DELETE;
		rc = ath_compiler__delete(&c, stmt->u.del);
		break;
	case ATH_N_TEXT_STMT:
		cs->kind = ATH_STMT_TEXT;
		c.returns_rows = -1;
		rc = ath_compiler__text(&c, stmt);
		break;
	case ATH_N_DDL:
		cs->kind = ATH_STMT_DDL;
		rc = ath_compiler__ddl(&c, stmt);
		break;
	default:
		rc = ath_err__set(err, ATH_ERROR, ATH_ERRCLASS_COMPILE_ERROR, "not a statement");
	}
	if (!rc && c.sql.oom)
		rc = ath_err__oom(err);
	if (rc) {
		compiler_free(&c);
		ath_arena__free(&arena);
		return rc;
	}
	cs->returns_rows = c.returns_rows;
	cs->tmpl_len = c.sql.len;
	cs->tmpl = ath_arena__strndup(&arena, ath_strbuf__cstr(&c.sql), c.sql.len);
	cs->nbinds = c.nbinds;
	cs->nparams = c.nparams;
	cs->has_expanding = c.has_expanding;
	ath_bindref *binds = ath_arena__alloc(&arena, (c.nbinds + 1) * sizeof *binds);
	if (!cs->tmpl || !binds) {
		compiler_free(&c);
		ath_arena__free(&arena);
		return ath_err__oom(err);
	}
	if (c.nbinds)
		memcpy(binds, c.binds, c.nbinds * sizeof *binds);
	cs->binds = binds;
	int procs_oom = 0;
	cs->bind_procs = make_procs(&c, c.bcols, c.nbinds, 0, &arena, &procs_oom);
	if (!c.rbad && c.nrcols)
		cs->col_procs = make_procs(&c, c.rcols, c.nrcols, 1, &arena, &procs_oom);
	if (cs->col_procs)
		cs->ncol_procs = c.nrcols;
	if (!c.rbad && c.nrcols && !procs_oom)
		procs_oom = col_types(cs, &c, &arena);
	if (procs_oom) {
		compiler_free(&c);
		ath_arena__free(&arena);
		return ath_err__oom(err);
	}
	if (c.ndefaults) {
		const msgpack_object **defs = ath_arena__alloc(&arena, c.ndefaults * sizeof *defs);
		if (!defs) {
			compiler_free(&c);
			ath_arena__free(&arena);
			return ath_err__oom(err);
		}
		memcpy(defs, c.defaults, c.ndefaults * sizeof *defs);
		cs->defaults = defs;
		cs->ndefaults = c.ndefaults;
	}
	compiler_free(&c);
	if (!cs->has_expanding) {
		ath_rendered r = { 0 };
		msgpack_object none = { .type = MSGPACK_OBJECT_NIL };
		rc = ath_compiled__render(&r, cs, &none, err);
		cs->sql = rc ? NULL : ath_arena__strndup(&arena, r.sql, r.sql_len);
		cs->sql_len = r.sql_len;
		cs->sql_hash = ath_sql__hash(r.sql, r.sql_len);
		ath_rendered__free(&r);
		if (rc || !cs->sql) {
			ath_arena__free(&arena);
			return rc ? rc : ath_err__oom(err);
		}
		if (cs->ret_suffix) {
			size_t n = strlen(cs->ret_suffix);
			char *sql = ath_arena__alloc(&arena, cs->sql_len + n + 1);
			if (!sql) {
				ath_arena__free(&arena);
				return ath_err__oom(err);
			}
			memcpy(sql, cs->sql, cs->sql_len);
			memcpy(sql + cs->sql_len, cs->ret_suffix, n + 1);
			cs->ret_sql = sql;
			cs->ret_sql_len = cs->sql_len + n;
			cs->ret_sql_hash = ath_sql__hash(sql, cs->ret_sql_len);
		}
	} else {
		cs->nret = 0; /* an expanding INSERT (rare): its key as without RETURNING */
	}
	if (md) { /* the compiled form points into the metadata (defaults, key names) */
		ath_metadata__incref(md);
		cs->md = md;
	}
	cs->created_at = now_seconds();
	atomic_init(&cs->refs, 1);
	cs->arena = arena;
	*out = cs;
	return 0;
}
