/* strbuf.c — growable byte string. */
#include "strbuf.h"

#include <stdio.h>
#include <string.h>

#include "alloc.h"

int ath_strbuf__reserve(ath_strbuf *b, size_t extra)
{
	if (b->oom)
		return -1;
	if (b->len + extra + 1 <= b->cap)
		return 0;
	size_t cap = b->cap ? b->cap : 64;
	while (cap < b->len + extra + 1)
		cap *= 2;
	char *p = ath__realloc(b->ptr, cap);
	if (!p) {
		b->oom = 1;
		return -1;
	}
	b->ptr = p;
	b->cap = cap;
	return 0;
}

void ath_strbuf__put(ath_strbuf *b, const char *s, size_t n)
{
	if (ath_strbuf__reserve(b, n) < 0)
		return;
	if (n)
		memcpy(b->ptr + b->len, s, n);
	b->len += n;
	b->ptr[b->len] = '\0';
}

void ath_strbuf__puts(ath_strbuf *b, const char *s) { ath_strbuf__put(b, s, strlen(s)); }
void ath_strbuf__putc(ath_strbuf *b, char c) { ath_strbuf__put(b, &c, 1); }

void ath_strbuf__printf(ath_strbuf *b, const char *fmt, ...)
{
	va_list ap;
	char small[128];
	va_start(ap, fmt);
	int n = vsnprintf(small, sizeof small, fmt, ap);
	va_end(ap);
	if (n < 0)
		return;
	if ((size_t)n < sizeof small) {
		ath_strbuf__put(b, small, (size_t)n);
		return;
	}
	if (ath_strbuf__reserve(b, (size_t)n) < 0)
		return;
	va_start(ap, fmt);
	vsnprintf(b->ptr + b->len, (size_t)n + 1, fmt, ap);
	va_end(ap);
	b->len += (size_t)n;
}

const char *ath_strbuf__cstr(ath_strbuf *b)
{
	if (b->oom)
		return NULL;
	if (!b->ptr)
		return "";
	return b->ptr;
}

char *ath_strbuf__detach(ath_strbuf *b, size_t *len_out)
{
	if (b->oom || ath_strbuf__reserve(b, 0) < 0) {
		ath_strbuf__free(b);
		return NULL;
	}
	char *p = b->ptr;
	if (len_out)
		*len_out = b->len;
	b->ptr = NULL;
	b->len = b->cap = 0;
	return p;
}

void ath_strbuf__reset(ath_strbuf *b)
{
	b->len = 0;
	b->oom = 0; /* a failed growth must not poison the buffer's next use */
	if (b->ptr)
		b->ptr[0] = '\0';
}

void ath_strbuf__free(ath_strbuf *b)
{
	ath__free(b->ptr);
	b->ptr = NULL;
	b->len = b->cap = 0;
	b->oom = 0;
}
