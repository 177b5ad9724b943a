/* registry.c — mapping specs (docs/orm.md "Mapping spec") into mappers, and SQLAlchemy's configure
 * step: every class resolved against the metadata, each relationship's direction and column pairs
 * found from the foreign keys (relationships.py JoinCondition), back_populates checked both ways,
 * and the mappers put in flush order (unitofwork.py's dependency sort). Errors name the class and
 * attribute. Once built, a registry is immutable and shared by reference. */
#include "orm/orm.h"

#include <stdio.h>
#include <string.h>

#include "util/alloc.h"
#include "wire/decode_int.h"
#include "wire/mpbuf.h"

#define FOR_MAP(o, i, k, v)                                                                        \
	for (uint32_t i = 0; i < (o)->via.map.size; i++)                                           \
		for (mobj *k = &(o)->via.map.ptr[i].key, *v = &(o)->via.map.ptr[i].val; k; k = NULL)

/* a configure error: ArgumentError naming the class and attribute */
#define cfg_error(d, ...) ath_err__set((d)->err, ATH_EINVALID, ATH_ERRCLASS_ARGUMENT_ERROR, __VA_ARGS__)

static int get_bool(dec *d, mobj *v, bool *out)
{
	if (v->type != MSGPACK_OBJECT_BOOLEAN)
		return fail(d, "must be true or false, not %s", type_name(v));
	*out = v->via.boolean;
	return 0;
}

static int opt_str(dec *d, mobj *v, const char *what, const char **out)
{
	*out = NULL;
	return v->type == MSGPACK_OBJECT_NIL ? 0 : ath_wire__get_str(d, v, what, out);
}

void ath_registry__incref(ath_registry *r) { atomic_fetch_add(&r->refs, 1); }

void ath_registry__decref(ath_registry *r)
{
	if (!r || atomic_fetch_sub(&r->refs, 1) != 1)
		return;
	r->magic = ATH_MAGIC_DEAD;
	pthread_mutex_destroy(&r->gc_lock);
	if (r->md)
		ath_metadata__decref(r->md);
	msgpack_zone_destroy(&r->zone);
	ath__free(r->spec_copy);
	ath_arena__free(&r->arena);
	ath__free(r);
}

const ath_mapper *ath_registry__mapper(const ath_registry *r, const char *name)
{
	for (uint32_t i = 0; i < r->nmappers; i++)
		if (strcmp(r->mappers[i].name, name) == 0)
			return &r->mappers[i];
	return NULL;
}

int ath_mapper__attr(const ath_mapper *m, const char *name)
{
	for (uint32_t i = 0; i < m->nprops; i++)
		if (strcmp(m->props[i].name, name) == 0)
			return (int)i;
	for (uint32_t i = 0; i < m->nrels; i++)
		if (strcmp(m->rels[i].name, name) == 0)
			return (int)(m->nprops + i);
	return -1;
}

static int prop_of_column(const ath_mapper *m, const ath_column *c)
{
	for (uint32_t i = 0; i < m->nprops; i++)
		if (m->props[i].col == c)
			return (int)i;
	/* a joined-table subclass's primary key columns are the base's key attributes */
	for (uint32_t t = 1; t < m->ntables; t++)
		for (uint32_t k = 0; k < m->npk; k++)
			if (m->tpk[t][k] == c)
				return (int)m->pk[k];
	return -1;
}

/* the column of one of m's tables by name, the base table first */
static const ath_column *mapper_column(const ath_mapper *m, const char *name)
{
	for (uint32_t t = 0; t < m->ntables; t++) {
		const ath_column *c = ath_table__column(m->tables[t], name);
		if (c)
			return c;
	}
	return NULL;
}

/* ---- decoding ------------------------------------------------------------------------------- */

/* what the first pass keeps of a class until every mapper exists */
typedef struct cls_spec {
	mobj *properties, *relationships, *identity;
	const char *version_id, *table, *inherits, *poly_on;
	bool table_given, ready;
} cls_spec;

/* "properties": {"attr": {"column": c, "deferred": b}} — renames and deferral of column attributes */
static int decode_props(dec *d, ath_mapper *m, mobj *o)
{
	if (!o || o->type == MSGPACK_OBJECT_NIL)
		return 0;
	if (o->type != MSGPACK_OBJECT_MAP)
		return fail(d, "properties must be a map, not %s", type_name(o));
	/* column_property expressions come after the columns: room for them */
	uint32_t nexpr = 0;
	FOR_MAP(o, i, k, v)
	for (uint32_t j = 0; v->type == MSGPACK_OBJECT_MAP && j < v->via.map.size; j++)
		nexpr += str_eq(&v->via.map.ptr[j].key, "expr");
	if (nexpr) {
		ath_prop *props = ath_arena__zalloc(d->arena, sizeof *props * (m->nprops + nexpr));
		if (!props)
			return oom(d);
		memcpy(props, m->props, sizeof *props * m->nprops);
		m->props = props;
	}
	FOR_MAP(o, i, k, v)
	{
		const char *attr, *colname = NULL;
		mobj *expr = NULL;
		bool deferred = false;
		path_key(d, k->type == MSGPACK_OBJECT_STR ? k->via.str.ptr : "?", k->type == MSGPACK_OBJECT_STR ? k->via.str.size : 1);
		int rc = ath_wire__get_str(d, k, "attribute name", &attr);
		if (rc)
			return rc;
		if (v->type != MSGPACK_OBJECT_MAP)
			return fail(d, "a property must be a map, not %s", type_name(v));
		FOR_MAP(v, j, pk, pv)
		{
			if (str_eq(pk, "column"))
				rc = ath_wire__get_str(d, pv, "column name", &colname);
			else if (str_eq(pk, "deferred"))
				rc = get_bool(d, pv, &deferred);
			else if (str_eq(pk, "expr")) {
				if (pv->type != MSGPACK_OBJECT_ARRAY || !pv->via.array.size)
					rc = fail(d, "an expr is an expression [kind, ...]");
				expr = pv;
			} else
				rc = fail(d, "unknown key for a property");
			if (rc)
				return rc;
		}
		if (expr) {
			if (colname)
				return cfg_error(d, "%s.%s: a property is a column or an expr, not both", m->name, attr);
			ath_prop *p = &m->props[m->nprops++];
			p->name = attr;
			p->expr = expr;
			p->deferred = deferred;
			path_pop(d);
			continue;
		}
		const ath_column *c = mapper_column(m, colname ? colname : attr);
		int at = c ? prop_of_column(m, c) : -1;
		if (at < 0)
			return cfg_error(d, "%s.%s: table '%s' has no column '%s'", m->name, attr, m->tables[m->ntables - 1]->name,
					 colname ? colname : attr);
		ath_prop *p = &m->props[at];
		p->name = attr;
		p->deferred = deferred;
		path_pop(d);
	}
	for (uint32_t i = 0; i < m->nprops; i++)
		for (uint32_t j = i + 1; j < m->nprops; j++)
			if (strcmp(m->props[i].name, m->props[j].name) == 0)
				return cfg_error(d, "%s.%s: two columns are mapped under this name", m->name,
						 m->props[i].name);
	return 0;
}

