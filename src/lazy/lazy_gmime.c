/* GMime and the GLib it is built on, loaded on first use (lazy.h): the
 * mail parser (engine/mailparse.c). */
#include <gmime/gmime.h>
#include <string.h>

#include "lazy/lazy.h"

#define GMIME_LIST(F, V, X) \
	F(gint, g_ascii_digit_value, (gchar a), (a)) \
	F(gint, g_ascii_strcasecmp, (const gchar *a, const gchar *b), (a, b)) \
	F(gint, g_ascii_strncasecmp, (const gchar *a, const gchar *b, gsize c), (a, b, c)) \
	F(gint, g_ascii_xdigit_value, (gchar a), (a)) \
	V(g_clear_error, (GError **a), (a)) \
	F(gchar *, g_convert, (const gchar *a, gssize b, const gchar *c, const gchar *d, gsize *e, gsize *f, GError **g), (a, b, c, d, e, f, g)) \
	F(GQuark, g_convert_error_quark, (void), ()) \
	F(gchar *, g_date_time_format, (GDateTime *a, const gchar *b), (a, b)) \
	F(gint64, g_date_time_to_unix, (GDateTime *a), (a)) \
	F(GDateTime *, g_date_time_to_utc, (GDateTime *a), (a)) \
	V(g_date_time_unref, (GDateTime *a), (a)) \
	F(gboolean, g_error_matches, (const GError *a, GQuark b, gint c), (a, b, c)) \
	V(g_free, (gpointer a), (a)) \
	F(const char *, g_mime_charset_iconv_name, (const char *a), (a)) \
	F(gboolean, g_mime_content_disposition_is_attachment, (GMimeContentDisposition *a), (a)) \
	F(char *, g_mime_content_type_get_mime_type, (GMimeContentType *a), (a)) \
	F(gboolean, g_mime_content_type_is_type, (GMimeContentType *a, const char *b, const char *c), (a, b, c)) \
	F(ssize_t, g_mime_data_wrapper_write_to_stream, (GMimeDataWrapper *a, GMimeStream *b), (a, b)) \
	F(const char *, g_mime_header_get_name, (GMimeHeader *a), (a)) \
	F(const char *, g_mime_header_get_raw_value, (GMimeHeader *a), (a)) \
	F(int, g_mime_header_list_get_count, (GMimeHeaderList *a), (a)) \
	F(GMimeHeader *, g_mime_header_list_get_header_at, (GMimeHeaderList *a, int b), (a, b)) \
	V(g_mime_init, (void), ()) \
	F(InternetAddressList *, g_mime_message_get_addresses, (GMimeMessage *a, GMimeAddressType b), (a, b)) \
	F(GDateTime *, g_mime_message_get_date, (GMimeMessage *a), (a)) \
	F(InternetAddressList *, g_mime_message_get_from, (GMimeMessage *a), (a)) \
	F(const char *, g_mime_message_get_message_id, (GMimeMessage *a), (a)) \
	F(GMimeObject *, g_mime_message_get_mime_part, (GMimeMessage *a), (a)) \
	F(const char *, g_mime_message_get_subject, (GMimeMessage *a), (a)) \
	F(GMimeMessage *, g_mime_message_part_get_message, (GMimeMessagePart *a), (a)) \
	F(GType, g_mime_message_part_get_type, (void), ()) \
	F(int, g_mime_multipart_get_count, (GMimeMultipart *a), (a)) \
	F(GMimeObject *, g_mime_multipart_get_part, (GMimeMultipart *a, int b), (a, b)) \
	F(GType, g_mime_multipart_get_type, (void), ()) \
	F(GMimeContentDisposition *, g_mime_object_get_content_disposition, (GMimeObject *a), (a)) \
	F(const char *, g_mime_object_get_content_disposition_parameter, (GMimeObject *a, const char *b), (a, b)) \
	F(GMimeContentType *, g_mime_object_get_content_type, (GMimeObject *a), (a)) \
	F(const char *, g_mime_object_get_content_type_parameter, (GMimeObject *a, const char *b), (a, b)) \
	F(GMimeHeaderList *, g_mime_object_get_header_list, (GMimeObject *a), (a)) \
	F(GType, g_mime_object_get_type, (void), ()) \
	F(GMimeMessage *, g_mime_parser_construct_message, (GMimeParser *a, GMimeParserOptions *b), (a, b)) \
	F(GMimeParser *, g_mime_parser_new_with_stream, (GMimeStream *a), (a)) \
	V(g_mime_parser_options_free, (GMimeParserOptions *a), (a)) \
	F(GMimeParserOptions *, g_mime_parser_options_new, (void), ()) \
	V(g_mime_parser_options_set_address_compliance_mode, (GMimeParserOptions *a, GMimeRfcComplianceMode b), (a, b)) \
	V(g_mime_parser_options_set_fallback_charsets, (GMimeParserOptions *a, const char **b), (a, b)) \
	V(g_mime_parser_options_set_parameter_compliance_mode, (GMimeParserOptions *a, GMimeRfcComplianceMode b), (a, b)) \
	V(g_mime_parser_options_set_rfc2047_compliance_mode, (GMimeParserOptions *a, GMimeRfcComplianceMode b), (a, b)) \
	V(g_mime_parser_options_set_warning_callback, (GMimeParserOptions *a, GMimeParserWarningFunc b, gpointer c), (a, b, c)) \
	V(g_mime_parser_set_format, (GMimeParser *a, GMimeFormat b), (a, b)) \
	F(GMimeDataWrapper *, g_mime_part_get_content, (GMimePart *a), (a)) \
	F(const char *, g_mime_part_get_filename, (GMimePart *a), (a)) \
	F(GType, g_mime_part_get_type, (void), ()) \
	F(gboolean, g_mime_part_is_attachment, (GMimePart *a), (a)) \
	F(GByteArray *, g_mime_stream_mem_get_byte_array, (GMimeStreamMem *a), (a)) \
	F(GType, g_mime_stream_mem_get_type, (void), ()) \
	F(GMimeStream *, g_mime_stream_mem_new, (void), ()) \
	F(GMimeStream *, g_mime_stream_mem_new_with_buffer, (const char *a, size_t b), (a, b)) \
	F(char *, g_mime_utils_header_decode_text, (GMimeParserOptions *a, const char *b), (a, b)) \
	F(char *, g_mime_utils_header_unfold, (const char *a), (a)) \
	V(g_object_unref, (gpointer a), (a)) \
	F(gchar *, g_strchomp, (gchar *a), (a)) \
	F(gchar *, g_strchug, (gchar *a), (a)) \
	F(gchar *, g_strstr_len, (const gchar *a, gssize b, const gchar *c), (a, b, c)) \
	F(GTypeInstance *, g_type_check_instance_cast, (GTypeInstance *a, GType b), (a, b)) \
	F(gboolean, g_type_check_instance_is_a, (GTypeInstance *a, GType b), (a, b)) \
	F(gint, g_unichar_to_utf8, (gunichar a, gchar *b), (a, b)) \
	F(gunichar, g_utf8_get_char_validated, (const gchar *a, gssize b), (a, b)) \
	F(gchar *, g_utf8_make_valid, (const gchar *a, gssize b), (a, b)) \
	F(gboolean, g_utf8_validate, (const gchar *a, gssize b, const gchar **c), (a, b, c)) \
	F(InternetAddressList *, internet_address_group_get_members, (InternetAddressGroup *a), (a)) \
	F(GType, internet_address_group_get_type, (void), ()) \
	F(InternetAddress *, internet_address_list_get_address, (InternetAddressList *a, int b), (a, b)) \
	F(int, internet_address_list_length, (InternetAddressList *a), (a)) \
	F(InternetAddressList *, internet_address_list_parse, (GMimeParserOptions *a, const char *b), (a, b)) \
	F(char *, internet_address_list_to_string, (InternetAddressList *a, GMimeFormatOptions *b, gboolean c), (a, b, c)) \
	F(const char *, internet_address_mailbox_get_addr, (InternetAddressMailbox *a), (a)) \
	F(GType, internet_address_mailbox_get_type, (void), ())

