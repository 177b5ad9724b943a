/* orm.h — the structures behind ath_registry, ath_session and ath_obj, shared by the ORM's files:
 * registry.c (mapping spec -> mappers, configure), object.c (values, history, links, lifetime),
 * session.c (identity map, transactions, expiry), flush.c (unit of work), loading.c (rows ->
 * objects, lazy and selectin loads), query.c (ORM statements -> Core) and mp.c (msgpack slices
 * and shape building). Mirrors sqlalchemy/orm: mapper.py, state.py, identity.py, session.py,
 * unitofwork.py + persistence.py, strategies.py + loading.py, context.py. */
#ifndef ATH_ORM_H
#define ATH_ORM_H

#include <msgpack.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>
#include <string.h>

#include "athanor/athanor.h"
#include "conn/internal.h"
#include "schema/metadata.h"
#include "util/arena.h"
#include "util/err.h"

#define ATH_MAGIC_REGISTRY 0x41524547u
#define ATH_MAGIC_SESSION 0x41534553u
#define ATH_MAGIC_OBJ 0x414f424au

/* msgpack ext type of an object reference: the object's id, uint64 big-endian */
#define ATH_EXT_OBJREF 1

/* SelectInLoader's batch size */
#define ATH_SELECTIN_BATCH 500

/* ---- registry ------------------------------------------------------------------------------- */

typedef enum { ATH_REL_M2O, ATH_REL_O2M, ATH_REL_M2M } ath_rel_dir;
/* loader strategies; ATH_LAZY_CONTAINS only as a statement option (contains_eager) */
typedef enum {
	ATH_LAZY_SELECT, ATH_LAZY_SELECTIN, ATH_LAZY_RAISE, ATH_LAZY_NOLOAD, ATH_LAZY_JOINED, ATH_LAZY_CONTAINS,
	ATH_LAZY_WRITE_ONLY, /* never loaded: `items` holds the additions, `orig` the removals until the flush */
	ATH_LAZY_SUBQUERY    /* after a statement: one SELECT joining the statement, as a subquery, to the targets */
} ath_lazy;

/* cascade bits (sqlalchemy/orm/util.py CascadeOptions) */
#define ATH_CASCADE_SAVE_UPDATE 0x01u
#define ATH_CASCADE_MERGE 0x02u
#define ATH_CASCADE_DELETE 0x04u
#define ATH_CASCADE_DELETE_ORPHAN 0x08u
#define ATH_CASCADE_REFRESH_EXPIRE 0x10u
#define ATH_CASCADE_EXPUNGE 0x20u
#define ATH_CASCADE_ALL 0x37u /* "all": everything but delete-orphan */

typedef struct ath_mapper ath_mapper;

/* A column attribute: a column of the table, or (column_property) a read-only SQL expression,
 * those after the columns. */
typedef struct ath_prop {
	const char *name;
	const ath_column *col;         /* NULL for an expression */
	const ath_table *table;        /* the column's table (joined-table inheritance: the base's or a subclass's) */
	const msgpack_object *expr;    /* the spec's expression (ORM references allowed) */
	bool deferred;
} ath_prop;

typedef struct ath_rel {
	const char *name;
	uint32_t idx;                  /* among the owner's relationships */
	ath_mapper *owner, *target;
	uint8_t dir, lazy;
	bool uselist, passive_deletes, post_update, viewonly;
	uint32_t cascade;
	/* The join condition as column pairs. M2O: owner's foreign-key props -> target's referred
	 * props. O2M: owner's referred props -> target's foreign-key props. M2M: owner's props ->
	 * secondary's columns (sec_local), target's props -> secondary's columns (sec_remote). */
	uint32_t npairs;
	uint32_t *local, *remote;      /* prop indices of owner / target (M2O, O2M) */
	const ath_table *secondary;
	uint32_t nsec_local, nsec_remote;
	uint32_t *sec_local_prop, *sec_remote_prop; /* owner / target props */
	const ath_column **sec_local_col, **sec_remote_col;
	const msgpack_object *order_by; /* the spec's array of expressions (ORM references allowed), or NULL */
	const char *back_name;
	struct ath_rel *back;          /* the back_populates relationship, or NULL */
	const msgpack_object **extra;  /* a custom primaryjoin's terms besides the column pairs (on the target) */
	uint32_t nextra;
	bool m2o_by_pk;                /* M2O whose remote side is the target's whole primary key: the identity-map shortcut applies */
} ath_rel;

