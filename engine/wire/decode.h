/* decode.h — statement shapes (validated msgpack) into the AST. */
#ifndef ATH_WIRE_DECODE_H
#define ATH_WIRE_DECODE_H

#include "util/arena.h"
#include "util/err.h"
#include "wire/ast.h"
#include "wire/validate.h"

/* Validate `data` against `lim`, unpack it with msgpack-c into `zone`, and build the statement
 * tree in `arena`. The tree points into `zone` (literal values), so both must outlive it.
 * Returns 0, or ATH_EINVALID with a WireFormatError naming the path of the bad node
 * (`$.where[1]: unknown expression kind "fo"`). */
int ath_wire__decode_statement(ath_node **out, const void *data, size_t len, const ath_wire_limits *lim,
			       msgpack_zone *zone, ath_arena *arena, ath_err *err);

#endif
