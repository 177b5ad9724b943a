/* insertmany.c — "insertmanyvalues": finds the VALUES row of a compiled one-row INSERT and renders
 * it N times with renumbered placeholders, so executemany becomes a few multi-row statements
 * (with RETURNING, the rows of all batches in input order). Mirrors SQLCompiler's
 * _deliver_insertmanyvalues_batches (sqlalchemy/sql/compiler.py). It neither compiles (the
 * template is compile_dml.c's) nor executes (engine/conn/connection.c does). */
#include "sql/insertmany.h"

#include <string.h>

#include "dialects/dialect.h"
#include "util/alloc.h"

static int is_word(char ch)
{
	return (ch >= 'A' && ch <= 'Z') || (ch >= 'a' && ch <= 'z') || (ch >= '0' && ch <= '9') || ch == '_' ||
	       ch == '$';
}

/* Past a quoted literal or identifier starting at `i` ('...', "...", `...`; a doubled quote is
 * one character, a backslash escapes on MySQL). */
static size_t skip_quoted(const char *t, size_t len, size_t i, int backslash)
{
	char q = t[i++];
	while (i < len) {
		if (backslash && q == '\'' && t[i] == '\\') {
			i += 2;
			continue;
		}
		if (t[i] == q) {
			if (i + 1 < len && t[i + 1] == q) {
				i += 2;
				continue;
			}
			return i + 1;
		}
		i++;
	}
	return len;
}

int ath_insertmany__plan(ath_insertmany *plan, const ath_compiled *cs, uint32_t max_params)
{
	if (cs->kind != ATH_STMT_INSERT || !cs->single_row_insert || cs->has_expanding || !cs->tmpl)
		return 0;
	const char *t = cs->tmpl;
	size_t len = cs->tmpl_len, start = 0, end = 0;
	int depth = 0, bs = cs->dialect->backslash_escapes;
	/* the VALUES at nesting depth 0: a CTE's body is parenthesised, so this is the INSERT's own */
	for (size_t i = 0; i < len && !start;) {
		char ch = t[i];
		if (ch == '\'' || ch == '"' || ch == '`') {
			i = skip_quoted(t, len, i, bs);
		} else if (ch == '(') {
			depth++, i++;
		} else if (ch == ')') {
			depth--, i++;
		} else if (depth == 0 && i + 8 <= len && memcmp(t + i, "VALUES (", 8) == 0 && (i == 0 || !is_word(t[i - 1]))) {
			start = i + 7;
		} else {
			i++;
		}
	}
	if (!start)
		return 0; /* DEFAULT VALUES, INSERT ... SELECT */
	depth = 0;
	for (size_t i = start; i < len;) {
		char ch = t[i];
		if (ch == '\'' || ch == '"' || ch == '`') {
			i = skip_quoted(t, len, i, bs);
			continue;
		}
		if (ch == '(')
			depth++;
		else if (ch == ')' && --depth == 0) {
			end = i + 1;
			break;
		}
		i++;
	}
	if (!end || (end < len && t[end] == ','))
		return 0;
	for (uint32_t i = 0; i < cs->nbinds; i++) {
		const ath_bindref *b = &cs->binds[i];
		if (b->offset <= start || b->offset >= end || (b->flags & ~ATH_BIND_DEFAULT))
			return 0;
	}
	plan->group_start = (uint32_t)start;
	plan->group_end = (uint32_t)end;
	plan->per_row = cs->nbinds;
	uint32_t page = ATH_INSERTMANY_PAGE_SIZE;
	if (cs->nbinds && max_params / cs->nbinds < page)
		page = max_params / cs->nbinds;
	plan->page = page ? page : 1;
	return 1;
}

static int push(ath_rendered *r, const msgpack_object *v, ath_err *err)
{
	if (r->nvalues == r->cap) {
		uint32_t cap = r->cap ? r->cap * 2 : 64;
		const msgpack_object **p = ath__realloc(r->values, cap * sizeof *p);
		if (!p)
			return ath_err__oom(err);
		r->values = p;
		r->cap = cap;
	}
	r->values[r->nvalues++] = v;
	return 0;
}

int ath_insertmany__render(ath_rendered *r, const ath_compiled *cs, const ath_insertmany *plan,
			   const msgpack_object *rows, uint32_t first, uint32_t n, const char *suffix,
			   size_t suffix_len, bool same_text, ath_err *err)
{
	const ath_dialect *d = cs->dialect;
	ath_strbuf *b = &r->buf;
	if (!same_text)
		ath_strbuf__reset(b);
	r->nvalues = 0;
	if (r->scratch.head) { /* values processed for the previous batch */
		ath_arena__free(&r->scratch);
		memset(&r->scratch, 0, sizeof r->scratch);
	}
	uint32_t pos = 0;
	if (!same_text)
		ath_strbuf__put(b, cs->tmpl, plan->group_start);
	for (uint32_t k = 0; k < n; k++) {
		const msgpack_object *row = &rows->via.array.ptr[first + k];
		uint32_t given = row->type == MSGPACK_OBJECT_ARRAY ? row->via.array.size : 0;
		if (k && !same_text)
			ath_strbuf__puts(b, ", ");
		uint32_t at = plan->group_start;
		for (uint32_t i = 0; i < cs->nbinds; i++) {
			const ath_bindref *br = &cs->binds[i];
			const msgpack_object *v = ath_compiled__bind_value(cs, br, row);
			if (!v)
				return ath_err__set(err, ATH_EINVALID, ATH_ERRCLASS_ARGUMENT_ERROR,
						    "executemany row %u: a value is required for parameter %u: the statement "
						    "uses %u parameter%s and %u %s given", first + k, br->param, cs->nparams,
						    cs->nparams == 1 ? "" : "s", given, given == 1 ? "was" : "were");
			if (!same_text) {
				ath_strbuf__put(b, cs->tmpl + at, br->offset - at);
				at = br->offset;
				d->placeholder(b, ++pos);
			}
			int rc = ath_compiled__process(r, cs, i, v, &v, err);
			if (rc) {
				ath_err__prefix(err, "executemany row %u: ", first + k);
				return rc;
			}
			if (push(r, v, err))
				return ATH_ENOMEM;
		}
		if (!same_text)
			ath_strbuf__put(b, cs->tmpl + at, plan->group_end - at);
	}
	if (same_text)
		return 0; /* r->sql, sql_len and sql_hash stand */
	ath_strbuf__put(b, cs->tmpl + plan->group_end, cs->tmpl_len - plan->group_end);
	if (suffix_len)
		ath_strbuf__put(b, suffix, suffix_len);
	if (b->oom || !ath_strbuf__cstr(b))
		return ath_err__oom(err);
	r->sql = b->ptr;
	r->sql_len = b->len;
	r->sql_hash = ath_sql__hash(r->sql, r->sql_len);
	return 0;
}