struct ath_mapper {
	const char *name;
	uint32_t idx;
	const ath_table *table;        /* the base table (joined-table inheritance: the hierarchy's root table) */
	/* joined-table inheritance: the tables from the root's to the class's own, each joined to the
	 * one before by its primary key (tpk[t][k]: table t's column for the k-th primary key prop,
	 * tfk[t]: table t's foreign key to table t - 1) */
	const ath_table **tables;
	const ath_column ***tpk;
	const ath_constraint **tfk;
	uint32_t ntables;
	ath_prop *props;               /* column attributes, in table column order */
	uint32_t nprops;
	uint32_t *pk;                  /* prop indices of the primary key, in key order */
	uint32_t npk;
	ath_rel *rels;
	uint32_t nrels;
	int32_t version_prop;          /* -1 = none */
	bool eager_defaults;
	uint32_t order;                /* position in the flush order (parents first) */
	bool self_ref;                 /* has a M2O/O2M to itself: rows are ordered within the mapper */
	/* single-table inheritance: the class it inherits (NULL for a base), the hierarchy's base
	 * (itself for a base), the discriminator prop (polymorphic_on, -1 = none; the base's) and
	 * this class's polymorphic_identity (packed msgpack; len 0 = none) */
	const ath_mapper *parent, *root;
	int32_t poly_prop;
	const unsigned char *identity;
	uint32_t identity_len;
	const msgpack_object *identity_obj;
	uint32_t ninherited;           /* relationships copied from the parent (first in rels) */
	/* Session.get's SELECT by primary key as Core, built when the registry is configured (NULL when
	 * get() needs the ORM statement path: inheritance, eager relationship loads) */
	unsigned char *get_shape;
	uint32_t get_shape_len;
};

/* Whether `m` is `base` or inherits from it. */
static inline bool ath_mapper__isa(const ath_mapper *m, const ath_mapper *base)
{
	for (; m; m = m->parent)
		if (m == base)
			return true;
	return false;
}

/* Whether loading `m` needs the discriminator criterion: a single-table subclass (sharing its
 * parent's tables) in a hierarchy with polymorphic_on. A joined-table subclass's join selects it. */
static inline bool ath_mapper__filtered(const ath_mapper *m)
{
	return m->parent && m->root->poly_prop >= 0 && m->ntables == m->parent->ntables;
}

/* The name table k of m is read as when its base table is read as `name`: the table itself
 * (unaliased), `name` for the base table, `<name>_<table>` for a joined-table subclass's own. */
void ath_mapper__table_as(char *buf, size_t cap, const ath_mapper *m, uint32_t k, const char *name);

struct ath_registry {
	uint32_t magic;
	atomic_int refs;
	ath_arena arena;
	msgpack_zone zone;             /* the unpacked spec (order_by expressions point into it) */
	unsigned char *spec_copy;
	ath_metadata *md;
	ath_mapper *mappers;
	uint32_t nmappers;
	ath_mapper **flush_order;      /* parents before children (M2O targets first) */
	/* the cycle collector (gc.c): objects only other objects refer to, checked in batches */
	pthread_mutex_t gc_lock;
	ath_obj *suspects;
	size_t nsuspects, gc_threshold;
	uint32_t gc_epoch;
	bool collecting;
};

void ath_registry__incref(ath_registry *r);
void ath_registry__decref(ath_registry *r);
int ath_registry__create(ath_registry **out, const void *spec, size_t len, ath_err *err);
const ath_mapper *ath_registry__mapper(const ath_registry *r, const char *name);
/* Attribute index: props first, then relationships; -1 when unknown. */
int ath_mapper__attr(const ath_mapper *m, const char *name);

