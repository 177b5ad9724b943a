/* spec_out.c — the normalised schema spec of a built metadata (ath_metadata_spec): every key of
 * docs/schema-spec.md with its value, names completed by the naming conventions. So that the spec
 * builds the same metadata again, the names are final: the spec says "naming_convention": {} and
 * the constraints and indexes a column's unique=True / index=True made are listed with their
 * names (the column flags then read false); the primary key is a constraint when it is named or
 * not in column order, else the columns' primary_key flags. A CHECK made by a type (Enum / Boolean
 * create_constraint) stays implied by the type. Mirrors what MetaData.tables describes; the model
 * is spec.c's, reflection's specs are reflect.c's. */
#include "schema/metadata.h"

#include <string.h>

#include "wire/mpbuf.h"

typedef msgpack_packer pk_t;

static int key(pk_t *pk, const char *k) { return ath_wire__pack_cstr(pk, k); }
static int kstr(pk_t *pk, const char *k, const char *v) { return key(pk, k) | ath_wire__pack_cstr(pk, v); }
static int kbool(pk_t *pk, const char *k, bool v) { return key(pk, k) | (v ? msgpack_pack_true(pk) : msgpack_pack_false(pk)); }
static int ktri(pk_t *pk, const char *k, int v) /* -1 = nil */
{
	return key(pk, k) | (v < 0 ? msgpack_pack_nil(pk) : v ? msgpack_pack_true(pk) : msgpack_pack_false(pk));
}
static int kexpr(pk_t *pk, const char *k, const ath_sexpr *e)
{
	return key(pk, k) | (e->wire ? msgpack_pack_object(pk, *e->wire) : msgpack_pack_nil(pk));
}

static int names(pk_t *pk, const char *k, const ath_column *const *cols, uint32_t n)
{
	int bad = key(pk, k) | msgpack_pack_array(pk, n);
	for (uint32_t i = 0; i < n; i++)
		bad |= ath_wire__pack_cstr(pk, cols[i]->name);
	return bad;
}

/* a sequence's or an identity's options: the ones given, then the flags */
static int seq(pk_t *pk, const ath_sequence *s, const ath_identity *ident)
{
	const struct {
		const char *k;
		bool has;
		int64_t v;
	} opts[] = { { "start", s->has_start, s->start },          { "increment", s->has_increment, s->increment },
		     { "minvalue", s->has_minvalue, s->minvalue }, { "maxvalue", s->has_maxvalue, s->maxvalue },
		     { "cache", s->has_cache, s->cache } };
	uint32_t n = ident ? 4 : 5;
	for (size_t i = 0; i < 5; i++)
		n += opts[i].has;
	int bad = msgpack_pack_map(pk, n);
	if (ident)
		bad |= kbool(pk, "always", ident->always) | kbool(pk, "on_null", ident->on_null);
	else
		bad |= kstr(pk, "name", s->name) | kstr(pk, "schema", s->schema) | kbool(pk, "optional", s->optional);
	for (size_t i = 0; i < 5; i++)
		if (opts[i].has)
			bad |= key(pk, opts[i].k) | msgpack_pack_int64(pk, opts[i].v);
	return bad | kbool(pk, "cycle", s->cycle) | kbool(pk, "order", s->order);
}

static int column(pk_t *pk, const ath_column *c)
{
	int bad = msgpack_pack_map(pk, 14);
	bad |= kstr(pk, "name", c->name) | key(pk, "type") | msgpack_pack_object(pk, *c->type.wire);
	bad |= kbool(pk, "primary_key", c->primary_key) | kbool(pk, "nullable", c->nullable);
	bad |= key(pk, "autoincrement");
	bad |= c->autoincrement < 0 ? ath_wire__pack_cstr(pk, "auto")
				    : c->autoincrement ? msgpack_pack_true(pk) : msgpack_pack_false(pk);
	bad |= kexpr(pk, "default", &c->default_) | kexpr(pk, "server_default", &c->server_default) |
	       kexpr(pk, "onupdate", &c->onupdate);
	bad |= key(pk, "identity") | (c->identity ? seq(pk, &c->identity->opts, c->identity) : msgpack_pack_nil(pk));
	bad |= key(pk, "sequence") | (c->sequence ? seq(pk, c->sequence, NULL) : msgpack_pack_nil(pk));
	bad |= key(pk, "computed");
	if (c->computed)
		bad |= msgpack_pack_map(pk, 2) | kexpr(pk, "sql", &c->computed->sql) |
		       ktri(pk, "persisted", c->computed->persisted);
	else
		bad |= msgpack_pack_nil(pk);
	bad |= kbool(pk, "unique", false) | kbool(pk, "index", false); /* listed as constraints / indexes */
	return bad | kstr(pk, "comment", c->comment);
}