static int parse_cascade(dec *d, mobj *v, uint32_t *out)
{
	if (v->type != MSGPACK_OBJECT_ARRAY)
		return fail(d, "cascade must be an array of strings, not %s", type_name(v));
	static const struct {
		const char *name;
		uint32_t bits;
	} names[] = { { "all", ATH_CASCADE_ALL },
		      { "save-update", ATH_CASCADE_SAVE_UPDATE },
		      { "merge", ATH_CASCADE_MERGE },
		      { "delete", ATH_CASCADE_DELETE },
		      { "delete-orphan", ATH_CASCADE_DELETE_ORPHAN },
		      { "refresh-expire", ATH_CASCADE_REFRESH_EXPIRE },
		      { "expunge", ATH_CASCADE_EXPUNGE } };
	*out = 0;
	for (uint32_t i = 0; i < v->via.array.size; i++) {
		mobj *e = &v->via.array.ptr[i];
		size_t j;
		for (j = 0; j < sizeof names / sizeof names[0]; j++)
			if (str_eq(e, names[j].name))
				break;
		if (j == sizeof names / sizeof names[0]) {
			path_idx(d, i);
			return fail(d, "unknown cascade (expected all, save-update, merge, delete, delete-orphan, "
				       "refresh-expire or expunge)");
		}
		*out |= names[j].bits;
	}
	return 0;
}

/* ["col", table, name] naming a column of `t` */
static const ath_column *spec_column(mobj *o, const ath_metadata *md)
{
	if (o->type != MSGPACK_OBJECT_ARRAY || o->via.array.size != 3 || !str_eq(&o->via.array.ptr[0], "col"))
		return NULL;
	mobj *tn = &o->via.array.ptr[1], *cn = &o->via.array.ptr[2];
	if (tn->type != MSGPACK_OBJECT_STR || cn->type != MSGPACK_OBJECT_STR)
		return NULL;
	char tbuf[256], cbuf[256];
	if (tn->via.str.size >= sizeof tbuf || cn->via.str.size >= sizeof cbuf)
		return NULL;
	memcpy(tbuf, tn->via.str.ptr, tn->via.str.size);
	tbuf[tn->via.str.size] = 0;
	memcpy(cbuf, cn->via.str.ptr, cn->via.str.size);
	cbuf[cn->via.str.size] = 0;
	const ath_table *t = ath_metadata__table(md, NULL, tbuf);
	return t ? ath_table__column(t, cbuf) : NULL;
}

static bool col_in(const ath_column *c, const ath_column **list, uint32_t n)
{
	for (uint32_t i = 0; i < n; i++)
		if (list[i] == c)
			return true;
	return false;
}

/* Whether foreign key `fk` may be used, given the relationship's foreign_keys list. */
static bool fk_allowed(const ath_constraint *fk, const ath_column **fks, uint32_t nfks)
{
	if (!nfks)
		return true;
	for (uint32_t i = 0; i < fk->ncolumns; i++)
		if (!col_in(fk->columns[i], fks, nfks))
			return false;
	return true;
}

/* The foreign keys from `from_t` (or any of `from`'s tables) to any of `to`'s tables, but those
 * that join a joined-table subclass to its parent. */
static uint32_t mapper_fks(const ath_table *from_t, const ath_mapper *from, const ath_mapper *to, const ath_column **fks,
			   uint32_t nfks, const ath_constraint **found, uint32_t max)
{
	uint32_t n = 0;
	for (uint32_t f = 0; f < (from_t ? 1 : from->ntables); f++) {
		const ath_table *ft = from_t ? from_t : from->tables[f];
		for (uint32_t i = 0; i < ft->nconstraints; i++) {
			const ath_constraint *c = ft->constraints[i];
			bool to_it = false, inherit = false;
			for (uint32_t t = 0; t < to->ntables; t++)
				to_it |= c->ref_table == to->tables[t];
			for (uint32_t t = 1; !from_t && t < from->ntables; t++)
				inherit |= from->tfk[t] == c;
			for (uint32_t t = 1; t < to->ntables; t++)
				inherit |= to->tfk[t] == c;
			if (c->kind == ATH_CK_FOREIGN_KEY && to_it && !inherit && fk_allowed(c, fks, nfks)) {
				if (n < max)
					found[n] = c;
				n++;
			}
		}
	}
	return n;
}

/* whether column c is in one of m's tables */
static bool mapper_has(const ath_mapper *m, const ath_column *c)
{
	for (uint32_t t = 0; c && t < m->ntables; t++)
		if (ath_table__column(m->tables[t], c->name) == c)
			return true;
	return false;
}

static const ath_table *own_table(const ath_mapper *m) { return m->tables[m->ntables - 1]; }

typedef struct rel_spec {
	const char *target, *secondary, *back;
	int uselist; /* -1 not given */
	mobj *fks, *remote_side, *order_by, *primaryjoin, *secondaryjoin;
	bool has_cascade;
} rel_spec;

static int rel_columns(dec *d, ath_rel *r, mobj *list, const ath_metadata *md, const ath_column ***out, uint32_t *n,
		       const char *what)
{
	*out = NULL;
	*n = 0;
	if (!list || list->type == MSGPACK_OBJECT_NIL)
		return 0;
	if (list->type != MSGPACK_OBJECT_ARRAY)
		return fail(d, "%s must be an array of [\"col\", table, name]", what);
	*out = ath_arena__zalloc(d->arena, sizeof **out * (list->via.array.size + 1));
	if (!*out)
		return oom(d);
	for (uint32_t i = 0; i < list->via.array.size; i++) {
		const ath_column *c = spec_column(&list->via.array.ptr[i], md);
		if (!c)
			return cfg_error(d, "%s.%s: %s[%u] is not a [\"col\", table, name] of the metadata",
					 r->owner->name, r->name, what, i);
		(*out)[(*n)++] = c;
	}
	return 0;
}

static int pairs_alloc(dec *d, ath_rel *r, uint32_t n)
{
	r->npairs = n;
	r->local = ath_arena__alloc(d->arena, sizeof *r->local * (n ? n : 1));
	r->remote = ath_arena__alloc(d->arena, sizeof *r->remote * (n ? n : 1));
	return r->local && r->remote ? 0 : oom(d);
}

/* SQLAlchemy's JoinCondition for a relationship without primaryjoin: direction and column pairs
 * from the one foreign key that links the two tables. */
/* a column reference of a primaryjoin: ["col", table, name] or ["attr", cls, name] */
static const ath_column *join_column(const ath_registry *reg, mobj *o)
{
	const ath_column *c = spec_column(o, reg->md);
	if (c || o->type != MSGPACK_OBJECT_ARRAY || o->via.array.size != 3 || !str_eq(&o->via.array.ptr[0], "attr"))
		return c;
	mobj *cn = &o->via.array.ptr[1], *an = &o->via.array.ptr[2];
	char cls[256], attr[256];
	if (cn->type != MSGPACK_OBJECT_STR || an->type != MSGPACK_OBJECT_STR || cn->via.str.size >= sizeof cls ||
	    an->via.str.size >= sizeof attr)
		return NULL;
	memcpy(cls, cn->via.str.ptr, cn->via.str.size);
	cls[cn->via.str.size] = 0;
	memcpy(attr, an->via.str.ptr, an->via.str.size);
	attr[an->via.str.size] = 0;
	const ath_mapper *m = ath_registry__mapper(reg, cls);
	int at = m ? ath_mapper__attr(m, attr) : -1;
	return at >= 0 && (uint32_t)at < m->nprops ? m->props[at].col : NULL;
}