/* ---- values --------------------------------------------------------------------------------- */

/* One msgpack-packed value; p == NULL means not loaded (expired, deferred, never set). A value of
 * up to ATH_VAL_INLINE bytes (most numbers, short strings) lives in the struct itself, with p
 * pointing at `inl`: an ath_val is never copied as a struct (ath_val__move()). A longer value
 * loaded with its object may live in the object's own block (`borrowed`: never freed alone). */
#define ATH_VAL_INLINE 22
typedef struct ath_val {
	unsigned char *p;
	uint32_t len;
	bool is_inline, borrowed;
	unsigned char inl[ATH_VAL_INLINE];
} ath_val;

int ath_val__set(ath_val *v, const void *p, size_t len);
void ath_val__clear(ath_val *v);
/* Move `from` into `to` (cleared first); `from` is left not loaded. */
void ath_val__move(ath_val *to, ath_val *from);
static inline bool ath_val__loaded(const ath_val *v) { return v->p != NULL; }
bool ath_val__eq(const ath_val *a, const ath_val *b);
bool ath_val__is_nil(const ath_val *v);

/* ---- objects -------------------------------------------------------------------------------- */

/* A relationship's value: the related objects (at most one for a many-to-one), each held by a
 * link reference; `orig` is the committed content, kept from the first change until the flush
 * (for history and the unit of work). */
typedef struct ath_relval {
	bool loaded, changed;
	bool raise;                    /* loaded by a statement with raiseload: access raises until loaded */
	ath_obj **items;
	uint32_t n, cap;
	ath_obj **orig;
	uint32_t norig;
} ath_relval;

struct ath_obj {
	uint32_t magic;
	const ath_mapper *m;
	ath_registry *reg;             /* held */
	ath_session *sess;             /* NULL: transient or detached */
	uint64_t id;
	int host_refs, link_refs;
	uint8_t status;                /* ath_obj_status */
	bool marked_deleted;           /* Session.delete() before the flush */
	uint16_t ins_level, del_level; /* the transaction level whose flush inserted / deleted it (1 = the
					* outer transaction, 2.. savepoints; 0 = none), for rollback */
	bool just_inserted;            /* flush scratch: inserted by the flush running now */
	bool has_key;
	bool dirty;                    /* some column attribute changed since load/flush */
	uint32_t mark;                 /* flush scratch */
	uint32_t gc_mark, gc_index;    /* collector scratch */
	bool suspect;                  /* on the registry's suspect list (gc_prev / gc_next) */
	bool own_committed;            /* `committed` is the object's own (else the shared row of none) */
	ath_obj *gc_prev, *gc_next;
	ath_val *cur, *committed;      /* per prop; committed is set only for changed props (and, until
					* a loaded value changes, read-only: ath_obj__clear_committed()) */
	uint8_t *modified;             /* per prop */
	ath_relval *rels;              /* per relationship */
	ath_val key;                   /* identity: a msgpack array of the primary key values */
	uint64_t key_hash;             /* of `key` in the identity map (ath_objset__key_hash) */
	unsigned char *spare;          /* room left in the object's block for loaded values */
	uint32_t spare_left;
	ath_obj *prev, *next;          /* the session's object list */
	uint32_t wave;                 /* flush scratch: self-referential insert level */
	void *scratch;                 /* query scratch: the joined-eager group of this parent */
};

