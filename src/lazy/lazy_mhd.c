/* libmicrohttpd, loaded on first use (lazy.h): the HTTP API of serve. */
#include <stdarg.h>
#include <stdint.h>
#include <sys/types.h>
#include <sys/select.h>
#include <sys/socket.h>
#include <microhttpd.h>

#include "lazy/lazy.h"

#define MHD_LIST(F, V, X) \
	X(MHD_start_daemon_va) \
	F(enum MHD_Result, MHD_add_response_header, (struct MHD_Response *a, const char *b, const char *c), (a, b, c)) \
	F(struct MHD_Response *, MHD_create_response_from_buffer, (size_t a, void *b, enum MHD_ResponseMemoryMode c), (a, b, c)) \
	F(struct MHD_Response *, MHD_create_response_from_fd64, (uint64_t a, int b), (a, b)) \
	V(MHD_destroy_response, (struct MHD_Response *a), (a)) \
	X(MHD_get_connection_info) \
	F(int, MHD_get_connection_values, (struct MHD_Connection *a, enum MHD_ValueKind b, MHD_KeyValueIterator c, void *d), (a, b, c, d)) \
	F(int, MHD_get_connection_values_n, (struct MHD_Connection *a, enum MHD_ValueKind b, MHD_KeyValueIteratorN c, void *d), (a, b, c, d)) \
	X(MHD_get_daemon_info) \
	F(size_t, MHD_http_unescape, (char *a), (a)) \
	F(enum MHD_Result, MHD_is_feature_supported, (enum MHD_FEATURE a), (a)) \
	F(const char *, MHD_lookup_connection_value, (struct MHD_Connection *a, enum MHD_ValueKind b, const char *c), (a, b, c)) \
	F(enum MHD_Result, MHD_queue_response, (struct MHD_Connection *a, unsigned int b, struct MHD_Response *c), (a, b, c)) \
	F(MHD_socket, MHD_quiesce_daemon, (struct MHD_Daemon *a), (a)) \
	V(MHD_stop_daemon, (struct MHD_Daemon *a), (a))

#define LAZY_DEF_F_lazy_mhd(ret, name, params, args) LAZY_DEFINE_F(lazy_mhd, ret, name, params, args)
#define LAZY_DEF_V_lazy_mhd(name, params, args) LAZY_DEFINE_V(lazy_mhd, name, params, args)
LAZY_LIBRARY(lazy_mhd, COFFER_SONAME_MHD, MHD_LIST, NULL)

struct MHD_Daemon *MHD_start_daemon(unsigned int flags, uint16_t port,
				    MHD_AcceptPolicyCallback apc, void *apc_cls,
				    MHD_AccessHandlerCallback dh, void *dh_cls, ...)
{
	struct MHD_Daemon *d;
	va_list ap;

	va_start(ap, dh_cls);
	d = LAZY_FN(lazy_mhd, MHD_start_daemon_va,
		    struct MHD_Daemon *(*)(unsigned int, uint16_t, MHD_AcceptPolicyCallback, void *,
					   MHD_AccessHandlerCallback, void *, va_list))(
		flags, port, apc, apc_cls, dh, dh_cls, ap);
	va_end(ap);
	return d;
}

/* The kinds of information coffer asks for take no further argument. */
const union MHD_ConnectionInfo *MHD_get_connection_info(struct MHD_Connection *connection,
							 enum MHD_ConnectionInfoType info_type, ...)
{
	return LAZY_FN(lazy_mhd, MHD_get_connection_info,
		       const union MHD_ConnectionInfo *(*)(struct MHD_Connection *,
							   enum MHD_ConnectionInfoType, ...))(
		connection, info_type);
}

const union MHD_DaemonInfo *MHD_get_daemon_info(struct MHD_Daemon *daemon,
						 enum MHD_DaemonInfoType info_type, ...)
{
	return LAZY_FN(lazy_mhd, MHD_get_daemon_info,
		       const union MHD_DaemonInfo *(*)(struct MHD_Daemon *,
						       enum MHD_DaemonInfoType, ...))(daemon,
										     info_type);
}
