/**
 * @file athanor/orm.h
 * @brief The ORM: a registry of mapped classes, sessions (identity map, unit of work) and
 * mapped objects, following SQLAlchemy 2.0's Session semantics. docs/orm.md is the guide.
 *
 * - A registry is built once from a mapping spec (msgpack, docs/orm.md "Mapping spec"): classes
 *   mapped to the tables of the spec's metadata, column attributes and relationships. It is
 *   validated when built (SQLAlchemy's configure step) and then immutable: share it between
 *   threads and sessions.
 * - A session works on one engine. It begins a transaction on first use (autobegin), flushes
 *   pending changes before it queries (autoflush), and commit() flushes, commits and expires
 *   every object (expire_on_commit).
 * - An object (ath_obj) is an instance of a mapped class: attribute values with their committed
 *   state, and a status (transient, pending, persistent, deleted, detached). Attributes are
 *   addressed by name or by index (ath_registry_attr()); values cross as msgpack.
 *
 * Object lifetime: every ath_obj pointer the library hands out is a reference the caller owns
 * and releases with ath_obj_free(). The session holds new, changed and deleted objects itself;
 * clean persistent objects are held weakly (SQLAlchemy's weak identity map): once neither the
 * caller nor a loaded relationship of another live object refers to one, it is released.
 * Objects that only refer to each other in a cycle of loaded relationships are released when
 * their attributes are expired (commit), when the session is closed, or when the last outside
 * reference of a detached object goes.
 *
 * Thread-safety: a registry is shared by any number of threads; a session and its objects are
 * used by one thread at a time (as an ath_conn).
 */
#ifndef ATHANOR_ORM_H
#define ATHANOR_ORM_H

#include "common.h"
#include "types.h"

ATH_BEGIN_DECL

typedef struct ath_registry ath_registry; /**< mapped classes, immutable and shared by reference */
typedef struct ath_session ath_session;   /**< identity map, unit of work and transaction on an engine */
typedef struct ath_obj ath_obj;           /**< an instance of a mapped class */

/* ---- Registry --------------------------------------------------------------------------------- */

/**
 * Build and configure a registry from a mapping spec:
 * `{"k": "registry", "metadata": {schema spec}, "classes": [{"name", "table", "properties",
 * "relationships", "version_id", "eager_defaults"}]}` (docs/orm.md).
 * @param[out] out owned; release with ath_registry_free().
 * @param spec msgpack bytes, borrowed for the call.
 * @return ATH_OK; ATH_EINVALID with WireFormatError naming the path of a malformed part, or
 *         ArgumentError / InvalidRequestError naming the class and attribute (unknown table or
 *         column, a table without a primary key, no or ambiguous foreign-key path for a
 *         relationship, back_populates naming a missing or mismatched relationship); ATH_ENOMEM.
 */
ATH_EXTERN(int) ath_registry_create(ath_registry **out, const void *spec, size_t spec_len);

/** Release the caller's reference; sessions and objects keep theirs. NULL is fine. */
ATH_EXTERN(void) ath_registry_free(ath_registry *reg);

/**
 * The registry's metadata. Create the engine with it (ath_engine_options.metadata) so that
 * statements are typed by its columns.
 * @return borrowed; valid while `reg` lives; NULL for a bad handle.
 */
ATH_EXTERN(const ath_metadata *) ath_registry_metadata(const ath_registry *reg);

/** Index of the mapped class `name`. @return >= 0; ATH_ENOTFOUND; ATH_EMISUSE for a bad handle. */
ATH_EXTERN(int) ath_registry_class(const ath_registry *reg, const char *name);

/**
 * Index of attribute `name` of class `cls`: column attributes first (in table column order),
 * then relationships, so an index is stable for the registry's life. For ath_obj_get_i() /
 * ath_obj_set_i().
 * @return >= 0; ATH_ENOTFOUND; ATH_EMISUSE for a bad handle or class index.
 */
ATH_EXTERN(int) ath_registry_attr(const ath_registry *reg, int cls, const char *name);