int ath_obj__new(ath_obj **out, ath_registry *reg, const ath_mapper *m, ath_err *err);
/* ath_obj__new() with `spare` bytes more in the block, for values loaded with the object. */
int ath_obj__new_sized(ath_obj **out, ath_registry *reg, const ath_mapper *m, size_t spare, ath_err *err);
void ath_obj__incref(ath_obj *o);
/* Drop a host reference; releases the object when nothing needs it any more. */
void ath_obj__decref(ath_obj *o);
/* Release the object if nothing (host, links, session) needs it. */
void ath_obj__maybe_release(ath_obj *o);
/* Whether the session must hold the object strongly (new, changed or deleted). */
bool ath_obj__needs_session(const ath_obj *o);
/* Set a prop from a packed value, tracking history (loading=false) or as loaded state (true). */
int ath_obj__set_prop(ath_obj *o, uint32_t p, const void *val, size_t len, bool loading, ath_err *err);
/* Link / unlink targets (with the back side in memory); `loading` = from the database (no history). */
int ath_obj__rel_add(ath_obj *o, const ath_rel *r, ath_obj *t, bool loading, bool back, ath_err *err);
int ath_obj__rel_remove(ath_obj *o, const ath_rel *r, ath_obj *t, bool back, ath_err *err);
/* Replace a relationship's content as loaded from the database (no history). */
int ath_obj__rel_load(ath_obj *o, const ath_rel *r, ath_obj **items, uint32_t n, ath_err *err);
/* Forget a relationship's content (expire): it loads again on access. */
void ath_obj__rel_expire(ath_obj *o, const ath_rel *r);
/* Expire props (all when NULL) and relationships. */
void ath_obj__expire(ath_obj *o, const bool *props, bool rels);
/* Forget the committed value kept for prop p. */
void ath_obj__clear_committed(ath_obj *o, uint32_t p);
/* The flush wrote the object's changes: current values become committed state. */
void ath_obj__commit_state(ath_obj *o);
/* Compute and store the identity key from the primary key props. */
int ath_obj__make_key(ath_obj *o, ath_err *err);
/* Store an identity key (`hash`: ath_objset__key_hash() of it); -1 when out of memory. */
int ath_obj__set_key(ath_obj *o, const void *key, size_t len, uint64_t hash);
/* Pack an object reference (ext 1). */
int ath_obj__pack_ref(msgpack_packer *pk, const ath_obj *o);
/* Whether `o` is in `r`'s current content. */
bool ath_relval__has(const ath_relval *rv, const ath_obj *o);
/* Free the object now (its links dropped): for the release path and the collector. */
void ath_obj__destroy(ath_obj *o);

/* gc.c: objects that nothing but other objects' relationships holds may be garbage cycles
 * (a user and its addresses, back_populates both ways). They are suspects; a trial deletion over
 * the suspects and what they reach frees those not reachable from anything held (CPython's
 * cycle collector), in batches, and in full when the caller frees the registry or a session is
 * closed. */
void ath_gc__suspect(ath_obj *o);
void ath_gc__forget(ath_obj *o);
void ath_gc__collect(ath_registry *reg);

/* A growable array of objects (no references taken: callers that hold them count them). */
typedef struct ath_objvec {
	ath_obj **v;
	size_t n, cap;
} ath_objvec;

/* Append; -1 when out of memory. */
int ath_objvec__push(ath_objvec *a, ath_obj *o);

/* ---- session -------------------------------------------------------------------------------- */

/* open-addressing set of objects, keyed by id or by (mapper, identity key) */
typedef struct ath_objset {
	ath_obj **slots;
	uint32_t cap, n, tomb;
	bool by_key;
} ath_objset;

struct ath_session {
	uint32_t magic;
	ath_engine *engine;            /* held */
	ath_registry *reg;             /* held */
	uint32_t flags;
	ath_conn *conn;                /* checked out at first use, returned at commit/rollback/close */
	struct {                       /* per-class engines (Session binds): a class and its subclasses */
		const ath_mapper *m;
		ath_engine *engine;    /* held */
		ath_conn *conn;
	} binds[8];
	uint32_t nbinds;
	ath_obj *head, *tail;          /* every object in the session, in the order it joined (insert order) */
	size_t count;
	ath_objset by_id, identity;
	ath_obj **pins;                /* objects of the latest execute's rows (references) */
	size_t npins, pins_cap;
	bool need_rollback, flushing, autoflush_off;
	ath_txn *savepoints[16];       /* begin_nested() stack */
	uint32_t nested;
	ath_err failed;                /* the flush error PendingRollbackError reports */
	int64_t rowcount;              /* of the latest statement the session ran for the caller */
};

int ath_objset__put(ath_objset *s, ath_obj *o);
/* Identity map: put `o` unless an object of its key is there; returns `o`, that object, or NULL
 * when out of memory. */