/* A join condition's terms: the operands of its top-level AND, or the condition itself. */
static mobj *join_terms(mobj *join, uint32_t *n)
{
	if (join->type == MSGPACK_OBJECT_ARRAY && join->via.array.size > 1 && str_eq(&join->via.array.ptr[0], "and")) {
		*n = join->via.array.size - 1;
		return join->via.array.ptr + 1;
	}
	*n = 1;
	return join;
}

/* The columns of a `col = col` term (either NULL when the term is something else). */
static void eq_columns(const ath_registry *reg, mobj *t, const ath_column **a, const ath_column **b)
{
	*a = *b = NULL;
	if (t->type == MSGPACK_OBJECT_ARRAY && t->via.array.size == 3 &&
	    (str_eq(&t->via.array.ptr[0], "=") || str_eq(&t->via.array.ptr[0], "=="))) {
		*a = join_column(reg, &t->via.array.ptr[1]);
		*b = join_column(reg, &t->via.array.ptr[2]);
	}
}

/* whether an expression refers to a column of table t */
static bool refers_to(const ath_registry *reg, mobj *o, const ath_table *t)
{
	if (o->type != MSGPACK_OBJECT_ARRAY)
		return false;
	const ath_column *c = join_column(reg, o);
	if (c)
		return ath_table__column(t, c->name) == c;
	for (uint32_t i = 0; i < o->via.array.size; i++)
		if (refers_to(reg, &o->via.array.ptr[i], t))
			return true;
	return false;
}

/* A custom primaryjoin (relationships.py's JoinCondition with primaryjoin given): its
 * `owner.col = target.col` terms are the column pairs, foreign_keys (or the metadata's foreign
 * keys) tell the direction, and the other terms are criteria on the target, added wherever the
 * relationship is loaded or joined. */
static int configure_primaryjoin(dec *d, ath_registry *reg, ath_rel *r, rel_spec *rs, const ath_column **fks,
				 uint32_t nfks)
{
	const ath_table *own = r->owner->table, *tgt = r->target->table;
	if (own == tgt)
		return ath_err__set(d->err, ATH_ERROR, ATH_ERRCLASS_NOT_SUPPORTED_ERROR,
				    "%s.%s: a custom primaryjoin on a self-referential one-to-many or many-to-one is not "
				    "supported yet (remote_side and foreign_keys are)",
				    r->owner->name, r->name);
	uint32_t nterms;
	mobj *terms = join_terms(rs->primaryjoin, &nterms);
	const ath_column *oc[16], *tc[16];
	uint32_t npairs = 0;
	r->extra = ath_arena__zalloc(d->arena, sizeof *r->extra * nterms);
	if (!r->extra)
		return oom(d);
	for (uint32_t i = 0; i < nterms; i++) {
		mobj *t = &terms[i];
		const ath_column *a, *b;
		eq_columns(reg, t, &a, &b);
		bool a_own = mapper_has(r->owner, a), b_own = mapper_has(r->owner, b);
		bool a_tgt = mapper_has(r->target, a), b_tgt = mapper_has(r->target, b);
		if (npairs < 16 && ((a_own && b_tgt) || (a_tgt && b_own))) {
			oc[npairs] = a_own ? a : b;
			tc[npairs++] = a_own ? b : a;
			continue;
		}
		bool owner_terms = false;
		for (uint32_t k = 0; k < r->owner->ntables; k++)
			owner_terms |= refers_to(reg, t, r->owner->tables[k]);
		if (owner_terms)
			return ath_err__set(d->err, ATH_ERROR, ATH_ERRCLASS_NOT_SUPPORTED_ERROR,
					    "%s.%s: primaryjoin term %u refers to %s besides the column pairs; only criteria on %s "
					    "are supported yet",
					    r->owner->name, r->name, i, own->name, tgt->name);
		r->extra[r->nextra++] = t;
	}
	if (!npairs)
		return cfg_error(d, "%s.%s: primaryjoin has no owner.column = target.column term linking '%s' and '%s'",
				 r->owner->name, r->name, own->name, tgt->name);
	/* direction: the foreign key side */
	bool fk_on_target = false, fk_on_owner = false;
	for (uint32_t i = 0; i < npairs; i++) {
		bool tf = nfks ? col_in(tc[i], fks, nfks) : tc[i]->has_fk;
		bool of = nfks ? col_in(oc[i], fks, nfks) : oc[i]->has_fk;
		fk_on_target |= tf && !of;
		fk_on_owner |= of && !tf;
	}
	if (fk_on_target == fk_on_owner)
		return cfg_error(d, "%s.%s: could not determine the direction of the primaryjoin; give foreign_keys", r->owner->name,
				 r->name);
	r->dir = fk_on_owner ? ATH_REL_M2O : ATH_REL_O2M;
	int rc = pairs_alloc(d, r, npairs);
	for (uint32_t i = 0; !rc && i < npairs; i++) {
		r->local[i] = (uint32_t)prop_of_column(r->owner, oc[i]);
		r->remote[i] = (uint32_t)prop_of_column(r->target, tc[i]);
	}
	return rc;
}

/* One side of a many-to-many: the pairs `side.col = secondary.col` of a custom primaryjoin /
 * secondaryjoin (every term must be one), or else the one foreign key from the secondary to the
 * side's table. */
static int secondary_side(dec *d, ath_registry *reg, ath_rel *r, const ath_mapper *m, const ath_table *sec, mobj *join,
			  const ath_column **fks, uint32_t nfks, const char *which, uint32_t *n, uint32_t **props,
			  const ath_column ***cols)
{
	const ath_column *mc[16], *sc[16];
	uint32_t np = 0;
	if (join) {
		uint32_t nterms;
		mobj *terms = join_terms(join, &nterms);
		for (uint32_t i = 0; i < nterms; i++) {
			const ath_column *a, *b;
			eq_columns(reg, &terms[i], &a, &b);
			bool a_sec = a && ath_table__column(sec, a->name) == a, b_sec = b && ath_table__column(sec, b->name) == b;
			bool a_m = a && prop_of_column(m, a) >= 0, b_m = b && prop_of_column(m, b) >= 0;
			if (np == 16 || !((a_m && b_sec) || (a_sec && b_m)))
				return ath_err__set(d->err, ATH_ERROR, ATH_ERRCLASS_NOT_SUPPORTED_ERROR,
						    "%s.%s: %s term %u is not %s.column = %s.column; other terms are not "
						    "supported on a many-to-many yet",
						    r->owner->name, r->name, which, i, m->table->name, sec->name);
			mc[np] = a_sec ? b : a;
			sc[np++] = a_sec ? a : b;
		}
	} else {
		const ath_constraint *f[4];
		uint32_t nf = mapper_fks(sec, NULL, m, fks, nfks, f, 4);
		if (nf != 1)
			return ath_err__set(d->err, ATH_EINVALID, ATH_ERRCLASS_ARGUMENT_ERROR,
					    "%s.%s: could not determine join condition between parent/child tables: "
					    "secondary table '%s' has %u foreign key(s) to '%s' (one needed); give %s",
					    r->owner->name, r->name, sec->name, nf, m->table->name, which);
		for (uint32_t i = 0; i < f[0]->ncolumns && np < 16; i++) {
			mc[np] = f[0]->ref_columns[i];
			sc[np++] = f[0]->columns[i];
		}
	}
	*n = np;
	*props = ath_arena__alloc(d->arena, sizeof **props * np);
	*cols = ath_arena__alloc(d->arena, sizeof **cols * np);
	if (!*props || !*cols)
		return oom(d);
	for (uint32_t i = 0; i < np; i++) {
		int p = prop_of_column(m, mc[i]);
		if (p < 0)
			return cfg_error(d, "%s.%s: column '%s' of the join is not mapped by %s", r->owner->name, r->name,
					 mc[i]->name, m->name);
		(*props)[i] = (uint32_t)p;
		(*cols)[i] = sc[i];
	}
	return 0;
}

