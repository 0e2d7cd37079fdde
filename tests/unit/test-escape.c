/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* test-escape.c - unit tests of the dump format's escaping (lib/escape.c, §14.2). Host. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "dump.h"

/* Unescape a C string; returns the error code, output in out/len. */

/* malloc() that never returns NULL (so the compiler knows it, too). */
static void *xmalloc(size_t n)
{
        void *p = malloc(n);
        if (!p)
                abort();
        return p;
}
static int unesc(const char *in, char *out, size_t *len, struct cfs_error *err)
{
        *err = (struct cfs_error){};
        return cfs_unescape(in, strlen(in), out, len, err);
}

static void test_unescape_ok(void **state)
{
        (void)state;
        static const struct {
                const char *in, *out;
                size_t out_len;
        } cases[] = {
            {"", "", 0},
            {"plain", "plain", 5},
            {"a\\\\b", "a\\b", 3},
            {"\\n\\r\\t", "\n\r\t", 3},
            {"\\x41\\x62\\xfF", "Ab\xff", 3},
            {"\\x00x", "\0x", 2},
            {"\\x2d", "-", 1},
            {"\xc3\xa9 raw", "\xc3\xa9 raw", 6}, /* raw bytes and spaces taken literally */
            {"end\\x3d", "end=", 4},
        };
        for (size_t i = 0; i < ELEMENTSOF(cases); i++) {
                char out[64];
                size_t len = 99;
                struct cfs_error err;
                assert_int_equal(unesc(cases[i].in, out, &len, &err), 0);
                assert_int_equal(len, cases[i].out_len);
                assert_memory_equal(out, cases[i].out, len);
        }
}

static void test_unescape_errors(void **state)
{
        (void)state;
        static const struct {
                const char *in, *msg;
        } cases[] = {
            {"abc\\", "No character after escape"},
            {"\\", "No character after escape"},
            {"\\x", "No hex characters after hex escape"},
            {"\\x4", "No hex characters after hex escape"},
            {"\\xg0", "Invalid hex characters after hex escape"},
            {"\\x0g", "Invalid hex characters after hex escape"},
            {"\\a", "Unsupported escape type a"},
            {"\\0", "Unsupported escape type 0"},
            {"\\X41", "Unsupported escape type X"},
            {"\\\x01", "Unsupported escape type \\x01"},
        };
        for (size_t i = 0; i < ELEMENTSOF(cases); i++) {
                char out[64];
                size_t len;
                struct cfs_error err;
                assert_int_equal(unesc(cases[i].in, out, &len, &err), -EINVAL);
                assert_string_equal(err.message, cases[i].msg);
        }
}

/* In-place decoding (the parser's scratch buffer may alias) gives the same bytes. */
static void test_unescape_in_place(void **state)
{
        (void)state;
        char buf[] = "a\\x20b\\\\c\\nd";
        size_t len;
        assert_int_equal(cfs_unescape(buf, strlen(buf), buf, &len, NULL), 0);
        assert_int_equal(len, 7);
        assert_memory_equal(buf, "a b\\c\nd", 7);
}

static char *escape_str(const void *data, size_t len, enum cfs_escape_mode mode)
{
        char *out = xmalloc(4 * len + 5);
        size_t n = cfs_escape_mem(out, data, len, mode);
        out[n] = 0;
        return out;
}

static void test_escape_rules(void **state)
{
        (void)state;
        static const struct {
                const char *in;
                enum cfs_escape_mode mode;
                const char *out;
        } cases[] = {
            {"abc", CFS_ESCAPE_PATH, "abc"},
            {"a b", CFS_ESCAPE_PATH, "a\\x20b"},
            {"\\\n\r\t", CFS_ESCAPE_PATH, "\\\\\\n\\r\\t"},
            {"\x7f\x80\xff\x01", CFS_ESCAPE_PATH, "\\x7f\\x80\\xff\\x01"},
            {"!~", CFS_ESCAPE_PATH, "!~"},
            {"a=b", CFS_ESCAPE_PATH, "a=b"},
            {"a=b", CFS_ESCAPE_XATTR, "a\\x3db"},
            {"-", CFS_ESCAPE_FIELD, "\\x2d"},
            {"-", CFS_ESCAPE_PATH, "-"},
            {"-", CFS_ESCAPE_XATTR, "-"}, /* xattr values "-" are written plainly */
            {"--", CFS_ESCAPE_FIELD, "--"},
            {"-a", CFS_ESCAPE_FIELD, "-a"},
        };
        for (size_t i = 0; i < ELEMENTSOF(cases); i++) {
                _cleanup_free_ char *s =
                    escape_str(cases[i].in, strlen(cases[i].in), cases[i].mode);
                assert_string_equal(s, cases[i].out);
        }
        /* a NUL byte is data, not a terminator */
        _cleanup_free_ char *s = escape_str("a\0b", 3, CFS_ESCAPE_XATTR);
        assert_string_equal(s, "a\\x00b");
}

