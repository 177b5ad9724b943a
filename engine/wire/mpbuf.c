/* mpbuf.c — ath_buf as a msgpack-c output target. */
#include "mpbuf.h"

#include <stdint.h>
#include <string.h>

#include "util/alloc.h"

int ath_wire__buf_grow(ath_buf *b, size_t extra)
{
	if (b->size + extra <= b->reserved)
		return 0;
	if (extra > SIZE_MAX / 2 - b->size)
		return -1;
	size_t cap = b->reserved ? b->reserved : 256;
	while (cap < b->size + extra)
		cap *= 2;
	unsigned char *p = ath__realloc(b->ptr, cap);
	if (!p)
		return -1;
	b->ptr = p;
	b->reserved = cap;
	return 0;
}

int ath_wire__buf_write(void *data, const char *src, size_t len)
{
	ath_buf *b = data;
	if (len == 0)
		return 0;
	if (ath_wire__buf_reserve(b, len) < 0)
		return -1;
	memcpy(b->ptr + b->size, src, len);
	b->size += len;
	return 0;
}

void ath_wire__packer_init(msgpack_packer *pk, ath_buf *buf)
{
	buf->size = 0;
	msgpack_packer_init(pk, buf, ath_wire__buf_write);
}

int ath_wire__pack_strn(msgpack_packer *pk, const char *s, size_t n)
{
	if (!s)
		return msgpack_pack_nil(pk);
	if (msgpack_pack_str(pk, n) < 0)
		return -1;
	return msgpack_pack_str_body(pk, s, n);
}

int ath_wire__pack_cstr(msgpack_packer *pk, const char *s) { return ath_wire__pack_strn(pk, s, s ? strlen(s) : 0); }