/* ---- Sessions --------------------------------------------------------------------------------- */

#define ATH_SESSION_NO_AUTOFLUSH 0x1u        /**< do not flush before queries (autoflush=False) */
#define ATH_SESSION_NO_EXPIRE_ON_COMMIT 0x2u /**< keep attribute values after commit (expire_on_commit=False) */

typedef struct ath_session_options {
	unsigned int version; /* always first */
	uint32_t flags;       /**< ATH_SESSION_* bits */
} ath_session_options;

#define ATH_SESSION_OPTIONS_VERSION 1
#define ATH_SESSION_OPTIONS_INIT { ATH_SESSION_OPTIONS_VERSION, 0 }
ATH_EXTERN(int) ath_session_options_init(ath_session_options *opts, unsigned int version);

/**
 * A session on `engine` for the classes of `reg` (both held by reference).
 * @param[out] out owned; release with ath_session_close().
 * @param opts NULL = defaults.
 */
ATH_EXTERN(int) ath_session_create(ath_session **out, ath_engine *engine, ath_registry *reg,
				   const ath_session_options *opts);

/**
 * Send the statements about class `cls` and its subclasses to `engine` (held by reference)
 * instead of the session's engine (Session(binds={User: engine})): their flushes, queries whose
 * first entity is of the class, and their lazy loads. commit() commits each engine's connection
 * in turn (no two-phase commit); savepoints cover the session's own engine only.
 * @return ATH_OK; ATH_EMISUSE with InvalidRequestError while a transaction is in progress;
 *         ATH_EINVALID for an unknown class or more than 8 binds.
 */
ATH_EXTERN(int) ath_session_bind(ath_session *s, const char *cls, ath_engine *engine);

/**
 * Close the session: roll back its transaction, return its connection, detach every object
 * (objects the caller still holds stay usable as detached objects) and release the handle.
 * NULL is fine.
 */
ATH_EXTERN(void) ath_session_close(ath_session *s);

/**
 * Add a transient object (it becomes pending) or re-attach a detached one (persistent again),
 * with the save-update cascade along its relationships (Session.add).
 * @return ATH_OK; ATH_EMISUSE with InvalidRequestError when the object belongs to another
 *         session or another object with its identity is already in this one.
 */
ATH_EXTERN(int) ath_session_add(ath_session *s, ath_obj *obj);

/**
 * ath_session_add() of each of objs[0..n) in order (Session.add_all). Every handle is checked
 * before any is added; an error (an object of another session) stops at that object, and those
 * before it stay added, as in SQLAlchemy.
 * @return ATH_OK; ATH_EMISUSE for a NULL or closed handle (nothing added); as ath_session_add().
 */
ATH_EXTERN(int) ath_session_add_all(ath_session *s, ath_obj *const *objs, size_t n);

/**
 * Mark a persistent object for deletion at the next flush, with the delete cascade (Session.delete).
 * A pending object is expunged instead.
 * @return ATH_OK; ATH_EMISUSE with InvalidRequestError for an object not in this session.
 */
ATH_EXTERN(int) ath_session_delete(ath_session *s, ath_obj *obj);

/**
 * The object of class `cls` with primary key `pk` (a msgpack array in primary-key column order,
 * or a single value for a one-column key): from the identity map when present, else one SELECT
 * (Session.get).
 * @param[out] out a new reference, or NULL when no such row exists.
 * @return ATH_OK (also when not found); ATH_EINVALID (ArgumentError: unknown class, wrong key
 *         length); the database's error class.
 */
ATH_EXTERN(int) ath_session_get(ath_obj **out, ath_session *s, const char *cls, const void *pk, size_t pk_len);

/**
 * Write every pending change (INSERTs, UPDATEs of changed columns, DELETEs) in dependency
 * order inside the session's transaction (Session.flush). On failure the transaction is rolled
 * back and the session refuses other work with PendingRollbackError until ath_session_rollback().
 * @return ATH_OK; the database's error class; StaleDataError when an UPDATE or DELETE matched
 *         fewer rows than expected (version_id conflict, row deleted elsewhere); FlushError for
 *         a dependency cycle without post_update, or a null primary key after INSERT.
 */
