/* alloc.h — every allocation of the library goes through here, so tests can fail the Nth one
 * (out-of-memory injection, SQLite's sqlite3FaultSim idea). msgpack-c and the drivers allocate
 * on their own and are not counted. */
#ifndef ATH_UTIL_ALLOC_H
#define ATH_UTIL_ALLOC_H

#include <stddef.h>

void *ath__malloc(size_t n);
void *ath__calloc(size_t count, size_t size);
void *ath__realloc(void *p, size_t n);
void ath__free(void *p);
char *ath__strndup(const char *s, size_t n);
char *ath__strdup(const char *s);

/* Fault injection: after `countdown` more successful allocations, every allocation fails
 * (until reset with a negative countdown). Process-wide; for tests only. */
void ath__alloc_fail_after(long countdown);
/* The same, but only that one allocation fails; the ones after it succeed again (SQLite's
 * transient fault): shows a failure that is swallowed instead of reported. */
void ath__alloc_fail_once(long countdown);
/* Number of allocations made since start, for walking every allocation site in a test. */
unsigned long ath__alloc_count(void);
/* The return address of the code that called the allocation failed first since the last
 * ath__alloc_fail_after() (for ath__strdup, its caller), or NULL: tells the walk's runs
 * that failed the same site apart from those that reached a new one. */
void *ath__alloc_fail_site(void);
/* `hook` runs inside that first failed allocation (a test takes its stack there); NULL = none. */
void ath__alloc_on_fail(void (*hook)(void));

#endif
