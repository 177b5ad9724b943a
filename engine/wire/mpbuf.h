/* mpbuf.h — msgpack-c packers writing into a caller's ath_buf, and inline writers for the hot
 * paths that pack straight into one (a driver's rows). */
#ifndef ATH_WIRE_MPBUF_H
#define ATH_WIRE_MPBUF_H

#include <msgpack.h>
#include <stdint.h>
#include <string.h>

#include "athanor/common.h"

/* msgpack_packer_write callback; `data` is an ath_buf*. Returns 0 or -1 on out-of-memory. */
int ath_wire__buf_write(void *data, const char *buf, size_t len);
/* Empty `buf` (keeping its allocation) and point `pk` at it. */
void ath_wire__packer_init(msgpack_packer *pk, ath_buf *buf);
/* Pack a C string (NULL packs nil). */
int ath_wire__pack_cstr(msgpack_packer *pk, const char *s);
int ath_wire__pack_strn(msgpack_packer *pk, const char *s, size_t n);

/* Grow `b` so `extra` more bytes fit after b->size. Returns 0 or -1 on out-of-memory. */
int ath_wire__buf_grow(ath_buf *b, size_t extra);
static inline int ath_wire__buf_reserve(ath_buf *b, size_t extra)
{
	return b->reserved - b->size >= extra ? 0 : ath_wire__buf_grow(b, extra);
}

/* The writers below put one msgpack header or scalar at `p`, in the encoding msgpack-c's packer
 * chooses for it (the smallest), and return its length: at most ATH_WIRE_MAX_HEAD bytes. The
 * caller has reserved the room. */
#define ATH_WIRE_MAX_HEAD 9

static inline size_t ath_wire__put_be(unsigned char *p, unsigned char tag, uint64_t v, size_t n)
{
	p[0] = tag;
	for (size_t i = n; i > 0; i--, v >>= 8)
		p[i] = (unsigned char)v;
	return n + 1;
}

static inline size_t ath_wire__put_int64(unsigned char *p, int64_t v)
{
	if (v >= -32 && v < 128) {
		p[0] = (unsigned char)v; /* positive or negative fixint */
		return 1;
	}
	if (v < 0) {
		if (v >= INT8_MIN)
			return ath_wire__put_be(p, 0xd0, (uint64_t)v, 1);
		if (v >= INT16_MIN)
			return ath_wire__put_be(p, 0xd1, (uint64_t)v, 2);
		if (v >= INT32_MIN)
			return ath_wire__put_be(p, 0xd2, (uint64_t)v, 4);
		return ath_wire__put_be(p, 0xd3, (uint64_t)v, 8);
	}
	if (v <= UINT8_MAX)
		return ath_wire__put_be(p, 0xcc, (uint64_t)v, 1);
	if (v <= UINT16_MAX)
		return ath_wire__put_be(p, 0xcd, (uint64_t)v, 2);
	if (v <= UINT32_MAX)
		return ath_wire__put_be(p, 0xce, (uint64_t)v, 4);
	return ath_wire__put_be(p, 0xcf, (uint64_t)v, 8);
}

static inline size_t ath_wire__put_double(unsigned char *p, double v)
{
	uint64_t bits;
	memcpy(&bits, &v, sizeof bits);
	return ath_wire__put_be(p, 0xcb, bits, 8);
}

static inline size_t ath_wire__put_str_header(unsigned char *p, uint32_t n)
{
	if (n < 32) {
		p[0] = (unsigned char)(0xa0 | n);
		return 1;
	}
	if (n <= UINT8_MAX)
		return ath_wire__put_be(p, 0xd9, n, 1);
	if (n <= UINT16_MAX)
		return ath_wire__put_be(p, 0xda, n, 2);
	return ath_wire__put_be(p, 0xdb, n, 4);
}

static inline size_t ath_wire__put_bin_header(unsigned char *p, uint32_t n)
{
	if (n <= UINT8_MAX)
		return ath_wire__put_be(p, 0xc4, n, 1);
	if (n <= UINT16_MAX)
		return ath_wire__put_be(p, 0xc5, n, 2);
	return ath_wire__put_be(p, 0xc6, n, 4);
}

static inline size_t ath_wire__put_array_header(unsigned char *p, uint32_t n)
{
	if (n < 16) {
		p[0] = (unsigned char)(0x90 | n);
		return 1;
	}
	if (n <= UINT16_MAX)
		return ath_wire__put_be(p, 0xdc, n, 2);
	return ath_wire__put_be(p, 0xdd, n, 4);
}

#endif
