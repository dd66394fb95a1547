#ifndef COFFER_PROGRESS_H
#define COFFER_PROGRESS_H

/* Progress of long work on a terminal: items, bytes, rate and ETA on one
 * stderr line, at most four times a second; silent when stderr is not a
 * terminal or when quiet. */

#include <stdint.h>

struct progress {
	const char *what;
	int active;
	double start, last;
	uint64_t total_bytes; /* 0 if unknown: no ETA */
};

void progress_init(struct progress *p, const char *what, uint64_t total_bytes, int quiet);
void progress_update(struct progress *p, uint64_t items, uint64_t bytes);
/* Clears the line. */
void progress_done(struct progress *p);

#endif