ath_obj *ath_objset__put_key(ath_objset *s, ath_obj *o);
void ath_objset__del(ath_objset *s, ath_obj *o);
ath_obj *ath_objset__by_id(const ath_objset *s, uint64_t id);
ath_obj *ath_objset__by_key(const ath_objset *s, const ath_mapper *m, const void *key, size_t len);
uint64_t ath_objset__key_hash(const ath_mapper *m, const void *key, size_t len);
/* ath_objset__by_key() with the key's hash known */
ath_obj *ath_objset__by_key_h(const ath_objset *s, const ath_mapper *m, const void *key, size_t len, uint64_t hash);
/* The object whose primary key props have the values `vals` (one per key column), or NULL. */
ath_obj *ath_objset__lookup(const ath_objset *s, const ath_mapper *m, const ath_val *const *vals);
/* Room for `more` objects without growing on the way; -1 when out of memory (the set is unchanged). */
int ath_objset__reserve(ath_objset *s, size_t more);
/* Empty the set, keeping its table. */
void ath_objset__clear(ath_objset *s);
void ath_objset__free(ath_objset *s);

int ath_session__create(ath_session **out, ath_engine *e, ath_registry *reg, uint32_t flags, ath_err *err);
void ath_session__close(ath_session *s);
/* The connection for statements about `m` (its bind, a parent class's, else the session's engine;
 * NULL = the session's), checked out at first use; its transaction autobegins. */
int ath_session__conn(ath_session *s, const ath_mapper *m, ath_conn **out, ath_err *err);
int ath_session__bind(ath_session *s, const ath_mapper *m, ath_engine *e, ath_err *err);
/* PendingRollbackError when a flush failed and rollback() has not run yet. */
int ath_session__usable(ath_session *s, ath_err *err);
int ath_session__attach(ath_session *s, ath_obj *o, ath_err *err);
void ath_session__detach(ath_session *s, ath_obj *o);
/* Register a persistent object's identity (after load or INSERT). */
int ath_session__register(ath_session *s, ath_obj *o, ath_err *err);
int ath_session__add(ath_session *s, ath_obj *o, ath_err *err);
int ath_session__delete(ath_session *s, ath_obj *o, ath_err *err);
int ath_session__get(ath_obj **out, ath_session *s, const char *cls, const void *pk, size_t len, ath_err *err);
/* Build m->get_shape (in the registry's arena) when get() can do without the ORM statement path. */
int ath_session__prepare_get(ath_registry *reg, ath_mapper *m, ath_err *err);
int ath_session__flush(ath_session *s, ath_err *err);
int ath_session__autoflush(ath_session *s, ath_err *err);
int ath_session__commit(ath_session *s, ath_err *err);
int ath_session__rollback(ath_session *s, ath_err *err);
int ath_session__begin_nested(ath_session *s, ath_err *err);
int ath_session__end_nested(ath_session *s, bool commit, ath_err *err);
int ath_session__merge(ath_obj **out, ath_session *s, ath_obj *o, bool load, ath_err *err);
int ath_session__expunge(ath_session *s, ath_obj *o, ath_err *err);
void ath_session__expunge_all(ath_session *s);
void ath_session__expire_all(ath_session *s);
int ath_session__pin(ath_session *s, ath_obj *o);
void ath_session__unpin_all(ath_session *s);

/* flush.c */
int ath_flush__run(ath_session *s, ath_err *err);

/* ---- loading -------------------------------------------------------------------------------- */

/* Loader strategies a statement's options set for relationships (selectinload, joinedload,
 * lazyload, noload); the others keep their configured lazy=. */
#define ATH_MAX_LOADOPTS 32
typedef struct ath_loadopts {
	uint32_t n;
	const ath_rel *rel[ATH_MAX_LOADOPTS];
	uint8_t strat[ATH_MAX_LOADOPTS];
} ath_loadopts;

static inline uint8_t ath_load__strategy(const ath_loadopts *o, const ath_rel *r)
{
	for (uint32_t i = 0; o && i < o->n; i++)
		if (o->rel[i] == r)
			return o->strat[i];
	return r->lazy;
}