/* A many-to-many through `secondary`: owner = secondary (primaryjoin) and secondary = target
 * (secondaryjoin), from the foreign keys or given; a self-referential one needs both given. */
static int configure_secondary(dec *d, ath_registry *reg, ath_rel *r, rel_spec *rs, const ath_column **fks, uint32_t nfks)
{
	const ath_table *sec = ath_metadata__table(reg->md, NULL, rs->secondary);
	if (!sec)
		return cfg_error(d, "%s.%s: secondary table '%s' is not in the metadata", r->owner->name, r->name,
				 rs->secondary);
	if (own_table(r->owner) == own_table(r->target) && (!rs->primaryjoin || !rs->secondaryjoin))
		return ath_err__set(d->err, ATH_EINVALID, ATH_ERRCLASS_ARGUMENT_ERROR,
				    "%s.%s: could not determine join condition between parent/child tables: a "
				    "self-referential many-to-many through '%s' needs primaryjoin and secondaryjoin",
				    r->owner->name, r->name, sec->name);
	r->dir = ATH_REL_M2M;
	r->secondary = sec;
	int rc = secondary_side(d, reg, r, r->owner, sec, rs->primaryjoin, fks, nfks, "primaryjoin", &r->nsec_local,
				&r->sec_local_prop, &r->sec_local_col);
	return rc ? rc
		  : secondary_side(d, reg, r, r->target, sec, rs->secondaryjoin, fks, nfks, "secondaryjoin", &r->nsec_remote,
				   &r->sec_remote_prop, &r->sec_remote_col);
}

static int configure_join(dec *d, ath_registry *reg, ath_rel *r, rel_spec *rs)
{
	const ath_column **fks, **remote_side;
	uint32_t nfks, nremote;
	int rc = rel_columns(d, r, rs->fks, reg->md, &fks, &nfks, "foreign_keys");
	if (!rc)
		rc = rel_columns(d, r, rs->remote_side, reg->md, &remote_side, &nremote, "remote_side");
	if (rc)
		return rc;
	const ath_table *own = own_table(r->owner), *tgt = own_table(r->target);
	const ath_constraint *mf[4], *of[4];
	if (rs->secondary)
		return configure_secondary(d, reg, r, rs, fks, nfks);
	if (rs->secondaryjoin)
		return cfg_error(d, "%s.%s: secondaryjoin needs a secondary table", r->owner->name, r->name);
	if (rs->primaryjoin)
		return configure_primaryjoin(d, reg, r, rs, fks, nfks);
	uint32_t n_m2o = mapper_fks(NULL, r->owner, r->target, fks, nfks, mf, 4);
	const ath_constraint *m2o = n_m2o ? mf[0] : NULL;
	uint32_t n_o2m = mapper_fks(NULL, r->target, r->owner, fks, nfks, of, 4);
	const ath_constraint *o2m = n_o2m ? of[0] : NULL;
	if (n_m2o == 1 && n_o2m == 1 && m2o == o2m) {
		/* self-referential (a table's foreign key to itself): one-to-many unless remote_side
		 * names the referred (parent) columns */
		{
			bool remote_is_ref = nremote > 0;
			for (uint32_t i = 0; i < nremote; i++)
				if (!col_in(remote_side[i], m2o->ref_columns, m2o->ncolumns))
					remote_is_ref = false;
			if (remote_is_ref)
				n_o2m = 0;
			else {
				o2m = m2o;
				n_o2m = 1;
				m2o = NULL;
				n_m2o = 0;
			}
		}
	}
	if (n_m2o + n_o2m == 0)
		return ath_err__set(d->err, ATH_EINVALID, ATH_ERRCLASS_ARGUMENT_ERROR,
				    "%s.%s: could not determine join condition between parent/child tables '%s' and "
				    "'%s': there are no foreign keys linking these tables",
				    r->owner->name, r->name, own->name, tgt->name);
	if (n_m2o > 1 || n_o2m > 1 || (n_m2o && n_o2m))
		return ath_err__set(d->err, ATH_EINVALID, ATH_ERRCLASS_ARGUMENT_ERROR,
				    "%s.%s: could not determine join condition between parent/child tables '%s' and "
				    "'%s': there are multiple foreign key paths linking the tables; give foreign_keys",
				    r->owner->name, r->name, own->name, tgt->name);
	const ath_constraint *fk = m2o ? m2o : o2m;
	r->dir = m2o ? ATH_REL_M2O : ATH_REL_O2M;
	if ((rc = pairs_alloc(d, r, fk->ncolumns)))
		return rc;
	for (uint32_t i = 0; i < fk->ncolumns; i++) {
		const ath_column *fcol = fk->columns[i], *rcol = fk->ref_columns[i];
		int lp = m2o ? prop_of_column(r->owner, fcol) : prop_of_column(r->owner, rcol);
		int tp = m2o ? prop_of_column(r->target, rcol) : prop_of_column(r->target, fcol);
		r->local[i] = (uint32_t)lp;
		r->remote[i] = (uint32_t)tp;
	}
	if (r->dir == ATH_REL_M2O && r->npairs == r->target->npk) {
		r->m2o_by_pk = true;
		for (uint32_t i = 0; i < r->npairs; i++)
			if (r->remote[i] != r->target->pk[i])
				r->m2o_by_pk = false;
	}
	return 0;
}

