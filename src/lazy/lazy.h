#ifndef COFFER_LAZY_H
#define COFFER_LAZY_H

/* Libraries that only some commands use (libcurl, GMime and GLib,
 * libmicrohttpd, libpq, libxml2) are not linked: each is stood in for by a
 * file here that defines the functions coffer calls, under their own names
 * and prototypes (the library's header is included, so the compiler checks
 * them). The first call of any of them opens the library with dlopen() and
 * resolves all of its functions at once; later calls are one indirect
 * jump. So `coffer restore-points` maps no library it does not use, and
 * `coffer serve` maps each on first use (docs/engine.md "Start-up").
 *
 * A library that cannot be opened, or lacks a function, ends the process
 * with a message naming it: the functions stood in for have no way to
 * report that error, and the package depends on these libraries. */

#include <stddef.h>

struct lazy_lib {
	const char *soname;        /* as the build found it, e.g. "libcurl.so.4" */
	const char *const *names;  /* the n symbols to resolve */
	void (**fns)(void);        /* their addresses, filled by lazy_load() */
	size_t n;
	int loaded;                /* read and set atomically */
	void (*on_load)(void *handle); /* a check run once, or NULL */
};

/* Opens lib and resolves every symbol in it unless done already; safe to
 * call from any thread. Exits the process (status 1) if it cannot. */
void lazy_load(struct lazy_lib *lib);

/* The symbol name of a stand-in, resolved from handle; exits the process
 * if absent. For data symbols (the on_load checks). */
void *lazy_data(struct lazy_lib *lib, void *handle, const char *name);

/* The stand-ins of one library, from a list LIST(F, V, X) of its functions:
 *   F(ret, name, (params), (args))  returns a value
 *   V(name, (params), (args))       returns void
 *   X(name)                         resolved only; the stand-in (a variadic
 *                                   function) is written by hand, calling
 *                                   LAZY_FN(lib, name, type)
 * LAZY_LIBRARY(lazy_curl, "libcurl.so.4", LIST, NULL) defines the table
 * struct lazy_lib lazy_curl and every F and V stand-in. */
#define LAZY_ENUM_F(ret, name, params, args) LAZY_I_##name,
#define LAZY_ENUM_V(name, params, args) LAZY_I_##name,
#define LAZY_ENUM_X(name) LAZY_I_##name,
#define LAZY_NAME_F(ret, name, params, args) #name,
#define LAZY_NAME_V(name, params, args) #name,
#define LAZY_NAME_X(name) #name,
#define LAZY_NONE_X(name)

#define LAZY_FN(lib, name, type) (lazy_load(&(lib)), (type)(lib).fns[LAZY_I_##name])

#define LAZY_LIBRARY(lib, soname, LIST, on_load_fn)                                  \
	enum { LIST(LAZY_ENUM_F, LAZY_ENUM_V, LAZY_ENUM_X) LAZY_N_##lib };             \
	static const char *const lib##_names[] = {                                     \
		LIST(LAZY_NAME_F, LAZY_NAME_V, LAZY_NAME_X)                            \
	};                                                                             \
	static void (*lib##_fns[LAZY_N_##lib])(void);                                  \
	static struct lazy_lib lib = { soname, lib##_names, lib##_fns, LAZY_N_##lib,   \
				       0, on_load_fn };                                \
	LIST(LAZY_DEF_F_##lib, LAZY_DEF_V_##lib, LAZY_NONE_X)

/* Each library file defines LAZY_DEF_F_<lib> and LAZY_DEF_V_<lib> as
 * LAZY_DEFINE_F(<lib>, ...) and LAZY_DEFINE_V(<lib>, ...), since a macro
 * cannot pass its own extra argument through the list. */
#define LAZY_DEFINE_F(lib, ret, name, params, args) \
	ret name params { return LAZY_FN(lib, name, ret(*) params) args; }
#define LAZY_DEFINE_V(lib, name, params, args) \
	void name params { LAZY_FN(lib, name, void(*) params) args; }

#endif