ATH_EXTERN(int) ath_session_flush(ath_session *s);

/** Flush, commit the transaction, expire every object unless ATH_SESSION_NO_EXPIRE_ON_COMMIT (Session.commit). */
ATH_EXTERN(int) ath_session_commit(ath_session *s);

/**
 * Roll back the transaction (Session.rollback): objects added since it began are expunged
 * (transient again, with their attribute values), objects deleted in it are persistent again,
 * and every persistent object is expired.
 */
ATH_EXTERN(int) ath_session_rollback(ath_session *s);

/**
 * Expire attributes of a persistent object (all when `attrs` is NULL): they load again on
 * next access (Session.expire). @param attrs borrowed for the call.
 */
ATH_EXTERN(int) ath_session_expire(ath_session *s, ath_obj *obj, const char *const *attrs, size_t nattrs);

/** Expire every object of the session (Session.expire_all). */
ATH_EXTERN(int) ath_session_expire_all(ath_session *s);

/**
 * Load attributes of a persistent object again now (all column attributes when `attrs` is
 * NULL), discarding unflushed changes to them (Session.refresh).
 * @return ATH_OK; ATH_ERROR with ObjectDeletedError when its row is gone.
 */
ATH_EXTERN(int) ath_session_refresh(ath_session *s, ath_obj *obj, const char *const *attrs, size_t nattrs);

/**
 * Begin a SAVEPOINT inside the session's transaction (Session.begin_nested), after flushing what
 * is pending. End it with ath_session_commit_nested() or ath_session_rollback_nested();
 * ath_session_commit() / ath_session_rollback() end every savepoint with the transaction.
 * @return ATH_OK; ATH_EMISUSE with InvalidRequestError past 16 levels; the flush's errors.
 */
ATH_EXTERN(int) ath_session_begin_nested(ath_session *s);

/** Flush, then RELEASE the innermost savepoint: its changes belong to the enclosing transaction. */
ATH_EXTERN(int) ath_session_commit_nested(ath_session *s);

/**
 * ROLLBACK TO the innermost savepoint: objects inserted since it began are transient again,
 * objects deleted since are persistent, pending ones are expunged, every persistent object is
 * expired. Also the way out of PendingRollbackError when a flush failed inside the savepoint.
 */
ATH_EXTERN(int) ath_session_rollback_nested(ath_session *s);

/**
 * Turn autoflush off (0) or on (1) until turned back (Session.no_autoflush as a scope: save
 * the return value and restore it). @return the previous setting (0 or 1); ATH_EMISUSE for a bad handle.
 */
ATH_EXTERN(int) ath_session_set_autoflush(ath_session *s, int enabled);

/** ath_session_merge() flag: take the object's state on trust, no SELECT (merge(load=False)). */
#define ATH_MERGE_NO_LOAD 0x1u

/**
 * Copy the state of `obj` (from another session, detached or transient) onto this session's
 * object of the same identity (Session.merge): the one in the identity map, else the row loaded
 * by primary key, else a new pending object; relationships with the merge cascade are merged
 * along. `obj` itself is not attached.
 * @param[out] out a new reference to the session's object.
 * @return ATH_OK; ATH_EMISUSE with InvalidRequestError for ATH_MERGE_NO_LOAD with a transient or
 *         changed object; the database's error class.
 */
ATH_EXTERN(int) ath_session_merge(ath_obj **out, ath_session *s, ath_obj *obj, uint32_t flags);

/** Detach one object (and, along expunge cascades, its related ones) without changing the database. */
ATH_EXTERN(int) ath_session_expunge(ath_session *s, ath_obj *obj);

/** Detach every object of the session (Session.expunge_all). */
ATH_EXTERN(int) ath_session_expunge_all(ath_session *s);