static int decode_rel(dec *d, ath_registry *reg, ath_rel *r, mobj *o, rel_spec *rs)
{
	if (o->type != MSGPACK_OBJECT_MAP)
		return fail(d, "a relationship must be a map, not %s", type_name(o));
	rs->uselist = -1;
	r->cascade = ATH_CASCADE_SAVE_UPDATE | ATH_CASCADE_MERGE;
	r->lazy = ATH_LAZY_SELECT;
	int rc = 0;
	FOR_MAP(o, i, k, v)
	{
		if (k->type != MSGPACK_OBJECT_STR)
			return fail(d, "keys must be strings");
		path_key(d, k->via.str.ptr, k->via.str.size);
		bool b = false;
		if (str_eq(k, "target"))
			rc = ath_wire__get_str(d, v, "target class", &rs->target);
		else if (str_eq(k, "back_populates"))
			rc = opt_str(d, v, "back_populates", &rs->back);
		else if (str_eq(k, "uselist"))
			rc = v->type == MSGPACK_OBJECT_NIL ? 0 : (rc = get_bool(d, v, &b)) ? rc : (rs->uselist = b, 0);
		else if (str_eq(k, "secondary"))
			rc = opt_str(d, v, "secondary table", &rs->secondary);
		else if (str_eq(k, "primaryjoin"))
			rs->primaryjoin = v->type == MSGPACK_OBJECT_NIL ? NULL : v;
		else if (str_eq(k, "secondaryjoin"))
			rs->secondaryjoin = v->type == MSGPACK_OBJECT_NIL ? NULL : v;
		else if (str_eq(k, "foreign_keys"))
			rs->fks = v;
		else if (str_eq(k, "remote_side"))
			rs->remote_side = v;
		else if (str_eq(k, "order_by")) {
			if (v->type != MSGPACK_OBJECT_NIL && v->type != MSGPACK_OBJECT_ARRAY)
				rc = fail(d, "order_by must be an array of expressions");
			else
				r->order_by = v->type == MSGPACK_OBJECT_NIL || !v->via.array.size ? NULL : v;
		} else if (str_eq(k, "cascade"))
			rc = parse_cascade(d, v, &r->cascade), rs->has_cascade = true;
		else if (str_eq(k, "lazy")) {
			if (str_eq(v, "select") || str_eq(v, "true"))
				r->lazy = ATH_LAZY_SELECT;
			else if (str_eq(v, "selectin"))
				r->lazy = ATH_LAZY_SELECTIN;
			else if (str_eq(v, "raise"))
				r->lazy = ATH_LAZY_RAISE;
			else if (str_eq(v, "noload"))
				r->lazy = ATH_LAZY_NOLOAD;
			else if (str_eq(v, "joined"))
				r->lazy = ATH_LAZY_JOINED;
			else if (str_eq(v, "write_only"))
				r->lazy = ATH_LAZY_WRITE_ONLY;
			else if (str_eq(v, "subquery"))
				r->lazy = ATH_LAZY_SUBQUERY;
			else if (str_eq(v, "dynamic"))
				rc = ath_err__set(d->err, ATH_ERROR, ATH_ERRCLASS_NOT_SUPPORTED_ERROR,
						  "%s.%s: lazy=\"%.*s\" is not supported yet (select, selectin, subquery, "
						  "joined, raise, noload and write_only are)",
						  r->owner->name, r->name, (int)v->via.str.size, v->via.str.ptr);
			else
				rc = fail(d, "unknown loader strategy");
		} else if (str_eq(k, "passive_deletes"))
			rc = get_bool(d, v, &r->passive_deletes);
		else if (str_eq(k, "post_update"))
			rc = get_bool(d, v, &r->post_update);
		else if (str_eq(k, "viewonly"))
			rc = get_bool(d, v, &r->viewonly);
		else if (str_eq(k, "innerjoin") || str_eq(k, "single_parent"))
			rc = get_bool(d, v, &b);
		else
			rc = fail(d, "unknown key for a relationship");
		if (rc)
			return rc;
		path_pop(d);
	}
	if (!rs->target)
		return cfg_error(d, "%s.%s: a relationship needs a \"target\" class", r->owner->name, r->name);
	return 0;
}

static int configure_rels(dec *d, ath_registry *reg, ath_mapper *m, mobj *o)
{
	if (o && o->type != MSGPACK_OBJECT_NIL && o->type != MSGPACK_OBJECT_MAP)
		return fail(d, "relationships must be a map, not %s", type_name(o));
	uint32_t own = o && o->type == MSGPACK_OBJECT_MAP ? o->via.map.size : 0;
	/* a subclass has its parent's relationships first, at the same indexes */
	uint32_t inh = m->parent ? m->parent->nrels : 0;
	m->ninherited = inh;
	m->nrels = inh + own;
	m->rels = ath_arena__zalloc(d->arena, sizeof *m->rels * (m->nrels ? m->nrels : 1));
	rel_spec *specs = ath_arena__zalloc(d->arena, sizeof *specs * (own ? own : 1));
	if (!m->rels || !specs)
		return oom(d);
	for (uint32_t i = 0; i < inh; i++) {
		m->rels[i] = m->parent->rels[i];
		m->rels[i].owner = m;
	}
	if (!own)
		return 0;
	FOR_MAP(o, i0, k, v)
	{
		uint32_t i = inh + i0;
		ath_rel *r = &m->rels[i];
		r->idx = i;
		r->owner = m;
		path_key(d, k->type == MSGPACK_OBJECT_STR ? k->via.str.ptr : "?", k->type == MSGPACK_OBJECT_STR ? k->via.str.size : 1);
		int rc = ath_wire__get_str(d, k, "relationship name", &r->name);
		if (!rc && ath_mapper__attr(m, r->name) >= 0 && ath_mapper__attr(m, r->name) < (int)m->nprops)
			rc = cfg_error(d, "%s.%s: the name is both a column attribute and a relationship", m->name, r->name);
		for (uint32_t j = 0; !rc && j < i; j++)
			if (strcmp(m->rels[j].name, r->name) == 0)
				rc = cfg_error(d, "%s.%s: relationship given twice", m->name, r->name);
		if (!rc)
			rc = decode_rel(d, reg, r, v, &specs[i0]);
		if (rc)
			return rc;
		r->target = (ath_mapper *)ath_registry__mapper(reg, specs[i0].target);
		if (!r->target)
			return cfg_error(d, "%s.%s: target class '%s' is not mapped", m->name, r->name, specs[i0].target);
		if ((rc = configure_join(d, reg, r, &specs[i0])))
			return rc;
		r->uselist = specs[i0].uselist >= 0 ? specs[i0].uselist : r->dir != ATH_REL_M2O;
		if (r->dir == ATH_REL_M2O && r->uselist)
			return cfg_error(d, "%s.%s: a many-to-one relationship cannot be a list", m->name, r->name);
		if (r->lazy == ATH_LAZY_WRITE_ONLY && !r->uselist)
			return cfg_error(d, "%s.%s: lazy=\"write_only\" is for collections", m->name, r->name);
		if ((r->cascade & ATH_CASCADE_DELETE_ORPHAN) && r->dir == ATH_REL_M2O)
			return cfg_error(d, "%s.%s: delete-orphan cascade is normally configured only on the \"one\" "
					    "side of a one-to-many relationship",
					 m->name, r->name);
		r->back_name = specs[i0].back;
		path_pop(d);
	}
	return 0;
}

static int check_back(dec *d, ath_registry *reg)
{
	for (uint32_t i = 0; i < reg->nmappers; i++) {
		ath_mapper *m = &reg->mappers[i];
		for (uint32_t j = 0; j < m->nrels; j++) {
			ath_rel *r = &m->rels[j];
			if (!r->back_name)
				continue;
			ath_rel *b = NULL;
			for (uint32_t k = 0; k < r->target->nrels; k++)
				if (strcmp(r->target->rels[k].name, r->back_name) == 0)
					b = &r->target->rels[k];
			if (!b)
				return cfg_error(d, "%s.%s: back_populates names '%s', which %s does not have",
						 m->name, r->name, r->back_name, r->target->name);
			bool dir_ok = (r->dir == ATH_REL_M2M && b->dir == ATH_REL_M2M) ||
				      (r->dir == ATH_REL_M2O && b->dir == ATH_REL_O2M) ||
				      (r->dir == ATH_REL_O2M && b->dir == ATH_REL_M2O);
			if (!ath_mapper__isa(m, b->target) || !dir_ok || (b->back_name && strcmp(b->back_name, r->name) != 0))
				return cfg_error(d, "%s.%s: back_populates '%s' does not mirror it (%s.%s %s)", m->name,
						 r->name, r->back_name, r->target->name, b->name,
						 !ath_mapper__isa(m, b->target) ? "targets another class"
						 : !dir_ok      ? "has an incompatible direction"
								: "populates another relationship");
			r->back = b;
		}
	}
	return 0;
}

