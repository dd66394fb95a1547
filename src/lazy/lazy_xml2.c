/* libxml2, loaded on first use (lazy.h): WebDAV's multistatus answers. */
#include <libxml/parser.h>
#include <libxml/tree.h>

#include "lazy/lazy.h"

#define XML2_LIST(F, V, X) \
	F(xmlNodePtr, xmlAddChild, (xmlNodePtr a, xmlNodePtr b), (a, b)) \
	F(const xmlChar *, xmlBufferContent, (const xmlBuffer *a), (a)) \
	F(xmlBufferPtr, xmlBufferCreate, (void), ()) \
	V(xmlBufferFree, (xmlBufferPtr a), (a)) \
	F(int, xmlBufferLength, (const xmlBuffer *a), (a)) \
	F(xmlNodePtr, xmlDocCopyNode, (xmlNodePtr a, xmlDocPtr b, int c), (a, b, c)) \
	V(xmlDocDumpMemoryEnc, (xmlDocPtr a, xmlChar **b, int *c, const char *d), (a, b, c, d)) \
	F(xmlNodePtr, xmlDocGetRootElement, (const xmlDoc *a), (a)) \
	F(xmlNodePtr, xmlDocSetRootElement, (xmlDocPtr a, xmlNodePtr b), (a, b)) \
	V(xmlFreeDoc, (xmlDocPtr a), (a)) \
	F(xmlNodePtr, xmlNewChild, (xmlNodePtr a, xmlNsPtr b, const xmlChar *c, const xmlChar *d), (a, b, c, d)) \
	F(xmlDocPtr, xmlNewDoc, (const xmlChar *a), (a)) \
	F(xmlNodePtr, xmlNewDocNode, (xmlDocPtr a, xmlNsPtr b, const xmlChar *c, const xmlChar *d), (a, b, c, d)) \
	F(xmlNsPtr, xmlNewNs, (xmlNodePtr a, const xmlChar *b, const xmlChar *c), (a, b, c)) \
	F(int, xmlNodeDump, (xmlBufferPtr a, xmlDocPtr b, xmlNodePtr c, int d, int e), (a, b, c, d, e)) \
	F(xmlChar *, xmlNodeGetContent, (const xmlNode *a), (a)) \
	F(xmlChar *, xmlNodeListGetString, (xmlDocPtr a, const xmlNode *b, int c), (a, b, c)) \
	V(xmlNodeSetName, (xmlNodePtr a, const xmlChar *b), (a, b)) \
	F(xmlDocPtr, xmlReadMemory, (const char *a, int b, const char *c, const char *d, int e), (a, b, c, d, e)) \
	V(xmlSetNs, (xmlNodePtr a, xmlNsPtr b), (a, b))

static void lazy_xml2_loaded(void *handle);
#define LAZY_DEF_F_lazy_xml2(ret, name, params, args) LAZY_DEFINE_F(lazy_xml2, ret, name, params, args)
#define LAZY_DEF_V_lazy_xml2(name, params, args) LAZY_DEFINE_V(lazy_xml2, name, params, args)
LAZY_LIBRARY(lazy_xml2, COFFER_SONAME_XML2, XML2_LIST, lazy_xml2_loaded)

/* xmlFree is a variable of libxml2 (its deallocator), not a function: the
 * stand-in variable points at a function calling the library's own. */
static xmlFreeFunc *lazy_xml2_free;

static void lazy_xml2_loaded(void *handle)
{
	lazy_xml2_free = lazy_data(&lazy_xml2, handle, "xmlFree");
}

static void lazy_xml2_call_free(void *mem)
{
	/* Whatever is freed came from the library, so it is loaded. */
	lazy_load(&lazy_xml2);
	(*lazy_xml2_free)(mem);
}

xmlFreeFunc xmlFree = lazy_xml2_call_free;