/* ath_session_execute() flags: how the rows are returned (SQLAlchemy's Result methods). */
#define ATH_ROWS_SCALARS 0x1u     /**< each row's first column alone (Result.scalars()) */
#define ATH_ROWS_ONE 0x2u         /**< exactly one row, else NoResultFound / MultipleResultsFound */
#define ATH_ROWS_ONE_OR_NONE 0x4u /**< zero or one row, else MultipleResultsFound */
#define ATH_ROWS_FIRST 0x8u       /**< the first row or none; the rest are discarded */

/**
 * Execute an ORM statement (docs/orm.md "Statements"): a select whose columns may hold
 * `["entity", cls]` (every mapped column of cls, loaded as objects) and `["attr", cls, name]`,
 * joins along relationships (`["rel", cls, name]` as a join's right side), relationship
 * comparisons, loader options; an INSERT / UPDATE / DELETE whose table is `["entity", cls]`
 * (with attribute names; bulk by rows of attribute maps in `params` when it has no values / no
 * set; "synchronize_session"); or any Core statement. Pending changes are flushed first (autoflush). Entities come back as object
 * references (msgpack ext 1: the object's id, see ath_obj_id()); resolve them with
 * ath_session_object(). Relationships with lazy="selectin" are loaded for every object of the
 * result before it returns.
 * @param[out] out replaced with a msgpack array of rows (or of scalars with ATH_ROWS_SCALARS).
 * @param flags ATH_ROWS_* bits.
 * @return ATH_OK; as ath_conn_execute(); NoResultFound / MultipleResultsFound (ATH_ENOTFOUND /
 *         ATH_ERROR) for ATH_ROWS_ONE / ATH_ROWS_ONE_OR_NONE.
 */
ATH_EXTERN(int) ath_session_execute(ath_buf *out, ath_session *s, const void *shape, size_t shape_len,
				    const void *params, size_t params_len, uint32_t flags);

/**
 * Rows the latest statement of ath_session_execute() changed: an UPDATE / DELETE's matched rows,
 * an INSERT's rows (a bulk statement's summed); -1 when unknown or for a select.
 */
ATH_EXTERN(int64_t) ath_session_rowcount(const ath_session *s);

/**
 * The object behind an object reference of this session's results or attribute values.
 * References of the latest ath_session_execute() stay resolvable until the next one even when
 * nothing else holds their objects.
 * @param[out] out a new reference.
 * @return ATH_OK; ATH_ENOTFOUND when no live object of this session has that id.
 */
ATH_EXTERN(int) ath_session_object(ath_obj **out, ath_session *s, uint64_t id);

/**
 * Let go of the latest ath_session_execute()'s object references now rather than at the next
 * statement: a host that has resolved (or dropped) them lets the session release objects nothing
 * else holds. Their ids may not resolve afterwards.
 */
ATH_EXTERN(void) ath_session_release_results(ath_session *s);

/** Number of objects in the session (pending, persistent and deleted), for tests and statistics. */
ATH_EXTERN(size_t) ath_session_count(const ath_session *s);

/* ---- Objects ---------------------------------------------------------------------------------- */

/** What an object is to its session (SQLAlchemy's object states). Values are ABI. */
typedef enum ath_obj_status {
	ATH_OBJ_TRANSIENT = 0,  /**< in no session, never persisted */
	ATH_OBJ_PENDING = 1,    /**< added, not flushed yet */
	ATH_OBJ_PERSISTENT = 2, /**< in a session, with a database identity */
	ATH_OBJ_DELETED = 3,    /**< deleted in a flush whose transaction is not committed yet */
	ATH_OBJ_DETACHED = 4    /**< has a database identity, in no session */
} ath_obj_status;

/**
 * A new transient instance of class `cls` with no attribute set.
 * @param[out] out owned; release with ath_obj_free().
 * @return ATH_OK; ATH_EINVALID (ArgumentError) for an unknown class.
 */
ATH_EXTERN(int) ath_obj_create(ath_obj **out, ath_registry *reg, const char *cls);

/** Release the caller's reference (the session keeps what it needs). NULL is fine. */
ATH_EXTERN(void) ath_obj_free(ath_obj *obj);