static void lazy_gmime_loaded(void *handle);
#define LAZY_DEF_F_lazy_gmime(ret, name, params, args) LAZY_DEFINE_F(lazy_gmime, ret, name, params, args)
#define LAZY_DEF_V_lazy_gmime(name, params, args) LAZY_DEFINE_V(lazy_gmime, name, params, args)
LAZY_LIBRARY(lazy_gmime, COFFER_SONAME_GMIME, GMIME_LIST, lazy_gmime_loaded)

/* GLib's g_ascii_is*() macros read its table g_ascii_table, data that is
 * used before any GLib function may have been called, so it cannot wait
 * for the library. It is ASCII's classes, part of GLib's ABI; the same
 * table is built here at compile time and checked against GLib's when it
 * loads. */
#define LAZY_GRAPH(c) ((c) > 0x20 && (c) < 0x7f)
#define LAZY_ALNUM(c) (((c) >= '0' && (c) <= '9') || ((c) >= 'a' && (c) <= 'z') || \
		       ((c) >= 'A' && (c) <= 'Z'))
#define LAZY_CLASS(c)                                                                   \
	(((c) < 0x20 || (c) == 0x7f ? G_ASCII_CNTRL : 0) |                              \
	 ((c) == ' ' || ((c) >= '\t' && (c) <= '\r' && (c) != '\v') ? G_ASCII_SPACE : 0) | \
	 (LAZY_GRAPH(c) ? G_ASCII_GRAPH : 0) |                                          \
	 ((c) >= 0x20 && (c) < 0x7f ? G_ASCII_PRINT : 0) |                              \
	 ((c) >= '0' && (c) <= '9' ? G_ASCII_DIGIT : 0) |                               \
	 ((c) >= 'a' && (c) <= 'z' ? G_ASCII_LOWER | G_ASCII_ALPHA : 0) |               \
	 ((c) >= 'A' && (c) <= 'Z' ? G_ASCII_UPPER | G_ASCII_ALPHA : 0) |               \
	 (LAZY_ALNUM(c) ? G_ASCII_ALNUM : 0) |                                          \
	 (((c) >= '0' && (c) <= '9') || ((c) >= 'a' && (c) <= 'f') ||                   \
		  ((c) >= 'A' && (c) <= 'F') ? G_ASCII_XDIGIT : 0) |                    \
	 (LAZY_GRAPH(c) && !LAZY_ALNUM(c) ? G_ASCII_PUNCT : 0))
#define LAZY_R4(b) LAZY_CLASS(b), LAZY_CLASS(b + 1), LAZY_CLASS(b + 2), LAZY_CLASS(b + 3)
#define LAZY_R16(b) LAZY_R4(b), LAZY_R4(b + 4), LAZY_R4(b + 8), LAZY_R4(b + 12)
#define LAZY_R64(b) LAZY_R16(b), LAZY_R16(b + 16), LAZY_R16(b + 32), LAZY_R16(b + 48)
static const guint16 lazy_ascii_table[256] = { LAZY_R64(0), LAZY_R64(64), LAZY_R64(128),
					       LAZY_R64(192) };
const guint16 *const g_ascii_table = lazy_ascii_table;

static void lazy_gmime_loaded(void *handle)
{
	const guint16 *const *glib_table = lazy_data(&lazy_gmime, handle, "g_ascii_table");

	if (memcmp(*glib_table, lazy_ascii_table, sizeof(lazy_ascii_table)) != 0) {
		fprintf(stderr, "coffer: this GLib's g_ascii_table differs from coffer's copy "
				"(src/lazy/lazy_gmime.c)\n");
		abort();
	}
}