/* Run a Core shape on the session's connection; every row into `rows` (a packed batch). */
int ath_load__run(ath_session *s, const ath_mapper *m, const void *shape, size_t len, const void *params, size_t plen,
		  ath_buf *rows, ath_err *err);
/* The object for a row's mapped columns (the props `cols` selects in order, or without `cols`
 * every prop but the deferred ones), from the
 * identity map (unloaded props filled; all of them with populate_existing) or new. *out is a
 * borrowed pointer (the session holds it; pin or ref it to keep it). */
int ath_load__instance(ath_obj **out, ath_session *s, const ath_mapper *m, const bool *cols,
		       const unsigned char *const *vals, const uint32_t *lens, bool populate_existing, ath_err *err);
/* Load an object's unloaded column props (refresh when `force`); ObjectDeletedError when gone. */
int ath_load__props(ath_session *s, ath_obj *o, bool force, ath_err *err);
/* Lazy-load one relationship of `o`. */
int ath_load__rel(ath_session *s, ath_obj *o, const ath_rel *r, ath_err *err);
/* Selectin-load relationship `r` for every object of `objs` that has it unloaded. */
int ath_load__selectin(ath_session *s, ath_obj **objs, size_t n, const ath_rel *r, const ath_loadopts *opts,
		       ath_err *err);
/* The statement that loaded a set of objects, for subquery eager loads below them: a Core select's
 * entries besides "k" and "columns" (FROM, WHERE, ...; ORDER BY only with LIMIT / OFFSET), packed,
 * in which the objects' table is read as `from`, and the statement's params. */
typedef struct ath_subq {
	const unsigned char *rest;
	size_t len;
	uint32_t nkeys;                /* entries in `rest` */
	bool distinct, ordered;        /* `rest` has "distinct" / "order_by" */
	uint32_t depth;                /* subqueries nested in it: the next one is anon_<depth + 1> */
	char from[72];
	const void *params;
	size_t plen;
} ath_subq;

/* After a query: the selectin, subquery (and noload) relationships of the loaded objects,
 * recursively. Subquery loads join `in` (the statement that loaded objs, or NULL: then they run
 * as selectin loads). */
int ath_load__eager_in(ath_session *s, ath_obj **objs, size_t n, const ath_loadopts *opts, const ath_subq *in,
		       ath_err *err);
static inline int ath_load__eager(ath_session *s, ath_obj **objs, size_t n, const ath_loadopts *opts, ath_err *err)
{
	return ath_load__eager_in(s, objs, n, opts, NULL, err);
}
/* Ensure a relationship is loaded (lazy load if needed); errors for detached / raise. */
int ath_load__ensure_rel(ath_obj *o, const ath_rel *r, ath_err *err);
/* Ensure a prop is loaded. */
int ath_load__ensure_prop(ath_obj *o, uint32_t p, ath_err *err);

/* query.c */
/* A custom primaryjoin's terms besides its column pairs, the target read as `target_as`. */
int ath_query__pack_rel_extra(msgpack_packer *pk, const ath_rel *r, const char *target_as, const ath_registry *reg,
			      ath_err *err);
/* Pack an expression with its ORM references (["attr", cls, name], ...) as Core. */
int ath_query__pack_expr(msgpack_packer *pk, const msgpack_object *e, const ath_registry *reg, ath_err *err);
/* Prop i of m as a select item, its table seen as `from`: `["col", from, c]`, or a column_property's
 * expression (labelled with the attribute's name when `label`), its columns read from `from`. */
int ath_query__pack_prop(msgpack_packer *pk, const ath_registry *reg, const ath_mapper *m, uint32_t i, const char *from,
			 bool label, ath_err *err);
int ath_query__execute(ath_buf *out, ath_session *s, const void *shape, size_t len, const void *params, size_t plen,
		       uint32_t flags, ath_err *err);
/* ath_query__execute() for the session's own loads: `pin` false leaves the latest result's
 * references alone; *first (when given) receives a reference to the first row's first entity. */