/** Another reference to the same object, released with ath_obj_free(). @return obj. */
ATH_EXTERN(ath_obj *) ath_obj_ref(ath_obj *obj);

/** The object's id: unique in the process, stable for its life; the payload of its ext 1 references. 0 for a bad handle. */
ATH_EXTERN(uint64_t) ath_obj_id(const ath_obj *obj);

/** Class name. @return borrowed, valid while obj lives; NULL for a bad handle. */
ATH_EXTERN(const char *) ath_obj_class(const ath_obj *obj);

/** Status; ATH_EMISUSE for a bad handle. */
ATH_EXTERN(int) ath_obj_status_of(const ath_obj *obj);

/**
 * Set an attribute: a column attribute to a msgpack value, or a relationship to an object
 * reference (many-to-one; nil clears it) or an array of references (a whole collection),
 * references resolved in the object's session.
 * @return ATH_OK; ATH_EINVALID (ArgumentError: unknown attribute, malformed value, primary key
 *         of a persistent object); ATH_EMISUSE for a deleted object.
 */
ATH_EXTERN(int) ath_obj_set(ath_obj *obj, const char *attr, const void *value, size_t len);
/** ath_obj_set() by attribute index (ath_registry_attr()). */
ATH_EXTERN(int) ath_obj_set_i(ath_obj *obj, int attr, const void *value, size_t len);

/**
 * Get an attribute as msgpack: a column value, or for a relationship an object reference / nil
 * (many-to-one) or an array of references (collection). An expired or unloaded attribute is
 * loaded first (lazy loading, autoflush first).
 * @param[out] out replaced; dispose with ath_buf_dispose().
 * @return ATH_OK; ATH_EINVALID for an unknown attribute; ATH_ERROR with DetachedInstanceError
 *         when it must load and the object is in no session, ObjectDeletedError when its row is
 *         gone, InvalidRequestError for lazy="raise".
 */
ATH_EXTERN(int) ath_obj_get(ath_buf *out, ath_obj *obj, const char *attr);
/** ath_obj_get() by attribute index. */
ATH_EXTERN(int) ath_obj_get_i(ath_buf *out, ath_obj *obj, int attr);

/**
 * Every loaded column attribute as a msgpack map {name: value} (expired ones are loaded first
 * for a persistent object; unset ones of a transient object are left out).
 */
ATH_EXTERN(int) ath_obj_state(ath_buf *out, ath_obj *obj);

/**
 * Related objects of a relationship (loading it when needed): `*count_out` of them; item `i`
 * through ath_obj_related().
 */
ATH_EXTERN(int) ath_obj_related_count(size_t *count_out, ath_obj *obj, const char *rel);
/** Item `i` of a relationship (0 for a many-to-one). @param[out] out a new reference; ATH_ENOTFOUND past the end or for an empty many-to-one. */
ATH_EXTERN(int) ath_obj_related(ath_obj **out, ath_obj *obj, const char *rel, size_t i);

/**
 * Link `target` to `obj` along relationship `rel`: many-to-one: set it (NULL clears);
 * collection: append (no-op when present). The back_populates side follows in memory, and a
 * transient target joins obj's session (save-update cascade).
 */
ATH_EXTERN(int) ath_obj_link(ath_obj *obj, const char *rel, ath_obj *target);
/** Remove `target` from a collection (or clear a many-to-one that holds it); its back side follows. */
ATH_EXTERN(int) ath_obj_unlink(ath_obj *obj, const char *rel, ath_obj *target);

/**
 * Attribute history (SQLAlchemy's inspect(obj).attrs.x.history) as a msgpack map
 * {"added": [...], "unchanged": [...], "deleted": [...]}: values for a column attribute, object
 * references for a relationship. Never loads.
 */
ATH_EXTERN(int) ath_obj_history(ath_buf *out, ath_obj *obj, const char *attr);

/** 1 when the object has unflushed attribute changes, else 0 (Session.is_modified). */
ATH_EXTERN(int) ath_obj_is_modified(const ath_obj *obj);

ATH_END_DECL

#endif
