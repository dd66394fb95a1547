/* libcurl, loaded on first use (lazy.h): the S3 store, WebDAV sources and
 * the API clients. */
#include <curl/curl.h>
#include <stdarg.h>

#include "lazy/lazy.h"

#define CURL_LIST(F, V, X) \
	V(curl_easy_cleanup, (CURL *a), (a)) \
	F(char *, curl_easy_escape, (CURL *a, const char *b, int c), (a, b, c)) \
	X(curl_easy_getinfo) \
	F(CURL *, curl_easy_init, (void), ()) \
	F(CURLcode, curl_easy_perform, (CURL *a), (a)) \
	V(curl_easy_reset, (CURL *a), (a)) \
	X(curl_easy_setopt) \
	F(const char *, curl_easy_strerror, (CURLcode a), (a)) \
	V(curl_free, (void *a), (a)) \
	V(curl_global_cleanup, (void), ()) \
	F(CURLcode, curl_global_init, (long int a), (a)) \
	F(CURLMcode, curl_multi_add_handle, (CURLM *a, CURL *b), (a, b)) \
	F(CURLMcode, curl_multi_cleanup, (CURLM *a), (a)) \
	F(CURLMsg *, curl_multi_info_read, (CURLM *a, int *b), (a, b)) \
	F(CURLM *, curl_multi_init, (void), ()) \
	F(CURLMcode, curl_multi_perform, (CURLM *a, int *b), (a, b)) \
	F(CURLMcode, curl_multi_poll, (CURLM *a, struct curl_waitfd *b, unsigned int c, int d, int *e), (a, b, c, d, e)) \
	F(CURLMcode, curl_multi_remove_handle, (CURLM *a, CURL *b), (a, b)) \
	X(curl_multi_setopt) \
	F(CURLMcode, curl_multi_wakeup, (CURLM *a), (a)) \
	F(struct curl_slist *, curl_slist_append, (struct curl_slist *a, const char *b), (a, b)) \
	V(curl_slist_free_all, (struct curl_slist *a), (a)) \
	F(CURLU *, curl_url, (void), ()) \
	V(curl_url_cleanup, (CURLU *a), (a)) \
	F(CURLUcode, curl_url_get, (CURLU *a, CURLUPart b, char **c, unsigned int d), (a, b, c, d)) \
	F(CURLUcode, curl_url_set, (CURLU *a, CURLUPart b, const char *c, unsigned int d), (a, b, c, d))

#define LAZY_DEF_F_lazy_curl(ret, name, params, args) LAZY_DEFINE_F(lazy_curl, ret, name, params, args)
#define LAZY_DEF_V_lazy_curl(name, params, args) LAZY_DEFINE_V(lazy_curl, name, params, args)
LAZY_LIBRARY(lazy_curl, COFFER_SONAME_CURL, CURL_LIST, NULL)

/* An option's value is one argument whose type the option's number tells
 * (CURLOPTTYPE_*: long, object pointer, function pointer, curl_off_t,
 * blob), read here as that type and passed on as that type. */
#define LAZY_CURL_SETOPT(fn, handle, option, ap)                              \
	((option) < CURLOPTTYPE_OBJECTPOINT ? fn(handle, option, va_arg(ap, long)) : \
	 (option) < CURLOPTTYPE_FUNCTIONPOINT ? fn(handle, option, va_arg(ap, void *)) : \
	 (option) < CURLOPTTYPE_OFF_T ? fn(handle, option, va_arg(ap, void (*)(void))) : \
	 (option) < CURLOPTTYPE_BLOB ? fn(handle, option, va_arg(ap, curl_off_t)) :   \
				      fn(handle, option, va_arg(ap, void *)))

#undef curl_easy_setopt
CURLcode curl_easy_setopt(CURL *curl, CURLoption option, ...)
{
	CURLcode (*fn)(CURL *, CURLoption, ...) =
		LAZY_FN(lazy_curl, curl_easy_setopt, CURLcode(*)(CURL *, CURLoption, ...));
	CURLcode r;
	va_list ap;

	va_start(ap, option);
	r = LAZY_CURL_SETOPT(fn, curl, option, ap);
	va_end(ap);
	return r;
}

#undef curl_multi_setopt
CURLMcode curl_multi_setopt(CURLM *multi, CURLMoption option, ...)
{
	CURLMcode (*fn)(CURLM *, CURLMoption, ...) =
		LAZY_FN(lazy_curl, curl_multi_setopt, CURLMcode(*)(CURLM *, CURLMoption, ...));
	CURLMcode r;
	va_list ap;

	va_start(ap, option);
	r = LAZY_CURL_SETOPT(fn, multi, option, ap);
	va_end(ap);
	return r;
}

/* Every CURLINFO takes one pointer to where the answer goes. */
#undef curl_easy_getinfo
CURLcode curl_easy_getinfo(CURL *curl, CURLINFO info, ...)
{
	CURLcode (*fn)(CURL *, CURLINFO, ...) =
		LAZY_FN(lazy_curl, curl_easy_getinfo, CURLcode(*)(CURL *, CURLINFO, ...));
	CURLcode r;
	va_list ap;

	va_start(ap, info);
	r = fn(curl, info, va_arg(ap, void *));
	va_end(ap);
	return r;
}
