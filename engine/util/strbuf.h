/* strbuf.h — a growable byte string for building SQL and messages. Sticky out-of-memory:
 * after a failed growth every append is a no-op and `oom` stays set until reset, so builders
 * check once. */
#ifndef ATH_UTIL_STRBUF_H
#define ATH_UTIL_STRBUF_H

#include <stdarg.h>
#include <stddef.h>

typedef struct ath_strbuf {
	char *ptr;
	size_t len, cap;
	int oom;
} ath_strbuf;

#define ATH_STRBUF_INIT { NULL, 0, 0, 0 }

void ath_strbuf__put(ath_strbuf *b, const char *s, size_t n);
void ath_strbuf__puts(ath_strbuf *b, const char *s);
void ath_strbuf__putc(ath_strbuf *b, char c);
void ath_strbuf__printf(ath_strbuf *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
int ath_strbuf__reserve(ath_strbuf *b, size_t extra);
/* NUL-terminated contents ("" when empty); NULL only after out-of-memory. */
const char *ath_strbuf__cstr(ath_strbuf *b);
/* Hand the heap string to the caller (free with ath__free) and reset the buffer. */
char *ath_strbuf__detach(ath_strbuf *b, size_t *len_out);
void ath_strbuf__reset(ath_strbuf *b);
void ath_strbuf__free(ath_strbuf *b);

#endif