/* Flush order: a many-to-one's target (a one-to-many's owner) before the other side, and so each
 * class of the target's hierarchy before each of the other's (Kahn's algorithm). */
static int flush_order(dec *d, ath_registry *reg)
{
	uint32_t n = reg->nmappers;
	bool *before = ath_arena__zalloc(d->arena, (size_t)n * n + 1); /* before[x * n + y]: x flushes before y */
	uint32_t *indeg = ath_arena__zalloc(d->arena, sizeof *indeg * (n ? n : 1));
	reg->flush_order = ath_arena__zalloc(d->arena, sizeof(ath_mapper *) * (n ? n : 1));
	bool *done = ath_arena__zalloc(d->arena, n ? n : 1);
	if (!before || !indeg || !reg->flush_order || !done)
		return oom(d);
	for (uint32_t i = 0; i < n; i++) {
		ath_mapper *m = &reg->mappers[i];
		for (uint32_t j = 0; j < m->nrels; j++) {
			const ath_rel *r = &m->rels[j];
			if (r->dir == ATH_REL_M2M || r->post_update || r->viewonly)
				continue;
			const ath_mapper *parent = r->dir == ATH_REL_M2O ? r->target : m;
			const ath_mapper *child = r->dir == ATH_REL_M2O ? m : r->target;
			if (parent == child) {
				m->self_ref = true;
				continue;
			}
			for (uint32_t x = 0; x < n; x++)
				for (uint32_t y = 0; y < n; y++) {
					const ath_mapper *mx = &reg->mappers[x], *my = &reg->mappers[y];
					if (x != y && ((mx == parent && my == child) ||
						       (parent->root != child->root && ath_mapper__isa(mx, parent) && ath_mapper__isa(my, child))))
						before[x * n + y] = true;
				}
		}
	}
	for (uint32_t x = 0; x < n; x++)
		for (uint32_t y = 0; y < n; y++)
			indeg[y] += before[x * n + y];
	for (uint32_t placed = 0; placed < n; placed++) {
		uint32_t pick = n;
		for (uint32_t i = 0; i < n && pick == n; i++)
			if (!done[i] && indeg[i] == 0)
				pick = i;
		if (pick == n) {
			char names[256] = "";
			for (uint32_t i = 0; i < n; i++)
				if (!done[i] && strlen(names) + strlen(reg->mappers[i].name) + 3 < sizeof names)
					strcat(strcat(names, names[0] ? ", " : ""), reg->mappers[i].name);
			return ath_err__set(d->err, ATH_EINVALID, ATH_ERRCLASS_INVALID_REQUEST_ERROR,
					    "circular dependency between mappers %s: set post_update on one of the "
					    "relationships in the cycle",
					    names);
		}
		done[pick] = true;
		reg->mappers[pick].order = placed;
		reg->flush_order[placed] = &reg->mappers[pick];
		for (uint32_t y = 0; y < n; y++)
			indeg[y] -= before[pick * n + y];
	}
	return 0;
}

/* Joined-table inheritance: the subclass's own table `t`, joined to its parent's last table by a
 * foreign key from its primary key to the parent's (SQLAlchemy's inherit_condition); its other
 * columns are mapped after the parent's attributes. */
static int setup_joined(dec *d, ath_mapper *m, const ath_mapper *parent, const ath_table *t)
{
	const ath_table *pt = parent->tables[parent->ntables - 1];
	for (uint32_t k = 0; k < parent->ntables; k++)
		if (parent->tables[k] == t)
			return cfg_error(d, "%s: table '%s' is already mapped by its parent classes", m->name, t->name);
	if (!t->pk || t->pk->ncolumns != parent->npk)
		return cfg_error(d, "%s: joined-table inheritance needs table '%s' to have a primary key of %u column(s), "
				    "like '%s'", m->name, t->name, parent->npk, pt->name);
	/* the foreign key of t's primary key columns to the parent table's */
	const ath_constraint *fk = NULL;
	for (uint32_t i = 0; i < t->nconstraints && !fk; i++) {
		const ath_constraint *c = t->constraints[i];
		bool all = c->kind == ATH_CK_FOREIGN_KEY && c->ref_table == pt && c->ncolumns == t->pk->ncolumns;
		for (uint32_t j = 0; all && j < c->ncolumns; j++) {
			bool in_pk = false;
			for (uint32_t k = 0; k < t->pk->ncolumns; k++)
				in_pk |= t->pk->columns[k] == c->columns[j];
			all = in_pk;
		}
		if (all)
			fk = c;
	}
	if (!fk)
		return cfg_error(d, "%s: can't find any foreign key relationships between '%s' and '%s': joined-table "
				    "inheritance needs '%s''s primary key to refer to '%s''s",
				 m->name, pt->name, t->name, t->name, pt->name);
	uint32_t n = parent->ntables + 1;
	m->ntables = n;
	m->tables = ath_arena__alloc(d->arena, sizeof *m->tables * n);
	m->tpk = ath_arena__alloc(d->arena, sizeof *m->tpk * n);
	m->tfk = ath_arena__alloc(d->arena, sizeof *m->tfk * n);
	const ath_column **own = ath_arena__alloc(d->arena, sizeof *own * parent->npk);
	if (!m->tables || !m->tpk || !m->tfk || !own)
		return oom(d);
	memcpy(m->tables, parent->tables, sizeof *m->tables * parent->ntables);
	memcpy(m->tpk, parent->tpk, sizeof *m->tpk * parent->ntables);
	memcpy(m->tfk, parent->tfk, sizeof *m->tfk * parent->ntables);
	for (uint32_t k = 0; k < parent->npk; k++) {
		own[k] = NULL;
		for (uint32_t j = 0; j < fk->ncolumns; j++)
			if (fk->ref_columns[j] == parent->tpk[parent->ntables - 1][k])
				own[k] = fk->columns[j];
		if (!own[k])
			return cfg_error(d, "%s: the foreign key of '%s' to '%s' does not refer to its primary key", m->name,
					 t->name, pt->name);
	}
	m->tables[n - 1] = t;
	m->tpk[n - 1] = own;
	m->tfk[n - 1] = fk;
	/* the parent's attributes, then t's columns but its key */
	uint32_t extra = t->ncolumns - t->pk->ncolumns;
	ath_prop *props = ath_arena__zalloc(d->arena, sizeof *props * (parent->nprops + extra + 1));
	if (!props)
		return oom(d);
	memcpy(props, parent->props, sizeof *props * parent->nprops);
	m->props = props;
	m->nprops = parent->nprops;
	for (uint32_t j = 0; j < t->ncolumns; j++) {
		const ath_column *c = &t->columns[j];
		bool key = false;
		for (uint32_t k = 0; k < parent->npk; k++)
			key |= own[k] == c;
		if (key)
			continue;
		for (uint32_t i = 0; i < m->nprops; i++)
			if (strcmp(m->props[i].name, c->name) == 0)
				return cfg_error(d, "%s.%s: column '%s' of '%s' and the inherited attribute have the same name; "
						    "rename one in \"properties\"", m->name, c->name, c->name, t->name);
		m->props[m->nprops].col = c;
		m->props[m->nprops].table = t;
		m->props[m->nprops++].name = c->name;
	}
	return 0;
}

