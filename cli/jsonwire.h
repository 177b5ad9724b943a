/*
 * jsonwire.h — the JSON spelling of athanor's msgpack wire values (docs/wire-format.md "Values"),
 * for the athanor command and for tests that keep their corpora as JSON.
 *
 *   JSON                                  msgpack
 *   null, true/false                      nil, bool
 *   integer                               int (smallest encoding)
 *   real                                  float64 (float32 is read as float64)
 *   "text"                                str
 *   [ ... ], { ... }                      array, map (string keys, order kept)
 *   {"$ext": n, "v": "..."}               ext type n: v is the payload as text for the text
 *                                         types 2..5, base64 for 1, 6, 7 and unknown types,
 *                                         RFC 3339 UTC for -1 (msgpack timestamp)
 *   {"$bin": "base64"}                    bin
 *   {"$float": "nan" | "inf" | "-inf"}    non-finite float64
 *   {"$uint": "decimal"}                  uint64 above INT64_MAX (jansson's integers are
 *                                         int64, so the digits travel as a string)
 *
 * An object holding any of the keys "$ext", "$bin", "$float", "$uint" is a tagged value and
 * must have exactly the keys shown above; every other object is a plain map. For the same
 * reason a msgpack map using one of those keys cannot be spelled in JSON and is an error.
 *
 * Errors are written to `errbuf` as "<path>: <what>", the path in JSON-pointer-like notation
 * rooted at `$` (`$.where[1][2]`, `$["odd key"]`).
 */
#ifndef ATHANOR_CLI_JSONWIRE_H
#define ATHANOR_CLI_JSONWIRE_H

#include <stddef.h>
#include <stdio.h>

#include <jansson.h>

#include <athanor/common.h>

/* Containers nested deeper than this are refused in both directions. */
#define JSONWIRE_MAX_DEPTH 1024

/*
 * Append the msgpack encoding of `j` to `out`. `out` is used as a plain malloc'd buffer
 * owned by the caller (ptr, size, and reserved = capacity): start from ATH_BUF_INIT and release
 * it with jsonwire_buf_dispose(), never with ath_buf_dispose(). On failure `out->size` is
 * restored to its value on entry.
 * @return 0, or -1 with a message in errbuf.
 */
int jsonwire_to_msgpack(const json_t *j, ath_buf *out, char *errbuf, size_t errlen);

/* Release a buffer filled by jsonwire_to_msgpack() and reset it to ATH_BUF_INIT. NULL is fine. */
void jsonwire_buf_dispose(ath_buf *buf);

/*
 * Decode exactly one msgpack value (trailing bytes are an error) into a new JSON value.
 * Strings and map keys must be UTF-8, map keys must be strings and unique.
 * @return a new reference (json_decref() it), or NULL with a message in errbuf.
 */
json_t *jsonwire_from_msgpack(const void *data, size_t len, char *errbuf, size_t errlen);

/*
 * Write `j` as JSON text in Python's json.dumps layout (", " and ": " separators, UTF-8 kept
 * as is), with reals in the shortest form that reads back to the same double, which
 * json_dumps() does not do (it prints 0.1 as 0.10000000000000001).
 * @return a malloc'd NUL-terminated string (free() it), or NULL when out of memory or when
 *         `j` holds a non-finite real.
 */
char *jsonwire_dumps(const json_t *j);

/* The same, written to a stream. @return 0, or -1 on a write error or as jsonwire_dumps(). */
int jsonwire_dumpf(const json_t *j, FILE *f);

/* Shortest "%g"-style text of a finite double that reads back exactly; `buf` holds >= 32 bytes. */
void jsonwire_format_double(char *buf, size_t len, double d);

/*
 * Standard base64 (RFC 4648, with padding). The decoder accepts input with or without padding
 * and refuses other characters, misplaced padding and non-zero unused bits, so that every
 * accepted text is the canonical spelling of its bytes.
 * @return encode: malloc'd NUL-terminated text, NULL when out of memory;
 *         decode: 0 with a malloc'd buffer in *out (free() it; never NULL) and its length,
 *                 -1 for malformed input, -2 when out of memory.
 */
char *jsonwire_base64_encode(const unsigned char *data, size_t len);
int jsonwire_base64_decode(unsigned char **out, size_t *out_len, const char *text, size_t text_len);

#endif
