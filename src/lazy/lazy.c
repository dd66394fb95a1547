/* The loader behind the stand-ins (lazy.h). */
#include <dlfcn.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "lazy/lazy.h"

/* One lock for all libraries: loading happens a few times per process. */
static pthread_mutex_t lazy_lock = PTHREAD_MUTEX_INITIALIZER;

static void lazy_fail(const struct lazy_lib *lib, const char *what)
{
	/* stderr directly: the log module is above this one, and the caller
	 * has no error to return. */
	fprintf(stderr, "coffer: cannot load %s, which this command needs: %s\n",
		lib->soname, what ? what : "unknown error");
	exit(1);
}

void *lazy_data(struct lazy_lib *lib, void *handle, const char *name)
{
	void *p;

	dlerror();
	p = dlsym(handle, name);
	if (p == NULL)
		lazy_fail(lib, dlerror());
	return p;
}

void lazy_load(struct lazy_lib *lib)
{
	void *handle, *p;
	size_t i;

	if (__atomic_load_n(&lib->loaded, __ATOMIC_ACQUIRE))
		return;
	pthread_mutex_lock(&lazy_lock);
	if (!lib->loaded) {
		/* RTLD_LOCAL: its symbols stay out of the global scope, so
		 * they never meet the stand-ins of the same names. */
		handle = dlopen(lib->soname, RTLD_NOW | RTLD_LOCAL);
		if (handle == NULL)
			lazy_fail(lib, dlerror());
		for (i = 0; i < lib->n; i++) {
			p = lazy_data(lib, handle, lib->names[i]);
			/* POSIX guarantees a function's address fits in void *. */
			memcpy(&lib->fns[i], &p, sizeof(p));
		}
		if (lib->on_load)
			lib->on_load(handle);
		__atomic_store_n(&lib->loaded, 1, __ATOMIC_RELEASE);
	}
	pthread_mutex_unlock(&lazy_lock);
}