static int constraint(pk_t *pk, const ath_constraint *c)
{
	static const char *const kinds[] = { "primary_key", "foreign_key", "unique", "check" };
	static const uint32_t sizes[] = { 3, 12, 5, 3 };
	int bad = msgpack_pack_map(pk, sizes[c->kind]) | kstr(pk, "k", kinds[c->kind]) | kstr(pk, "name", c->name);
	if (c->kind == ATH_CK_CHECK)
		return bad | kexpr(pk, "sql", &c->sql);
	bad |= names(pk, "columns", c->columns, c->ncolumns);
	if (c->kind == ATH_CK_PRIMARY_KEY)
		return bad;
	if (c->kind == ATH_CK_FOREIGN_KEY) {
		bad |= kstr(pk, "ref_table", c->ref_table_name) | kstr(pk, "ref_schema", c->ref_schema);
		bad |= names(pk, "ref_columns", c->ref_columns, c->ncolumns);
		bad |= kstr(pk, "ondelete", c->ondelete) | kstr(pk, "onupdate", c->onupdate) | kstr(pk, "match", c->match);
		bad |= kbool(pk, "use_alter", c->use_alter);
	}
	return bad | ktri(pk, "deferrable", c->deferrable) | kstr(pk, "initially", c->initially);
}

static int pack_index(pk_t *pk, const ath_index *ix)
{
	int bad = msgpack_pack_map(pk, 4) | kstr(pk, "name", ix->name) | key(pk, "columns") | msgpack_pack_array(pk, ix->nitems);
	for (uint32_t i = 0; i < ix->nitems; i++)
		bad |= ix->item_columns[i] ? ath_wire__pack_cstr(pk, ix->item_columns[i]->name)
					   : msgpack_pack_object(pk, *ix->items[i].wire);
	return bad | kbool(pk, "unique", ix->unique) | kexpr(pk, "where", &ix->where);
}

static int table(pk_t *pk, const ath_table *t)
{
	int bad = msgpack_pack_map(pk, 6) | kstr(pk, "name", t->name) | kstr(pk, "schema", t->schema) |
		  kstr(pk, "comment", t->comment);
	bad |= key(pk, "columns") | msgpack_pack_array(pk, t->ncolumns);
	for (uint32_t i = 0; i < t->ncolumns; i++)
		bad |= column(pk, &t->columns[i]);
	/* the key as a constraint when the column flags cannot say it: named, or not in column order */
	int pk_listed = t->pk->name != NULL;
	for (uint32_t i = 1; i < t->pk->ncolumns; i++)
		pk_listed |= t->pk->columns[i]->pos < t->pk->columns[i - 1]->pos;
	uint32_t n = (uint32_t)pk_listed;
	for (uint32_t i = 0; i < t->nconstraints; i++)
		n += !t->constraints[i]->check_column; /* a type's CHECK comes back with the type */
	bad |= key(pk, "constraints") | msgpack_pack_array(pk, n);
	if (pk_listed)
		bad |= constraint(pk, t->pk);
	for (uint32_t i = 0; i < t->nconstraints; i++)
		if (!t->constraints[i]->check_column)
			bad |= constraint(pk, t->constraints[i]);
	bad |= key(pk, "indexes") | msgpack_pack_array(pk, t->nindexes);
	for (uint32_t i = 0; i < t->nindexes; i++)
		bad |= pack_index(pk, t->indexes[i]);
	return bad;
}

int ath_metadata__pack_spec(ath_buf *out, const ath_metadata *md, ath_err *err)
{
	msgpack_packer pk;
	ath_wire__packer_init(&pk, out);
	int bad = msgpack_pack_map(&pk, 3) | kstr(&pk, "k", "metadata");
	bad |= key(&pk, "naming_convention") | msgpack_pack_map(&pk, 0);
	bad |= key(&pk, "tables") | msgpack_pack_array(&pk, md->ntables);
	for (uint32_t i = 0; i < md->ntables && !bad; i++)
		bad |= table(&pk, &md->tables[i]);
	if (bad) {
		out->size = 0;
		return ath_err__oom(err);
	}
	return 0;
}