/* A class's table, props and keys: its own table; a subclass's parent's (single-table
 * inheritance, with the discriminator), or its parent's joined to its own (joined-table). */
static int setup_mapper(dec *d, ath_registry *reg, ath_mapper *m, ath_mapper *parent, cls_spec *cs)
{
	int rc;
	if (parent) {
		if (cs->poly_on)
			return cfg_error(d, "%s: polymorphic_on belongs to the base class %s", m->name, parent->root->name);
		m->parent = parent;
		m->root = parent->root;
		m->table = parent->table;
		const ath_table *own = cs->table ? ath_metadata__table(reg->md, NULL, cs->table) : NULL;
		if (cs->table && !own)
			return cfg_error(d, "%s: table '%s' is not in the metadata", m->name, cs->table);
		if (own && own != parent->tables[parent->ntables - 1]) {
			if ((rc = setup_joined(d, m, parent, own)))
				return rc;
		} else {
			m->ntables = parent->ntables;
			m->tables = parent->tables;
			m->tpk = parent->tpk;
			m->tfk = parent->tfk;
			m->nprops = parent->nprops;
			m->props = ath_arena__alloc(d->arena, sizeof *m->props * m->nprops);
			if (!m->props)
				return oom(d);
			memcpy(m->props, parent->props, sizeof *m->props * m->nprops);
		}
		m->npk = parent->npk;
		m->pk = parent->pk;
		m->version_prop = parent->version_prop;
		m->poly_prop = parent->poly_prop;
		m->eager_defaults |= parent->eager_defaults;
	} else {
		if (!cs->table)
			return cfg_error(d, "%s: a class needs a \"table\"", m->name);
		m->root = m;
		m->table = ath_metadata__table(reg->md, NULL, cs->table);
		if (!m->table)
			return cfg_error(d, "%s: table '%s' is not in the metadata", m->name, cs->table);
		if (!m->table->pk || !m->table->pk->ncolumns)
			return cfg_error(d, "%s: Mapper could not assemble any primary key columns for mapped table '%s'",
					 m->name, cs->table);
		m->nprops = m->table->ncolumns;
		m->props = ath_arena__zalloc(d->arena, sizeof *m->props * m->nprops);
		m->npk = m->table->pk->ncolumns;
		m->pk = ath_arena__alloc(d->arena, sizeof *m->pk * m->npk);
		if (!m->props || !m->pk)
			return oom(d);
		for (uint32_t j = 0; j < m->nprops; j++) {
			m->props[j].col = &m->table->columns[j];
			m->props[j].table = m->table;
			m->props[j].name = m->table->columns[j].name;
		}
		for (uint32_t j = 0; j < m->npk; j++)
			m->pk[j] = m->table->pk->columns[j]->pos;
		m->ntables = 1;
		m->tables = ath_arena__alloc(d->arena, sizeof *m->tables);
		m->tpk = ath_arena__alloc(d->arena, sizeof *m->tpk);
		m->tfk = ath_arena__zalloc(d->arena, sizeof *m->tfk);
		if (!m->tables || !m->tpk || !m->tfk)
			return oom(d);
		m->tables[0] = m->table;
		m->tpk[0] = (const ath_column **)m->table->pk->columns;
		if (cs->poly_on) {
			const ath_column *pc = ath_table__column(m->table, cs->poly_on);
			if (!pc)
				return cfg_error(d, "%s: polymorphic_on names '%s', which table '%s' does not have", m->name,
						 cs->poly_on, m->table->name);
			m->poly_prop = (int32_t)pc->pos;
		}
	}
	path_key(d, "properties", 10);
	if ((rc = decode_props(d, m, cs->properties)))
		return rc;
	path_pop(d);
	for (uint32_t j = 0; j < m->npk; j++)
		if (m->props[m->pk[j]].deferred)
			return cfg_error(d, "%s.%s: a primary key column cannot be deferred", m->name, m->props[m->pk[j]].name);
	if (m->poly_prop >= 0 && m->props[m->poly_prop].deferred)
		return cfg_error(d, "%s.%s: the polymorphic_on column cannot be deferred", m->name,
				 m->props[m->poly_prop].name);
	if (cs->version_id) {
		const ath_column *vc = ath_table__column(m->table, cs->version_id);
		if (!vc)
			return cfg_error(d, "%s: version_id names '%s', which table '%s' does not have", m->name,
					 cs->version_id, m->table->name);
		if (!ath_type__is_integer(&vc->type))
			return cfg_error(d, "%s: version_id column '%s' must be an integer column", m->name, cs->version_id);
		m->version_prop = (int32_t)vc->pos;
	}
	if (cs->identity) {
		if (m->poly_prop < 0)
			return cfg_error(d, "%s: a polymorphic_identity needs polymorphic_on on the base class", m->name);
		ath_buf b = ATH_BUF_INIT;
		msgpack_packer pk;
		ath_wire__packer_init(&pk, &b);
		unsigned char *copy = NULL;
		if (msgpack_pack_object(&pk, *cs->identity) == 0 && (copy = ath_arena__alloc(d->arena, b.size)))
			memcpy(copy, b.ptr, b.size);
		m->identity = copy;
		m->identity_len = copy ? (uint32_t)b.size : 0;
		m->identity_obj = cs->identity;
		ath_buf_dispose(&b);
		if (!copy)
			return oom(d);
		for (uint32_t j = 0; j < reg->nmappers; j++) {
			const ath_mapper *o = &reg->mappers[j];
			if (o != m && o->root == m->root && o->identity_len == m->identity_len &&
			    memcmp(o->identity, m->identity, m->identity_len) == 0)
				return cfg_error(d, "%s: polymorphic_identity is %s's already", m->name, o->name);
		}
	} else if (m->parent && (m->ntables == m->parent->ntables || m->root->poly_prop >= 0))
		return cfg_error(d, "%s: a subclass %s needs a polymorphic_identity", m->name,
				 m->ntables == m->parent->ntables ? "in single-table inheritance" : "of a hierarchy with polymorphic_on");
	return 0;
}

