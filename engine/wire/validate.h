/* validate.h — bounded validation of msgpack bytes before anything decodes them.
 *
 * msgpack-c's unpacker trusts declared lengths: a 7-byte input declaring a 2^32-entry map makes
 * it try to allocate tens of GiB. Every msgpack input of the C API passes ath_wire__validate()
 * first: it walks the bytes iteratively (no recursion), checks each declared count against the
 * bytes that remain (an array of n needs >= n bytes, a map of n >= 2n, a str/bin/ext of n exactly
 * n), and enforces depth, size and item limits. After it succeeds, decoding allocates at most a
 * small constant times the input size. */
#ifndef ATH_WIRE_VALIDATE_H
#define ATH_WIRE_VALIDATE_H

#include <stddef.h>
#include <stdint.h>

#include "util/err.h"

/* msgpack-c's C unpacker fails past 32 levels (MSGPACK_EMBED_STACK_SIZE, fixed when the library
 * was built), so no limit may exceed it. */
#define ATH_WIRE_MAX_DEPTH_CAP 32

typedef struct ath_wire_limits {
	uint32_t max_depth;   /* containers nested deeper than this fail; 1..ATH_WIRE_MAX_DEPTH_CAP */
	size_t max_bytes;     /* inputs longer than this fail */
	uint32_t max_items;   /* an array or map declaring more elements than this fails */
} ath_wire_limits;

#define ATH_WIRE_DEFAULT_MAX_DEPTH 32
#define ATH_WIRE_DEFAULT_MAX_BYTES ((size_t)64 << 20)
#define ATH_WIRE_DEFAULT_MAX_ITEMS (1u << 20)

/* Defaults, with every zero field of `in` (may be NULL) replaced and max_depth clamped to the cap. */
ath_wire_limits ath_wire__limits(const ath_wire_limits *in);

/* Check that data[0..len) holds exactly one complete msgpack object within the limits (`lim`
 * NULL = defaults). A top-level container is at depth 1 and empty containers count, as in
 * msgpack-c; max_items counts map entries (pairs).
 * `what` names the input in messages ("shape", "params").
 * Returns 0, or ATH_EINVALID with a WireFormatError whose message gives `what`, the byte offset
 * and the reason, e.g. "params: byte 3: array declares 4294967295 elements but 4 bytes remain". */
int ath_wire__validate(const void *data, size_t len, const ath_wire_limits *lim, const char *what,
		       ath_err *err);

#endif
