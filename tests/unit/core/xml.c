/*
 * Unit tests for core/xml.c: text escaping for S3 XML bodies and the all-or-nothing append
 * when the buffer cap is hit.
 */
#include "core/xml.h"

#include <criterion/criterion.h>

#include <errno.h>
#include <string.h>

/* Escape s (len bytes) into a fresh buffer and compare with want. */
static void assert_escaped(const char *s, size_t len, const char *want)
{
    struct buf b;
    buf_init(&b, 4096);
    cr_assert_eq(xml_append_escaped(&b, s, len), 0);
    cr_assert_eq(b.len, strlen(want));
    cr_assert_str_eq(b.data, want);
    buf_free(&b);
}

#define ESC(lit, want) assert_escaped(lit, sizeof(lit) - 1, want)

Test(xml, plain_text_unchanged)
{
    ESC("photos/2026/img.jpg", "photos/2026/img.jpg");
}

Test(xml, empty_text)
{
    struct buf b;
    buf_init(&b, 16);
    cr_assert_eq(xml_append_escaped(&b, NULL, 0), 0);
    cr_assert_eq(b.len, 0);
    cr_assert_eq(xml_append_escaped(&b, "", 0), 0);
    cr_assert_eq(b.len, 0);
    buf_free(&b);
}

Test(xml, markup_characters)
{
    ESC("a&b<c>d\"e'f", "a&amp;b&lt;c&gt;d&quot;e&apos;f");
    ESC("&&", "&amp;&amp;");
    ESC("<", "&lt;");
    ESC("&amp;", "&amp;amp;");
}

Test(xml, cr_lf_tab_as_references)
{
    ESC("a\rb\nc\td", "a&#13;b&#10;c&#9;d");
    ESC("\r\n", "&#13;&#10;");
}

Test(xml, other_c0_controls_as_hex_references)
{
    ESC("\x01", "&#x1;");
    ESC("a\x1f"
        "b",
        "a&#x1F;b");
    ESC("\x0b\x0c\x10", "&#xB;&#xC;&#x10;");
    ESC("\x00", "&#x0;");
}

Test(xml, high_bytes_pass_through)
{
    ESC("caf\xc3\xa9/\xe2\x82\xac", "caf\xc3\xa9/\xe2\x82\xac");
    ESC("\x7f", "\x7f");
}

Test(xml, every_byte_value)
{
    /* Each byte escapes to something containing no raw markup or control character. */
    for (int c = 0; c < 256; c++) {
        char in = (char)c;
        struct buf b;
        buf_init(&b, 64);
        cr_assert_eq(xml_append_escaped(&b, &in, 1), 0);
        for (size_t i = 0; i < b.len; i++) {
            unsigned char o = (unsigned char)b.data[i];
            cr_assert(o >= 0x20, "byte %d -> control in output", c);
            cr_assert(o != '<' && o != '>' && o != '"' && o != '\'', "byte %d", c);
            if (o == '&')
                cr_assert_neq(memchr(b.data + i, ';', b.len - i), NULL, "byte %d", c);
        }
        buf_free(&b);
    }
}

Test(xml, appends_to_existing_content)
{
    struct buf b;
    buf_init(&b, 64);
    cr_assert_eq(buf_append_str(&b, "<Key>"), 0);
    cr_assert_eq(xml_append_escaped(&b, "a<b", 3), 0);
    cr_assert_str_eq(b.data, "<Key>a&lt;b");
    buf_free(&b);
}

Test(xml, element)
{
    struct buf b;
    buf_init(&b, 256);
    cr_assert_eq(xml_append_element(&b, "Key", "dir/a&b.txt", 11), 0);
    cr_assert_eq(xml_append_element(&b, "Prefix", "", 0), 0);
    cr_assert_str_eq(b.data, "<Key>dir/a&amp;b.txt</Key><Prefix></Prefix>");
    buf_free(&b);
}

Test(xml, element_text_is_not_nul_terminated)
{
    struct buf b;
    buf_init(&b, 256);
    cr_assert_eq(xml_append_element(&b, "Key", "abcdef", 3), 0);
    cr_assert_str_eq(b.data, "<Key>abc</Key>");
    buf_free(&b);
}

Test(xml, escaped_over_cap_appends_nothing)
{
    struct buf b;
    buf_init(&b, 10);
    cr_assert_eq(buf_append_str(&b, "ab"), 0);
    /* "x&y" -> "x&amp;y" (7 bytes) fits; a second one does not. */
    cr_assert_eq(xml_append_escaped(&b, "x&y", 3), 0);
    cr_assert_eq(b.len, 9);
    cr_assert_eq(xml_append_escaped(&b, "x&y", 3), -E2BIG);
    cr_assert_eq(b.len, 9);
    cr_assert_str_eq(b.data, "abx&amp;y");
    buf_free(&b);
}

Test(xml, escaped_fails_midway_appends_nothing)
{
    struct buf b;
    buf_init(&b, 8);
    /* "aaaa" fits, then "&lt;" would pass the cap: the "aaaa" must be rolled back too. */
    cr_assert_eq(xml_append_escaped(&b, "aaaaa<", 6), -E2BIG);
    cr_assert_eq(b.len, 0);
    cr_assert(b.data == NULL || b.data[0] == '\0');
    buf_free(&b);
}

Test(xml, element_over_cap_appends_nothing)
{
    struct buf b;
    buf_init(&b, 20);
    cr_assert_eq(buf_append_str(&b, "<R>"), 0);
    cr_assert_eq(xml_append_element(&b, "Key", "0123456789", 10), -E2BIG);
    cr_assert_eq(b.len, 3);
    cr_assert_str_eq(b.data, "<R>");
    /* Exactly at the cap is fine: "<Key>" + 6 + "</Key>" = 17, plus "<R>" = 20. */
    cr_assert_eq(xml_append_element(&b, "Key", "012345", 6), 0);
    cr_assert_eq(b.len, 20);
    buf_free(&b);
}