int ath_query__run(ath_buf *out, ath_session *s, const void *shape, size_t len, const void *params, size_t plen,
		   uint32_t flags, bool pin, ath_obj **first, ath_err *err);

/* dml.c: ORM bulk INSERT / UPDATE by primary key from rows of attribute maps (the params), and
 * the identity map after an UPDATE / DELETE by criteria (`keys`: rows of matched primary keys). */
int ath_dml__bulk(ath_session *s, const ath_mapper *m, bool update, const void *params, size_t plen, ath_err *err);
int ath_dml__synchronize(ath_session *s, const ath_mapper *m, bool deleted, const uint32_t *set_props, uint32_t nset,
			 const ath_buf *keys, ath_err *err);

/* evaluate.c: synchronize_session="evaluate". The identity map's objects of m (and subclasses)
 * the WHERE matches (`sure`) or may match, their attributes not loaded (`unsure`), each held;
 * returns 1 when the WHERE cannot be evaluated in memory. apply() assigns the SET's values (or
 * expires what cannot be known), marks deleted objects, and releases both vectors' holds. */
int ath_eval__matches(ath_session *s, const ath_mapper *m, const msgpack_object *where, const msgpack_object *params,
		      ath_objvec *sure, ath_objvec *unsure, ath_err *err);
int ath_eval__apply(ath_session *s, bool deleted, const msgpack_object *set, const msgpack_object *params,
		    ath_objvec *sure, ath_objvec *unsure, ath_err *err);
void ath_eval__release(ath_objvec *v);

/* ---- msgpack helpers (mp.c) ----------------------------------------------------------------- */

/* End of the msgpack value starting at p (NULL when malformed or past end); no recursion. */
const unsigned char *ath_mp__skip(const unsigned char *p, const unsigned char *end);
/* Whether data[0..len) is exactly one scalar value (no array or map) in its smallest encoding, as
 * msgpack-c packs it: then it can be stored as it is. */
bool ath_mp__canonical_scalar(const unsigned char *data, size_t len);
/* When data[0..len) is exactly one integer: its smallest encoding (as msgpack-c packs it after
 * unpacking) into out, and that length; else 0. */
size_t ath_mp__canonical_int(const unsigned char *data, size_t len, unsigned char out[9]);
/* Read an array header; returns the position after it, NULL when not an array. */
const unsigned char *ath_mp__array(const unsigned char *p, const unsigned char *end, uint32_t *n);
int ath_mp__col(msgpack_packer *pk, const char *table, const char *col);
int ath_mp__bind(msgpack_packer *pk, uint32_t i);
int ath_mp__key(msgpack_packer *pk, const char *k);
/* ["table", name] or ["table", name, {"schema": s}] */
int ath_mp__table(msgpack_packer *pk, const ath_table *t);
/* The FROM item of a mapper: its table, or (joined-table inheritance) the inner join of its tables
 * on their primary keys, as SQLAlchemy selects a subclass: `employees JOIN engineers ON employees.id = engineers.id`. */
int ath_mp__mapper_from(msgpack_packer *pk, const ath_mapper *m);
/* The same read as `name` (the base table aliased `name`, each other table `<name>_<table>`). */
int ath_mp__mapper_from_as(msgpack_packer *pk, const ath_mapper *m, const char *name);
/* ["col", q, c]: prop i's column, m's base table read as `from` (ath_mapper__table_as). */
int ath_mp__prop_col(msgpack_packer *pk, const ath_mapper *m, uint32_t i, const char *from);
/* AND of col = bind for each (table.col[i], bind base+i); returns binds used. */
int ath_mp__where_eq(msgpack_packer *pk, const char *table, const ath_column *const *cols, uint32_t n, uint32_t base);
/* the discriminator criterion of a subclass: `from.type IN (identities of m and its subclasses)` */
int ath_mp__poly_criterion(msgpack_packer *pk, const ath_registry *reg, const ath_mapper *m, const char *from);
uint32_t ath_mapper__nloaded(const ath_mapper *m);

#endif