/* Every byte 0..255 survives escape + unescape in every mode, alone and in a run. */
static void test_all_bytes_round_trip(void **state)
{
        (void)state;
        static const enum cfs_escape_mode modes[] = {CFS_ESCAPE_PATH, CFS_ESCAPE_FIELD,
                                                     CFS_ESCAPE_XATTR};
        unsigned char all[256];
        for (int i = 0; i < 256; i++)
                all[i] = (unsigned char)i;
        for (size_t m = 0; m < ELEMENTSOF(modes); m++) {
                for (int i = 0; i < 256; i++) {
                        _cleanup_free_ char *e = escape_str(&all[i], 1, modes[m]);
                        /* escaped text never holds a separator or a control byte */
                        for (const char *p = e; *p; p++)
                                assert_true(*p > 0x20 && *p < 0x7f);
                        if (modes[m] == CFS_ESCAPE_XATTR)
                                assert_null(strchr(e, '='));
                        char out[8];
                        size_t len;
                        assert_int_equal(cfs_unescape(e, strlen(e), out, &len, NULL), 0);
                        assert_int_equal(len, 1);
                        assert_int_equal((unsigned char)out[0], i);
                }
                _cleanup_free_ char *e = escape_str(all, sizeof(all), modes[m]);
                char out[256];
                size_t len;
                assert_int_equal(cfs_unescape(e, strlen(e), out, &len, NULL), 0);
                assert_int_equal(len, 256);
                assert_memory_equal(out, all, 256);
        }
}

static void test_escape_file(void **state)
{
        (void)state;
        char *text = NULL;
        size_t size = 0;
        FILE *f = open_memstream(&text, &size);
        assert_non_null(f);
        assert_int_equal(cfs_escape(f, "-", 1, CFS_ESCAPE_FIELD), 0);
        assert_int_equal(fputc('|', f), '|');
        /* long input crosses the internal chunk size */
        char big[3000];
        memset(big, ' ', sizeof(big));
        big[0] = '-';
        assert_int_equal(cfs_escape(f, big, sizeof(big), CFS_ESCAPE_FIELD), 0);
        assert_int_equal(fclose(f), 0);
        assert_int_equal(size, 4 + 1 + 1 + 4 * (sizeof(big) - 1));
        assert_memory_equal(text, "\\x2d|-\\x20", 10);
        free(text);

        FILE *full = fopen("/dev/full", "we");
        if (full) {
                setvbuf(full, NULL, _IONBF, 0);
                assert_int_equal(cfs_escape(full, "abc", 3, CFS_ESCAPE_PATH), -EIO);
                fclose(full);
        }
}

static void test_escape_message(void **state)
{
        (void)state;
        char buf[32];
        cfs_escape_message(buf, sizeof(buf), "a b\n\\\x1b", 6);
        assert_string_equal(buf, "a b\\n\\\\\\x1b");
        char big[100];
        memset(big, 'x', sizeof(big));
        size_t n = cfs_escape_message(buf, sizeof(buf), big, sizeof(big));
        assert_int_equal(n, strlen(buf));
        assert_true(n < sizeof(buf));
        assert_string_equal(buf + n - 3, "...");
}

/* Names made of every byte but '/' and NUL parse and write back unchanged. */
static void test_names_every_byte(void **state)
{
        (void)state;
        char *text = NULL;
        size_t size = 0;
        FILE *f = open_memstream(&text, &size);
        assert_non_null(f);
        fputs("/ 0 40755 2 0 0 0 0.0 - - -\n", f);
        unsigned char name[2];
        for (int i = 1; i < 256; i++) {
                if (i == '/')
                        continue;
                name[0] = (unsigned char)i;
                name[1] = 'z';
                fputc('/', f);
                cfs_escape(f, name, 2, CFS_ESCAPE_PATH);
                fputs(" 0 100644 1 0 0 0 0.0 - - - user.", f);
                cfs_escape(f, name, 2, CFS_ESCAPE_XATTR);
                fputc('=', f);
                cfs_escape(f, name, 2, CFS_ESCAPE_XATTR);
                fputc('\n', f);
        }
        assert_int_equal(fclose(f), 0);

        struct cfs_dump_options o = {.strict = true};
        struct cfs_error err = {};
        _cleanup_(cfs_tree_freep) struct cfs_tree *t = NULL;
        int r = cfs_dump_parse_buffer(text, size, "bytes", &o, &t, &err);
        if (r < 0)
                fail_msg("%s", cfs_error_text(&err, r));
        assert_int_equal(cfs_tree_n_nodes(t), 1 + 254);
        for (int i = 1; i < 256; i++) {
                if (i == '/')
                        continue;
                name[0] = (unsigned char)i;
                struct cfs_node *n = cfs_tree_lookup(t, cfs_tree_root(t), (char *)name, 2);
                assert_non_null(n);
                char xname[8] = "user.";
                memcpy(xname + 5, name, 2);
                const struct cfs_xattr *x = cfs_node_get_xattr(t, n, xname, 7);
                assert_non_null(x);
                assert_int_equal(x->value_len, 2);
                assert_memory_equal(x->value, name, 2);
        }
        /* the writer reproduces the input exactly (it was written with the same rules,
         * and the names were added in sorted order) */
        char *out = NULL;
        size_t out_size = 0;
        f = open_memstream(&out, &out_size);
        assert_int_equal(cfs_dump_write(t, f), 0);
        assert_int_equal(fclose(f), 0);
        assert_int_equal(out_size, size);
        assert_memory_equal(out, text, size);
        free(out);
        free(text);
}

int main(void)
{
        const struct CMUnitTest tests[] = {
            cmocka_unit_test(test_unescape_ok),          cmocka_unit_test(test_unescape_errors),
            cmocka_unit_test(test_unescape_in_place),    cmocka_unit_test(test_escape_rules),
            cmocka_unit_test(test_all_bytes_round_trip), cmocka_unit_test(test_escape_file),
            cmocka_unit_test(test_escape_message),       cmocka_unit_test(test_names_every_byte),
        };
        return cmocka_run_group_tests(tests, NULL, NULL);
}
