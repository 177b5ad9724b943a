/* decode_int.h — what the decoder's files share (decode.c, decode_expr.c, decode_from.c,
 * decode_stmt.c): the decoding state with the path of the node being decoded, the error and
 * string helpers, and each part's entry point. Internal to engine/wire; not for the compiler. */
#ifndef ATH_WIRE_DECODE_INT_H
#define ATH_WIRE_DECODE_INT_H

#include "decode.h"

#include <stdbool.h>
#include <stdint.h>
#include <string.h>

#define PATH_MAX_DEPTH 128

typedef struct dec {
	ath_arena *arena;
	ath_err *err;
	int depth;
	struct {
		const char *key; /* NULL: an index */
		uint32_t keylen;
		uint32_t idx;
	} path[PATH_MAX_DEPTH];
} dec;

typedef const msgpack_object mobj;

/* A WireFormatError "$.path: message" for the node being decoded; returns ATH_EINVALID. */
__attribute__((format(printf, 2, 3))) int ath_wire__fail(dec *d, const char *fmt, ...);
#define fail(d, ...) ath_wire__fail(d, __VA_ARGS__)

static inline void path_key(dec *d, const char *key, uint32_t len)
{
	if (d->depth < PATH_MAX_DEPTH) {
		d->path[d->depth].key = key;
		d->path[d->depth].keylen = len;
	}
	d->depth++;
}

static inline void path_idx(dec *d, uint32_t i)
{
	if (d->depth < PATH_MAX_DEPTH) {
		d->path[d->depth].key = NULL;
		d->path[d->depth].idx = i;
	}
	d->depth++;
}

static inline void path_pop(dec *d) { d->depth--; }
static inline int oom(dec *d) { return ath_err__oom(d->err); }

static inline const char *type_name(mobj *o)
{
	switch (o->type) {
	case MSGPACK_OBJECT_NIL: return "nil";
	case MSGPACK_OBJECT_BOOLEAN: return "bool";
	case MSGPACK_OBJECT_POSITIVE_INTEGER:
	case MSGPACK_OBJECT_NEGATIVE_INTEGER: return "int";
	case MSGPACK_OBJECT_FLOAT32:
	case MSGPACK_OBJECT_FLOAT64: return "float";
	case MSGPACK_OBJECT_STR: return "str";
	case MSGPACK_OBJECT_BIN: return "bin";
	case MSGPACK_OBJECT_ARRAY: return "array";
	case MSGPACK_OBJECT_MAP: return "map";
	case MSGPACK_OBJECT_EXT: return "ext";
	}
	return "?";
}

static inline int str_eq(mobj *o, const char *s)
{
	size_t n = strlen(s);
	return o->type == MSGPACK_OBJECT_STR && o->via.str.size == n && memcmp(o->via.str.ptr, s, n) == 0;
}

/* A string operand as a NUL-terminated arena copy; NUL bytes inside are rejected. */
int ath_wire__get_str(dec *d, mobj *o, const char *what, const char **out);
int ath_wire__get_index(dec *d, mobj *o, uint32_t *out);
ath_node *ath_wire__new_node(dec *d, ath_node_kind kind, uint32_t nkids);
/* Decode o->via.array.ptr[at] as an expression, with the index on the path. */
int ath_wire__expr_at(dec *d, mobj *arr, uint32_t at, ath_node **out);
/* An array of expressions (or FROM items) into a list. */
int ath_wire__list(dec *d, mobj *o, ath_list *out, int (*each)(dec *, mobj *, ath_node **));

/* decode_expr.c: an expression; a text fragment or the text statement's sql + binds */
int ath_wire__expr(dec *d, mobj *o, ath_node **out);
int ath_wire__text(dec *d, mobj *sql, mobj *binds, int as_array, ath_text **out);
/* decode_from.c: a FROM item */
int ath_wire__from(dec *d, mobj *o, ath_node **out);
/* decode_stmt.c: a statement map; an array of names */
int ath_wire__stmt(dec *d, mobj *o, ath_node **out);
int ath_wire__names(dec *d, mobj *v, const char ***names, uint32_t *count, const char *what);

#endif