static int decode_registry(dec *d, ath_registry *reg, mobj *root, const ath_wire_limits *lim)
{
	if (root->type != MSGPACK_OBJECT_MAP)
		return fail(d, "a mapping spec must be a map, not %s", type_name(root));
	mobj *mdspec = NULL, *classes = NULL;
	int rc = 0;
	FOR_MAP(root, i, k, v)
	{
		if (str_eq(k, "k")) {
			if (!str_eq(v, "registry")) {
				path_key(d, "k", 1);
				return fail(d, "a mapping spec's \"k\" must be \"registry\"");
			}
		} else if (str_eq(k, "metadata"))
			mdspec = v;
		else if (str_eq(k, "classes"))
			classes = v;
		else {
			if (k->type == MSGPACK_OBJECT_STR)
				path_key(d, k->via.str.ptr, k->via.str.size);
			return fail(d, "unknown key for a mapping spec");
		}
	}
	if (!mdspec)
		return fail(d, "a mapping spec needs \"metadata\" (a schema spec)");
	if (!classes || classes->type != MSGPACK_OBJECT_ARRAY) {
		path_key(d, "classes", 7);
		return fail(d, "a mapping spec needs \"classes\", an array");
	}
	/* the metadata from its own bytes, so its errors carry its own paths */
	ath_buf b = ATH_BUF_INIT;
	msgpack_packer pk;
	ath_wire__packer_init(&pk, &b);
	if (msgpack_pack_object(&pk, *mdspec) < 0) {
		ath_buf_dispose(&b);
		return oom(d);
	}
	rc = ath_metadata__create(&reg->md, b.ptr, b.size, lim, d->err);
	ath_buf_dispose(&b);
	if (rc) {
		ath_err__prefix(d->err, "metadata: ");
		return rc;
	}
	reg->nmappers = classes->via.array.size;
	reg->mappers = ath_arena__zalloc(d->arena, sizeof *reg->mappers * (reg->nmappers ? reg->nmappers : 1));
	cls_spec *cs = ath_arena__zalloc(d->arena, sizeof *cs * (reg->nmappers ? reg->nmappers : 1));
	if (!reg->mappers || !cs)
		return oom(d);
	path_key(d, "classes", 7);
	for (uint32_t i = 0; i < reg->nmappers; i++) {
		mobj *c = &classes->via.array.ptr[i];
		ath_mapper *m = &reg->mappers[i];
		m->idx = i;
		m->version_prop = -1;
		m->poly_prop = -1;
		path_idx(d, i);
		if (c->type != MSGPACK_OBJECT_MAP)
			return fail(d, "a class must be a map, not %s", type_name(c));
		FOR_MAP(c, j, k, v)
		{
			if (k->type != MSGPACK_OBJECT_STR)
				return fail(d, "keys must be strings");
			path_key(d, k->via.str.ptr, k->via.str.size);
			if (str_eq(k, "name"))
				rc = ath_wire__get_str(d, v, "class name", &m->name);
			else if (str_eq(k, "table"))
				rc = opt_str(d, v, "table name", &cs[i].table), cs[i].table_given = true;
			else if (str_eq(k, "properties"))
				cs[i].properties = v;
			else if (str_eq(k, "relationships"))
				cs[i].relationships = v;
			else if (str_eq(k, "version_id"))
				rc = opt_str(d, v, "version_id column", &cs[i].version_id);
			else if (str_eq(k, "eager_defaults"))
				rc = get_bool(d, v, &m->eager_defaults);
			else if (str_eq(k, "inherits"))
				rc = opt_str(d, v, "inherited class", &cs[i].inherits);
			else if (str_eq(k, "polymorphic_on"))
				rc = opt_str(d, v, "polymorphic_on column", &cs[i].poly_on);
			else if (str_eq(k, "polymorphic_identity")) {
				if (v->type == MSGPACK_OBJECT_ARRAY || v->type == MSGPACK_OBJECT_MAP)
					rc = fail(d, "a polymorphic_identity is a single value");
				else if (v->type != MSGPACK_OBJECT_NIL)
					cs[i].identity = v;
			} else
				rc = fail(d, "unknown key for a class");
			if (rc)
				return rc;
			path_pop(d);
		}
		if (!m->name)
			return fail(d, "a class needs a \"name\"");
		for (uint32_t j = 0; j < i; j++)
			if (strcmp(reg->mappers[j].name, m->name) == 0)
				return cfg_error(d, "class '%s' is mapped twice", m->name);
		path_pop(d);
	}
	/* parents before their subclasses: each round sets up the classes whose parent is ready */
	uint32_t *order = ath_arena__alloc(d->arena, sizeof *order * (reg->nmappers ? reg->nmappers : 1));
	uint32_t nready = 0;
	if (!order)
		return oom(d);
	while (nready < reg->nmappers) {
		uint32_t before = nready;
		for (uint32_t i = 0; i < reg->nmappers; i++) {
			ath_mapper *m = &reg->mappers[i];
			if (cs[i].ready)
				continue;
			ath_mapper *parent = NULL;
			if (cs[i].inherits) {
				parent = (ath_mapper *)ath_registry__mapper(reg, cs[i].inherits);
				if (!parent)
					return cfg_error(d, "%s: inherits '%s', which is not mapped", m->name, cs[i].inherits);
				if (!cs[parent->idx].ready)
					continue;
			}
			path_idx(d, i);
			if ((rc = setup_mapper(d, reg, m, parent, &cs[i])))
				return rc;
			path_pop(d);
			cs[i].ready = true;
			order[nready++] = i;
		}
		if (nready == before)
			return cfg_error(d, "the classes' inherits form a cycle");
	}
	for (uint32_t k = 0; k < reg->nmappers; k++) {
		uint32_t i = order[k];
		path_idx(d, i);
		path_key(d, "relationships", 13);
		if ((rc = configure_rels(d, reg, &reg->mappers[i], cs[i].relationships)))
			return rc;
		path_pop(d);
		path_pop(d);
	}
	path_pop(d);
	if ((rc = check_back(d, reg)))
		return rc;
	return flush_order(d, reg);
}

int ath_registry__create(ath_registry **out, const void *spec, size_t len, ath_err *err)
{
	*out = NULL;
	if (!spec || !len)
		return ath_err__set(err, ATH_EINVALID, ATH_ERRCLASS_ARGUMENT_ERROR, "no mapping spec given");
	ath_wire_limits lim = ath_wire__limits(NULL);
	int rc = ath_wire__validate(spec, len, &lim, "mapping spec", err);
	if (rc)
		return rc;
	ath_registry *r = ath__calloc(1, sizeof *r);
	if (!r)
		return ath_err__oom(err);
	atomic_init(&r->refs, 1);
	pthread_mutex_init(&r->gc_lock, NULL);
	ath_arena__init(&r->arena, 8192);
	if (!msgpack_zone_init(&r->zone, 4096)) {
		ath__free(r);
		return ath_err__oom(err);
	}
	r->spec_copy = ath__malloc(len);
	if (!r->spec_copy) {
		ath_registry__decref(r);
		return ath_err__oom(err);
	}
	memcpy(r->spec_copy, spec, len);
	msgpack_object root;
	size_t off = 0;
	msgpack_unpack_return ur = msgpack_unpack((const char *)r->spec_copy, len, &off, &r->zone, &root);
	if (ur == MSGPACK_UNPACK_NOMEM_ERROR)
		rc = ath_err__oom(err);
	else if (ur != MSGPACK_UNPACK_SUCCESS)
		rc = ath_err__set(err, ATH_EINVALID, ATH_ERRCLASS_WIRE_FORMAT_ERROR, "mapping spec: not valid msgpack");
	else {
		dec d = { .arena = &r->arena, .err = err };
		rc = decode_registry(&d, r, &root, &lim);
	}
	for (uint32_t i = 0; !rc && i < r->nmappers; i++)
		rc = ath_session__prepare_get(r, &r->mappers[i], err);
	if (rc) {
		ath_registry__decref(r);
		return rc;
	}
	r->magic = ATH_MAGIC_REGISTRY;
	*out = r;
	return 0;
}
