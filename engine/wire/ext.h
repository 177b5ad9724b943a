/* ext.h — the payloads of the wire format's extension types (docs/wire-format.md "Values") that
 * drivers must take apart to bind them: the msgpack timestamp (ext -1) and the interval (ext 6),
 * and the UTC text form SQLAlchemy's dialects store instants in. One place for the byte layouts,
 * so the drivers cannot disagree on them. */
#ifndef ATH_WIRE_EXT_H
#define ATH_WIRE_EXT_H

#include <stddef.h>
#include <stdint.h>

/* A msgpack timestamp (4, 8 or 12 bytes) as seconds since the epoch and nanoseconds.
 * Returns 0, or -1 for a malformed payload (wrong size, nanoseconds >= 10^9). */
int ath_wire__ext_timestamp(const char *p, uint32_t n, int64_t *secs, uint32_t *nsec);

/* An interval (8 bytes, big-endian signed microseconds). Returns 0 or -1. */
int ath_wire__ext_interval(const char *p, uint32_t n, int64_t *micros);

/* "YYYY-MM-DD HH:MM:SS.ffffff" for the UTC instant secs + micros (0 <= micros < 10^6).
 * Returns the length written, or -1 when it does not fit or the year is out of range. */
int ath_wire__format_utc(char *out, size_t cap, int64_t secs, uint32_t micros);

/* The same for 1970-01-01 00:00:00 plus a signed number of microseconds (how SQLAlchemy stores
 * an Interval where the backend has no interval type). */
int ath_wire__format_epoch_plus(char *out, size_t cap, int64_t micros);

#endif
