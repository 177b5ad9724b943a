/* naming.c — constraint and index names from naming conventions: SQLAlchemy's %(token)s templates
 * (table_name, column_0_name, column_0N_name, column_0_N_name, column_0_key, column_0_label,
 * column_0N_label, column_0_N_label, referred_table_name, referred_column_0_name, ..._0N_...,
 * ..._0_N_..., constraint_name; any column index, not only 0) and the default convention
 * {"ix": "ix_%(column_0_label)s"}. A convention applies to an unnamed constraint, and to a named one
 * when it uses %(constraint_name)s. Mirrors sqlalchemy/sql/naming.py (ConventionDict,
 * _constraint_name_for_table). No truncation of long names yet (SQLAlchemy's conv truncation
 * with a hash suffix at the dialect's identifier limit). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "schema/metadata.h"
#include "util/strbuf.h"

static int uses_constraint_name(const char *tmpl, size_t len)
{
	static const char tok[] = "%(constraint_name)s";
	for (size_t i = 0; i + sizeof tok - 1 <= len; i++)
		if (memcmp(tmpl + i, tok, sizeof tok - 1) == 0)
			return 1;
	return 0;
}

typedef struct names {
	const ath_column *cols[64];
	uint32_t n;
	const ath_column *const *refs;
	uint32_t nrefs;
	const char *ref_table;
} names;

static const msgpack_object *convention(const ath_metadata *md, const char *key, const char **out, size_t *len)
{
	if (!md->naming_convention) {
		if (strcmp(key, "ix") == 0) {
			*out = "ix_%(column_0_label)s";
			*len = strlen(*out);
			return (const msgpack_object *)1;
		}
		return NULL;
	}
	const msgpack_object *m = md->naming_convention;
	for (uint32_t i = 0; i < m->via.map.size; i++) {
		const msgpack_object *k = &m->via.map.ptr[i].key;
		if (k->via.str.size == strlen(key) && memcmp(k->via.str.ptr, key, k->via.str.size) == 0) {
			*out = m->via.map.ptr[i].val.via.str.ptr;
			*len = m->via.map.ptr[i].val.via.str.size;
			return &m->via.map.ptr[i].val;
		}
	}
	return NULL;
}

static void expr_columns(const ath_table *t, const ath_node *n, names *nm)
{
	if (!n || nm->n == 64)
		return;
	if (n->kind == ATH_N_COL) {
		const ath_column *c = ath_table__column(t, n->name);
		if (c)
			nm->cols[nm->n++] = c;
		return;
	}
	for (uint32_t i = 0; i < n->n; i++)
		expr_columns(t, n->kids[i], nm);
}

/* "column_3_N_label" -> which = "column", idx 3, form "_N" / "N" / "", attr "label" */
static int token(ath_strbuf *b, const char *tok, size_t len, const ath_table *t, const names *nm, const char *cname,
		 ath_err *err, const char *what)
{
	if (len == 10 && memcmp(tok, "table_name", 10) == 0) {
		ath_strbuf__puts(b, t->name);
		return 0;
	}
	if (len == 19 && memcmp(tok, "referred_table_name", 19) == 0 && nm->ref_table) {
		ath_strbuf__puts(b, nm->ref_table);
		return 0;
	}
	if (len == 15 && memcmp(tok, "constraint_name", 15) == 0) {
		if (!cname)
			return ath_err__set(err, ATH_EINVALID, ATH_ERRCLASS_INVALID_REQUEST_ERROR,
					    "Naming convention including %%(constraint_name)s token requires that constraint is "
					    "explicitly named (a %s of table '%s').", what, t->name);
		ath_strbuf__puts(b, cname);
		return 0;
	}
	char buf[64];
	if (len >= sizeof buf)
		goto unknown;
	memcpy(buf, tok, len);
	buf[len] = '\0';
	int referred = strncmp(buf, "referred_", 9) == 0;
	char *p = buf + (referred ? 9 : 0);
	if (strncmp(p, "column_", 7) != 0)
		goto unknown;
	p += 7;
	char *end;
	long idx = strtol(p, &end, 10);
	if (end == p)
		goto unknown;
	int all = 0;
	const char *sep = "";
	if (*end == 'N') {
		all = 1, end++;
	} else if (end[0] == '_' && end[1] == 'N') {
		all = 1, sep = "_", end += 2;
	}
	if (*end != '_')
		goto unknown;
	const char *attr = end + 1;
	int label = strcmp(attr, "label") == 0;
	if (!label && strcmp(attr, "name") != 0 && strcmp(attr, "key") != 0)
		goto unknown;
	uint32_t n = referred ? nm->nrefs : nm->n;
	const ath_column *const *cols = referred ? nm->refs : nm->cols;
	const char *tname = referred ? nm->ref_table : t->name;
	if (idx < 0 || (uint32_t)idx >= n)
		return ath_err__set(err, ATH_EINVALID, ATH_ERRCLASS_INVALID_REQUEST_ERROR,
				    "naming convention token %%(%s)s: the %s of table '%s' has no column %ld", buf, what, t->name, idx);
	for (uint32_t i = (uint32_t)idx; i < (all ? n : (uint32_t)idx + 1); i++) {
		if (i > (uint32_t)idx)
			ath_strbuf__puts(b, sep);
		if (label)
			ath_strbuf__printf(b, "%s_", tname);
		ath_strbuf__puts(b, cols[i]->name);
	}
	return 0;
unknown:
	return ath_err__set(err, ATH_EINVALID, ATH_ERRCLASS_ARGUMENT_ERROR, "unknown naming convention token %%(%.*s)s",
			    (int)(len > 60 ? 60 : len), tok);
}

