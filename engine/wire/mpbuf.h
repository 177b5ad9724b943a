/* mpbuf.h — msgpack-c packers writing into a caller's ath_buf. */
#ifndef ATH_WIRE_MPBUF_H
#define ATH_WIRE_MPBUF_H

#include <msgpack.h>

#include "athanor/common.h"

/* msgpack_packer_write callback; `data` is an ath_buf*. Returns 0 or -1 on out-of-memory. */
int ath_wire__buf_write(void *data, const char *buf, size_t len);
/* Empty `buf` (keeping its allocation) and point `pk` at it. */
void ath_wire__packer_init(msgpack_packer *pk, ath_buf *buf);
/* Pack a C string (NULL packs nil). */
int ath_wire__pack_cstr(msgpack_packer *pk, const char *s);
int ath_wire__pack_strn(msgpack_packer *pk, const char *s, size_t n);

#endif
