#include "progress.h"

#include <stdio.h>
#include <time.h>
#include <unistd.h>

static double now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

void progress_init(struct progress *p, const char *what, uint64_t total_bytes, int quiet)
{
	p->what = what;
	p->active = !quiet && isatty(STDERR_FILENO);
	p->start = p->last = now();
	p->total_bytes = total_bytes;
}

void progress_update(struct progress *p, uint64_t items, uint64_t bytes)
{
	double t, rate;

	if (!p->active || (t = now()) - p->last < 0.25)
		return;
	p->last = t;
	rate = (double)bytes / (t - p->start > 0.001 ? t - p->start : 0.001);
	fprintf(stderr, "\r%s: %llu items, %.1f MiB, %.1f MiB/s", p->what,
		(unsigned long long)items, (double)bytes / 1048576.0, rate / 1048576.0);
	if (p->total_bytes > bytes && rate > 0) {
		double eta = (double)(p->total_bytes - bytes) / rate;

		fprintf(stderr, ", ETA %d:%02d", (int)eta / 60, (int)eta % 60);
	}
	fputs("   ", stderr);
	fflush(stderr);
}

void progress_done(struct progress *p)
{
	if (p->active)
		fputs("\r\033[K", stderr);
}
