/* alloc.c — the library's allocator wrappers and the fault-injection countdown. */
#include "alloc.h"

#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>

static atomic_long fail_countdown = -1;
static atomic_ulong alloc_count;
static void *_Atomic fail_site; /* the caller of the first allocation failed since the last reset */
static void (*_Atomic fail_hook)(void);
static atomic_int fail_once; /* fail one allocation only, then succeed again */

static int should_fail(void *site)
{
	atomic_fetch_add_explicit(&alloc_count, 1, memory_order_relaxed);
	long c = atomic_load_explicit(&fail_countdown, memory_order_relaxed);
	if (c < 0)
		return 0;
	if (c == 0) {
		void *none = NULL;
		if (atomic_load(&fail_once))
			atomic_store(&fail_countdown, -1);
		if (atomic_compare_exchange_strong(&fail_site, &none, site)) {
			void (*hook)(void) = atomic_load(&fail_hook);
			if (hook)
				hook();
		}
		return 1;
	}
	atomic_fetch_sub_explicit(&fail_countdown, 1, memory_order_relaxed);
	return 0;
}

#define SITE __builtin_return_address(0)

void *ath__malloc(size_t n) { return should_fail(SITE) ? NULL : malloc(n ? n : 1); }
void *ath__calloc(size_t count, size_t size) { return should_fail(SITE) ? NULL : calloc(count ? count : 1, size ? size : 1); }
void *ath__realloc(void *p, size_t n) { return should_fail(SITE) ? NULL : realloc(p, n ? n : 1); }
void ath__free(void *p) { free(p); }

static char *dup_at(const char *s, size_t n, void *site)
{
	char *d = should_fail(site) ? NULL : malloc(n + 1);
	if (d) {
		memcpy(d, s, n);
		d[n] = '\0';
	}
	return d;
}

char *ath__strndup(const char *s, size_t n) { return dup_at(s, n, SITE); }
char *ath__strdup(const char *s) { return s ? dup_at(s, strlen(s), SITE) : NULL; }

void ath__alloc_fail_after(long countdown)
{
	atomic_store(&fail_site, NULL);
	atomic_store(&fail_once, 0);
	atomic_store(&fail_countdown, countdown);
}

void ath__alloc_fail_once(long countdown)
{
	atomic_store(&fail_site, NULL);
	atomic_store(&fail_once, 1);
	atomic_store(&fail_countdown, countdown);
}

void *ath__alloc_fail_site(void) { return atomic_load(&fail_site); }
void ath__alloc_on_fail(void (*hook)(void)) { atomic_store(&fail_hook, hook); }
unsigned long ath__alloc_count(void) { return atomic_load(&alloc_count); }