static int expand(const char **out, ath_metadata *md, const char *tmpl, size_t len, const ath_table *t, const names *nm,
		  const char *cname, const char *what, ath_err *err)
{
	ath_strbuf b = ATH_STRBUF_INIT;
	int rc = 0;
	for (size_t i = 0; i < len && !rc; i++) {
		if (tmpl[i] == '%' && i + 1 < len && tmpl[i + 1] == '%') {
			ath_strbuf__putc(&b, '%');
			i++;
		} else if (tmpl[i] == '%' && i + 1 < len && tmpl[i + 1] == '(') {
			const char *close = memchr(tmpl + i, ')', len - i);
			if (!close || (size_t)(close - tmpl) + 1 >= len || close[1] != 's') {
				rc = ath_err__set(err, ATH_EINVALID, ATH_ERRCLASS_ARGUMENT_ERROR,
						  "malformed naming convention '%.*s'", (int)(len > 80 ? 80 : len), tmpl);
				break;
			}
			rc = token(&b, tmpl + i + 2, (size_t)(close - tmpl - i - 2), t, nm, cname, err, what);
			i = (size_t)(close - tmpl) + 1;
		} else {
			ath_strbuf__putc(&b, tmpl[i]);
		}
	}
	if (!rc && b.oom)
		rc = ath_err__oom(err);
	if (!rc && !(*out = ath_arena__strndup(&md->arena, b.ptr ? b.ptr : "", b.len)))
		rc = ath_err__oom(err);
	ath_strbuf__free(&b);
	return rc;
}

int ath_naming__constraint(ath_metadata *md, const ath_table *t, ath_constraint *c, ath_err *err)
{
	static const char *const keys[] = { "pk", "fk", "uq", "ck" };
	static const char *const what[] = { "primary key", "foreign key", "unique constraint", "check constraint" };
	const char *tmpl;
	size_t len;
	if (!convention(md, keys[c->kind], &tmpl, &len))
		return 0;
	int uses_name = uses_constraint_name(tmpl, len);
	if (c->name && !uses_name)
		return 0;
	if (c->kind == ATH_CK_PRIMARY_KEY && c->ncolumns == 0)
		return 0; /* a table without a primary key: nothing is rendered */
	names nm = { .n = 0 };
	if (c->kind == ATH_CK_CHECK) {
		if (c->check_column)
			nm.cols[nm.n++] = c->check_column;
		else
			expr_columns(t, c->sql.node, &nm);
	} else {
		for (uint32_t i = 0; i < c->ncolumns && nm.n < 64; i++)
			nm.cols[nm.n++] = c->columns[i];
	}
	if (c->kind == ATH_CK_FOREIGN_KEY) {
		nm.refs = c->ref_columns;
		nm.nrefs = c->ncolumns;
		nm.ref_table = c->ref_table->name;
	}
	return expand(&c->name, md, tmpl, len, t, &nm, c->name, what[c->kind], err);
}

int ath_naming__index(ath_metadata *md, const ath_table *t, ath_index *ix, ath_err *err)
{
	const char *tmpl;
	size_t len;
	if (!convention(md, "ix", &tmpl, &len)) {
		if (ix->name)
			return 0;
		return ath_err__set(err, ATH_EINVALID, ATH_ERRCLASS_ARGUMENT_ERROR,
				    "an index of table '%s' on column '%s' has no name and the naming convention has no \"ix\"",
				    t->name, ix->item_columns[0] ? ix->item_columns[0]->name : "(expression)");
	}
	int uses_name = uses_constraint_name(tmpl, len);
	if (ix->name && !uses_name)
		return 0;
	names nm = { .n = 0 };
	for (uint32_t i = 0; i < ix->nitems && nm.n < 64; i++) {
		if (ix->item_columns[i])
			nm.cols[nm.n++] = ix->item_columns[i];
		else
			expr_columns(t, ix->items[i].node, &nm);
	}
	return expand(&ix->name, md, tmpl, len, t, &nm, ix->name, "index", err);
}
