/* params.h — statement parameters: a msgpack array whose element i is the value of ["bind", i]. */
#ifndef ATH_WIRE_PARAMS_H
#define ATH_WIRE_PARAMS_H

#include <msgpack.h>

#include "util/err.h"
#include "wire/validate.h"

/* Validate and unpack `data` (NULL/0 = no parameters) into `zone`; *out points to the array
 * object (type ARRAY, possibly empty). With `rows` set, the array must hold arrays (executemany). */
int ath_wire__decode_params(msgpack_object *out, const void *data, size_t len, int rows,
			    const ath_wire_limits *lim, msgpack_zone *zone, ath_err *err);

/* Render a value as Python would repr it, for echo output and messages; at most `max` bytes. */
struct ath_strbuf;
void ath_wire__repr(struct ath_strbuf *b, const msgpack_object *o, size_t max);

#endif
