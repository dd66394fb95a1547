/* libpq, loaded on first use (lazy.h): a catalog in PostgreSQL. */
#include <libpq-fe.h>

#include "lazy/lazy.h"

#define PQ_LIST(F, V, X) \
	V(PQclear, (PGresult *a), (a)) \
	F(char *, PQcmdStatus, (PGresult *a), (a)) \
	F(char *, PQcmdTuples, (PGresult *a), (a)) \
	F(PGconn *, PQconnectdb, (const char *a), (a)) \
	F(PGconn *, PQconnectdbParams, (const char *const *a, const char *const *b, int c), (a, b, c)) \
	V(PQconninfoFree, (PQconninfoOption *a), (a)) \
	F(PQconninfoOption *, PQconninfoParse, (const char *a, char **b), (a, b)) \
	F(char *, PQerrorMessage, (const PGconn *a), (a)) \
	F(PGresult *, PQexec, (PGconn *a, const char *b), (a, b)) \
	F(PGresult *, PQexecParams, (PGconn *a, const char *b, int c, const Oid *d, const char *const *e, const int *f, const int *g, int h), (a, b, c, d, e, f, g, h)) \
	V(PQfinish, (PGconn *a), (a)) \
	V(PQfreemem, (void *a), (a)) \
	F(int, PQgetisnull, (const PGresult *a, int b, int c), (a, b, c)) \
	F(char *, PQgetvalue, (const PGresult *a, int b, int c), (a, b, c)) \
	F(int, PQntuples, (const PGresult *a), (a)) \
	V(PQreset, (PGconn *a), (a)) \
	F(char *, PQresultErrorField, (const PGresult *a, int b), (a, b)) \
	F(ExecStatusType, PQresultStatus, (const PGresult *a), (a)) \
	F(PQnoticeProcessor, PQsetNoticeProcessor, (PGconn *a, PQnoticeProcessor b, void *c), (a, b, c)) \
	F(ConnStatusType, PQstatus, (const PGconn *a), (a)) \
	F(PGTransactionStatusType, PQtransactionStatus, (const PGconn *a), (a))

#define LAZY_DEF_F_lazy_pq(ret, name, params, args) LAZY_DEFINE_F(lazy_pq, ret, name, params, args)
#define LAZY_DEF_V_lazy_pq(name, params, args) LAZY_DEFINE_V(lazy_pq, name, params, args)
LAZY_LIBRARY(lazy_pq, COFFER_SONAME_PQ, PQ_LIST, NULL)
