/* benchutil.h — shared by the bench/ workload programs: the clock, the customer rows every
 * implementation writes (row i: "name i", "description of customer i", i % 1000) and the one JSON
 * line each program prints (workload, impl, backend, n, seconds of every run, peak RSS). */
#ifndef ATHANOR_BENCHUTIL_H
#define ATHANOR_BENCHUTIL_H

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

/* 10,000 primary-key lookups for W4, whatever N the table holds. */
#define BENCH_LOOKUPS 10000L

static inline double bench_now(void)
{
	struct timespec t;
	clock_gettime(CLOCK_MONOTONIC, &t);
	return (double)t.tv_sec + (double)t.tv_nsec / 1e9;
}

static inline void bench_name(char *out, size_t cap, long i) { snprintf(out, cap, "name %ld", i); }
static inline void bench_description(char *out, size_t cap, long i) { snprintf(out, cap, "description of customer %ld", i); }
static inline long bench_value(long i) { return i % 1000; }
/* The id looked up by W4's k-th lookup in a table of n rows (ids 1..n), spread over the table. */
static inline long bench_lookup_id(long k, long n) { return (k * 7919L) % n + 1; }

/* Peak RSS of this process image in kB: VmHWM, not ru_maxrss (which keeps the parent's peak across
 * fork + exec, so every program would report at least the driver's size). */
static inline long bench_peak_rss_kb(void)
{
	char line[256];
	long kb = -1;
	FILE *f = fopen("/proc/self/status", "r");
	while (f && fgets(line, sizeof line, f))
		if (strncmp(line, "VmHWM:", 6) == 0)
			kb = atol(line + 6);
	if (f)
		fclose(f);
	return kb;
}

/* One JSON line on stdout: {"workload", "impl", "backend", "n", "runs": [s...], "maxrss_kb"}. */
static inline void bench_report(const char *workload, const char *impl, const char *backend, long n,
				const double *runs, int nruns)
{
	printf("{\"workload\": \"%s\", \"impl\": \"%s\", \"backend\": \"%s\", \"n\": %ld, \"runs\": [", workload, impl,
	       backend, n);
	for (int i = 0; i < nruns; i++)
		printf("%s%.6f", i ? ", " : "", runs[i]);
	printf("], \"maxrss_kb\": %ld}\n", bench_peak_rss_kb());
	fflush(stdout);
}

#endif
