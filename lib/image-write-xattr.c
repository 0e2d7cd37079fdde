/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * image-write-xattr.c - composefs image writer: per-inode xattr lists after the
 * overlay rewrites (COMPOSEFS-FORMAT.md §5.2-§5.4, §11.6) including the
 * write-time budget quirk (§5.3), the pair table that decides sharing and the
 * shared table sorted descending (§11.4), and the on-disk xattr areas (§11.2,
 * §11.3, §11.5). Host only.
 *
 * Every pair the writer uses is unique by content: names of at most 255 bytes
 * are interned in the tree (so equal pairs get equal ids, whether the user
 * wrote them or the writer adds them); longer escaped names (XK_ESC) can only
 * come from one tree xattr each; metacopy and redirect values are deduplicated
 * by digest and payload bytes. So the shared-table sort never sees ties.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define XXH_INLINE_ALL
#include <xxhash.h>

#include "image-write-internal.h"

#define OVL_PREFIX CFS_XATTR_OVERLAY_PREFIX             /* "trusted.overlay." */
#define OVL_PREFIX_LEN (sizeof(OVL_PREFIX) - 1)         /* 16 */
#define OVL_ESC_PREFIX CFS_XATTR_OVERLAY_ESCAPED_PREFIX /* "trusted.overlay.overlay." */
#define OVL_ESC_PREFIX_LEN (sizeof(OVL_ESC_PREFIX) - 1) /* 24 */
#define ESC_EXTRA (OVL_ESC_PREFIX_LEN - OVL_PREFIX_LEN) /* 8 */

static const struct {
        const char *name;
        const char *value;
} xconst[XC_COUNT] = {
    [XC_OPAQUE_Y] = {CFS_XATTR_OPAQUE, "y"},
    [XC_TOVL_WHITEOUT] = {CFS_XATTR_ESC_WHITEOUT, ""},
    [XC_USER_WHITEOUT] = {CFS_XATTR_USER_WHITEOUT, ""},
    [XC_TOVL_WHITEOUTS] = {CFS_XATTR_ESC_WHITEOUTS, ""},
    [XC_USER_WHITEOUTS] = {CFS_XATTR_USER_WHITEOUTS, ""},
    [XC_TOVL_OPAQUE_X] = {CFS_XATTR_ESC_OPAQUE, "x"},
    [XC_USER_OPAQUE_X] = {CFS_XATTR_USER_OPAQUE, "x"},
    [XC_METACOPY_EMPTY] = {CFS_XATTR_METACOPY, ""},
};

static const uint8_t metacopy_header[4] = {0x00, 0x24, 0x00, 0x01};

/* ---- names and values of (kind, ref) ---- */

static void ref_name(const struct cfs_writer *w, uint8_t kind, uint32_t ref, char buf[W_NAME_BUF],
                     const char **name, size_t *len)
{
        const struct cfs_xattr *x;

        switch (kind) {
        case XK_TREE:
                x = cfs_tree_xattr(w->t, ref);
                *name = x->name;
                *len = x->name_len;
                return;
        case XK_ESC:
                x = cfs_tree_xattr(w->t, ref);
                memcpy(buf, OVL_ESC_PREFIX, OVL_ESC_PREFIX_LEN);
                memcpy(buf + OVL_ESC_PREFIX_LEN, x->name + OVL_PREFIX_LEN,
                       x->name_len - OVL_PREFIX_LEN);
                *name = buf;
                *len = x->name_len + ESC_EXTRA;
                return;
        case XK_METACOPY:
                *name = CFS_XATTR_METACOPY;
                *len = strlen(CFS_XATTR_METACOPY);
                return;
        default:
                *name = CFS_XATTR_REDIRECT;
                *len = strlen(CFS_XATTR_REDIRECT);
                return;
        }
}

static void ref_value(const struct cfs_writer *w, uint8_t kind, uint32_t ref, struct bstr2 *v)
{
        const struct cfs_xattr *x;
        const struct cfs_node *n;

        *v = (struct bstr2){{NULL, NULL}, {0, 0}};
        switch (kind) {
        case XK_TREE:
        case XK_ESC:
                x = cfs_tree_xattr(w->t, ref);
                v->p[0] = x->value;
                v->len[0] = x->value_len;
                return;
        case XK_METACOPY:
                n = w->bfs[ref];
                v->p[0] = metacopy_header;
                v->len[0] = sizeof(metacopy_header);
                v->p[1] = n->digest;
                v->len[1] = CFS_DIGEST_SIZE;
                return;
        default:
                n = w->bfs[ref];
                v->p[0] = (const uint8_t *)"/";
                v->len[0] = 1;
                v->p[1] = (const uint8_t *)n->payload;
                v->len[1] = strlen(n->payload);
                return;
        }
}

void w_pair_name(const struct cfs_writer *w, const struct wpair *p, char buf[W_NAME_BUF],
                 const char **name, size_t *len)
{
        ref_name(w, p->kind, p->ref, buf, name, len);
}

void w_pair_value(const struct cfs_writer *w, const struct wpair *p, struct bstr2 *v)
{
        ref_value(w, p->kind, p->ref, v);
}

static size_t bstr2_len(const struct bstr2 *v)
{
        return v->len[0] + v->len[1];
}

/* memcmp-like comparison of two split byte strings (shorter prefix first). */
static int bstr2_cmp(const struct bstr2 *a, const struct bstr2 *b)
{
        size_t ai = 0, aoff = 0, bi = 0, boff = 0;
        for (;;) {
                while (ai < 2 && aoff == a->len[ai]) {
                        ai++;
                        aoff = 0;
                }
                while (bi < 2 && boff == b->len[bi]) {
                        bi++;
                        boff = 0;
                }
                if (ai == 2 || bi == 2)
                        return (ai == 2 ? 0 : 1) - (bi == 2 ? 0 : 1);
                size_t n = CFS_MIN(a->len[ai] - aoff, b->len[bi] - boff);
                int r = memcmp(a->p[ai] + aoff, b->p[bi] + boff, n);
                if (r != 0)
                        return r;
                aoff += n;
                boff += n;
        }
}

/* ---- the pair table ---- */

static uint32_t content_hash(const struct cfs_writer *w, uint8_t kind, uint32_t ref)
{
        const struct cfs_node *n = w->bfs[ref];
        if (kind == XK_METACOPY)
                return (uint32_t)XXH3_64bits_withSeed(n->digest, CFS_DIGEST_SIZE, kind);
        return (uint32_t)XXH3_64bits_withSeed(n->payload, strlen(n->payload), kind);
}

static bool content_eq(const struct cfs_writer *w, const struct wpair *p, uint8_t kind,
                       uint32_t ref)
{
        if (p->kind != kind)
                return false;
        const struct cfs_node *a = w->bfs[p->ref], *b = w->bfs[ref];
        if (kind == XK_METACOPY)
                return memcmp(a->digest, b->digest, CFS_DIGEST_SIZE) == 0;
        return strcmp(a->payload, b->payload) == 0;
}

/* Slot holding (kind, ref)'s content, or the empty slot where it belongs. The
 * stored hash keeps probes away from the nodes (cache misses) until it matches. */
static struct wcslot *chash_slot(const struct cfs_writer *w, struct wcslot *tab, size_t size,
                                 uint32_t hash, uint8_t kind, uint32_t ref)
{
        size_t mask = size - 1;
        for (size_t j = hash & mask;; j = (j + 1) & mask) {
                struct wcslot *s = &tab[j];
                if (!s->pair ||
                    (s->hash == hash && content_eq(w, &w->pairs[s->pair - 1], kind, ref)))
                        return s;
        }
}

/* Grow to keep the load at most 3/4; the first call sizes for all external files. */
static int chash_grow(struct cfs_writer *w)
{
        size_t size = w->chash_size ? w->chash_size * 2 : 1024;
        while (!w->chash_size && size < SIZE_MAX / 8 && size * 3 < w->n_external * 2 * 4)
                size *= 2;
        struct wcslot *tab = calloc(size, sizeof(*tab));
        if (!tab)
                return -ENOMEM;
        size_t mask = size - 1;
        for (size_t i = 0; i < w->chash_size; i++) {
                const struct wcslot *s = &w->chash[i];
                if (!s->pair)
                        continue;
                size_t j = s->hash & mask;
                while (tab[j].pair)
                        j = (j + 1) & mask;
                tab[j] = *s;
        }
        free(w->chash);
        w->chash = tab;
        w->chash_size = size;
        return 0;
}

static int pair_new(struct cfs_writer *w, uint8_t kind, uint32_t ref, uint32_t *ret)
{
        char buf[W_NAME_BUF];
        const char *name;
        size_t len, off;
        struct bstr2 v;

        if (w->n_pairs == w->alloc_pairs) {
                if (w->alloc_pairs >= UINT32_MAX / 2)
                        return -ENOMEM;
                uint32_t alloc = w->alloc_pairs ? 2 * w->alloc_pairs : 256;
                struct wpair *p = realloc(w->pairs, (size_t)alloc * sizeof(*p));
                if (!p)
                        return -ENOMEM;
                w->pairs = p;
                w->alloc_pairs = alloc;
        }
        struct wpair *p = &w->pairs[w->n_pairs];
        *p = (struct wpair){.ref = ref, .kind = kind};
        ref_name(w, kind, ref, buf, &name, &len);
        ref_value(w, kind, ref, &v);
        p->index = cfs_xattr_split_name(name, len, &off);
        p->fbit = (uint8_t)cfs_xattr_filter_bit(p->index, name + off, len - off);
        p->esize =
            (uint32_t)CFS_ROUND_UP(CFS_XATTR_ENTRY_HEADER_SIZE + (len - off) + bstr2_len(&v), 4u);
        if ((len == 23 && memcmp(name, "system.posix_acl_access", 23) == 0) ||
            (len == 24 && memcmp(name, "system.posix_acl_default", 24) == 0))
                p->flags |= WPAIR_ACL;
        *ret = w->n_pairs++;
        return 0;
}

static int id_table_get(struct cfs_writer *w, uint32_t **tab, size_t *size, uint8_t kind,
                        uint32_t id, uint32_t *ret)
{
        if (id >= *size) {
                size_t n = CFS_MAX(cfs_tree_n_xattrs(w->t), (size_t)id + 1);
                uint32_t *t = realloc(*tab, n * sizeof(*t));
                if (!t)
                        return -ENOMEM;
                memset(t + *size, 0, (n - *size) * sizeof(*t));
                *tab = t;
                *size = n;
        }
        if (!(*tab)[id]) {
                int r = pair_new(w, kind, id, ret);
                if (r < 0)
                        return r;
                (*tab)[id] = *ret + 1;
        }
        *ret = (*tab)[id] - 1;
        return 0;
}

static int pair_get(struct cfs_writer *w, const struct witem *it, uint32_t *ret)
{
        if (it->kind == XK_TREE)
                return id_table_get(w, &w->tree_pair, &w->tree_pair_size, it->kind, it->ref, ret);
        if (it->kind == XK_ESC)
                return id_table_get(w, &w->esc_pair, &w->esc_pair_size, it->kind, it->ref, ret);
        if ((w->chash_n + 1) * 4 > w->chash_size * 3) {
                int r = chash_grow(w);
                if (r < 0)
                        return r;
        }
        uint32_t hash = content_hash(w, it->kind, it->ref);
        struct wcslot *slot = chash_slot(w, w->chash, w->chash_size, hash, it->kind, it->ref);
        if (!slot->pair) {
                int r = pair_new(w, it->kind, it->ref, ret);
                if (r < 0)
                        return r;
                slot->pair = *ret + 1;
                slot->hash = hash;
                w->chash_n++;
        }
        *ret = slot->pair - 1;
        return 0;
}

/* ---- one inode's xattr list (§5.2, §5.3) ---- */

static int scratch_push(struct cfs_writer *w, uint8_t kind, uint32_t ref)
{
        if (cfs_reserve(&w->scratch, &w->alloc_scratch, w->n_scratch + 1, sizeof(*w->scratch), 64) <
            0)
                return -ENOMEM;
        w->scratch[w->n_scratch++] = (struct witem){.ref = ref, .kind = kind};
        return 0;
}

/* The node's own xattr, with trusted.overlay.* escaped (§5.2 step 1). */
static int push_initial(struct cfs_writer *w, uint32_t id)
{
        const struct cfs_xattr *x = cfs_tree_xattr(w->t, id);
        if (!x)
                return cfs_error_set(w->err, EINVAL, "cannot write file: bad xattr id %u", id);
        if (x->name_len < OVL_PREFIX_LEN || memcmp(x->name, OVL_PREFIX, OVL_PREFIX_LEN) != 0)
                return scratch_push(w, XK_TREE, id);
        if (x->name_len + ESC_EXTRA > CFS_XATTR_NAME_MAX)
                return scratch_push(w, XK_ESC, id);
        char buf[W_NAME_BUF];
        const uint8_t *value = x->value;
        size_t value_len = x->value_len, len = x->name_len + ESC_EXTRA;
        memcpy(buf, OVL_ESC_PREFIX, OVL_ESC_PREFIX_LEN);
        memcpy(buf + OVL_ESC_PREFIX_LEN, x->name + OVL_PREFIX_LEN, x->name_len - OVL_PREFIX_LEN);
        uint32_t esc;
        int r = cfs_tree_intern_xattr(w->t, buf, len, value, value_len, &esc);
        if (r < 0)
                return r;
        return scratch_push(w, XK_TREE, esc);
}

static bool names_equal(const struct cfs_writer *w, const struct witem *a, const char *name,
                        size_t len)
{
        char buf[W_NAME_BUF];
        const char *an;
        size_t al;
        ref_name(w, a->kind, a->ref, buf, &an, &al);
        return al == len && memcmp(an, name, len) == 0;
}

/* "Set" an xattr the writer adds, with upstream's write-time budget (§5.3). */
static int xset(struct cfs_writer *w, const struct cfs_node *n, uint64_t *counter, uint8_t kind,
                uint32_t ref)
{
        char buf[W_NAME_BUF];
        const char *name;
        size_t len;
        struct bstr2 v;

        ref_name(w, kind, ref, buf, &name, &len);
        ref_value(w, kind, ref, &v);
        for (size_t j = 0; j < w->n_scratch; j++) {
                if (!names_equal(w, &w->scratch[j], name, len))
                        continue;
                struct bstr2 old;
                ref_value(w, w->scratch[j].kind, w->scratch[j].ref, &old);
                memmove(&w->scratch[j], &w->scratch[j + 1],
                        (w->n_scratch - j - 1) * sizeof(w->scratch[0]));
                w->n_scratch--;
                if (w->n_scratch > 0)
                        *counter -= 7 + len + bstr2_len(&old); /* may wrap, as upstream */
                else
                        *counter = 0;
                break;
        }
        uint64_t cost = 7 + len + bstr2_len(&v) + (w->n_scratch == 0 ? 12 : 0);
        if (*counter + cost > CFS_XATTR_BUDGET) {
                char what[W_NAME_BUF + 64];
                snprintf(what, sizeof(what), "xattr budget of %u bytes exceeded setting %.*s",
                         CFS_XATTR_BUDGET, (int)len, name);
                return w_fail(w, n, ERANGE, what);
        }
        *counter += cost;
        return scratch_push(w, kind, ref);
}

static bool has_whiteout_child(const struct cfs_writer *w, const struct cfs_node *n)
{
        if (!S_ISDIR(n->mode))
                return false;
        for (uint32_t i = 0; i < n->n_children; i++)
                if (w_is_whiteout(w, n->children[i]))
                        return true;
        return false;
}

/* The sets of §5.2 steps 2-3 and §5.4, in upstream's order. */
static int writer_sets(struct cfs_writer *w, uint32_t i)
{
        const struct cfs_node *n = w->bfs[i];
        uint64_t counter = 0;
        int r = 0;

#define SET(kind, ref)                                                                             \
        do {                                                                                       \
                r = xset(w, n, &counter, (kind), (ref));                                           \
                if (r < 0)                                                                         \
                        return r;                                                                  \
        } while (0)
#define SETC(c) SET(XK_TREE, w->consts[c])

        if (w_is_fake(w, n)) {
                if (w->root_has_selinux)
                        SET(XK_TREE, w->root_selinux);
                return 0;
        }
        if (w_is_external(w, n)) {
                if (n->has_digest)
                        SET(XK_METACOPY, i);
                else
                        SETC(XC_METACOPY_EMPTY);
                if (n->payload && n->payload[0])
                        SET(XK_REDIRECT, i);
        }
        if (w_is_whiteout(w, n)) {
                SETC(XC_TOVL_WHITEOUT);
                SETC(XC_USER_WHITEOUT);
        }
        if (has_whiteout_child(w, n)) {
                SETC(XC_TOVL_WHITEOUTS);
                SETC(XC_USER_WHITEOUTS);
                if (w->version >= 1) {
                        SETC(XC_TOVL_OPAQUE_X);
                        SETC(XC_USER_OPAQUE_X);
                }
        }
        if (i == 0)
                SETC(XC_OPAQUE_Y);
#undef SETC
#undef SET
        return 0;
}

static int item_cmp(const void *a, const void *b, void *userdata)
{
        const struct cfs_writer *w = userdata;
        const struct witem *x = a, *y = b;
        char bx[W_NAME_BUF], by[W_NAME_BUF];
        const char *nx, *ny;
        size_t lx, ly;
        ref_name(w, x->kind, x->ref, bx, &nx, &lx);
        ref_name(w, y->kind, y->ref, by, &ny, &ly);
        return cfs_name_cmp(nx, lx, ny, ly);
}

static int append_ref(struct cfs_writer *w, uint32_t pair)
{
        if (w->n_xrefs == w->alloc_xrefs) {
                if (w->alloc_xrefs >= UINT32_MAX / 2)
                        return cfs_error_set(w->err, EFBIG, "cannot write file: too many xattrs");
                if (cfs_reserve(&w->xrefs, &w->alloc_xrefs, w->n_xrefs + 1, sizeof(*w->xrefs),
                                4096) < 0)
                        return -ENOMEM;
        }
        w->xrefs[w->n_xrefs++] = pair;
        struct wpair *p = &w->pairs[pair];
        if (p->val < 2 && ++p->val == 2)
                p->flags |= WPAIR_SHARED;
        if (p->flags & WPAIR_ACL)
                w->has_acl = true;
        return 0;
}

static int collect_one(struct cfs_writer *w, uint32_t i)
{
        const struct cfs_node *n = w->bfs[i];
        int r;

        w->n_scratch = 0;
        if (!w_is_fake(w, n))
                for (uint16_t k = 0; k < n->n_xattrs; k++) {
                        r = push_initial(w, n->xattrs[k]);
                        if (r < 0)
                                return r;
                }
        r = writer_sets(w, i);
        if (r < 0)
                return r;
        /* names are unique within a node, so the order is fully defined */
        qsort_r(w->scratch, w->n_scratch, sizeof(w->scratch[0]), item_cmp, w);
        for (size_t k = 0; k < w->n_scratch; k++) {
                uint32_t pair;
                r = pair_get(w, &w->scratch[k], &pair);
                if (r < 0)
                        return r;
                r = append_ref(w, pair);
                if (r < 0)
                        return r;
        }
        return 0;
}

static int intern_consts(struct cfs_writer *w)
{
        for (unsigned k = 0; k < XC_COUNT; k++) {
                int r =
                    cfs_tree_intern_xattr(w->t, xconst[k].name, strlen(xconst[k].name),
                                          xconst[k].value, strlen(xconst[k].value), &w->consts[k]);
                if (r < 0)
                        return r;
        }
        return 0;
}

int w_collect_xattrs(struct cfs_writer *w)
{
        int r = intern_consts(w);
        if (r < 0)
                return r;
        for (uint32_t i = 0; i < w->n_inodes; i++) {
                w->xstart[i] = (uint32_t)w->n_xrefs;
                r = collect_one(w, i);
                if (r < 0)
                        return r;
        }
        w->xstart[w->n_inodes] = (uint32_t)w->n_xrefs;
        free(w->scratch);
        w->scratch = NULL;
        w->alloc_scratch = w->n_scratch = 0;
        /* the lookup tables are not needed after this pass */
        free(w->chash);
        w->chash = NULL;
        w->chash_size = w->chash_n = 0;
        free(w->tree_pair);
        w->tree_pair = NULL;
        w->tree_pair_size = 0;
        free(w->esc_pair);
        w->esc_pair = NULL;
        w->esc_pair_size = 0;
        return 0;
}

/* ---- xattr areas (§6.3, §11.3) ---- */

void w_xattr_area(const struct cfs_writer *w, uint32_t i, uint64_t *xsize, uint16_t *n_shared)
{
        uint32_t start = w->xstart[i], end = w->xstart[i + 1];
        uint64_t unshared = 0;
        uint16_t s = 0;

        *xsize = 0;
        *n_shared = 0;
        if (start == end)
                return;
        for (uint32_t j = start; j < end; j++) {
                const struct wpair *p = &w->pairs[w->xrefs[j]];
                if ((p->flags & WPAIR_SHARED) && s < CFS_XATTR_SHARED_MAX_PER_INODE)
                        s++;
                else
                        unshared += p->esize;
        }
        *n_shared = s;
        *xsize = CFS_XATTR_IBODY_HEADER_SIZE + 4ull * s + unshared;
}

static void emit_entry(const struct cfs_writer *w, struct wout *o, const struct wpair *p)
{
        char buf[W_NAME_BUF];
        const char *name;
        size_t len, off;
        struct bstr2 v;
        uint8_t hdr[CFS_XATTR_ENTRY_HEADER_SIZE];

        w_pair_name(w, p, buf, &name, &len);
        w_pair_value(w, p, &v);
        (void)cfs_xattr_split_name(name, len, &off);
        hdr[0] = (uint8_t)(len - off);
        hdr[1] = p->index;
        cfs_put_le16(hdr + 2, (uint16_t)bstr2_len(&v));
        w_out_bytes(o, hdr, sizeof(hdr));
        w_out_bytes(o, name + off, len - off);
        w_out_bytes(o, v.p[0], v.len[0]);
        w_out_bytes(o, v.p[1], v.len[1]);
        size_t used = sizeof(hdr) + (len - off) + bstr2_len(&v);
        w_out_fill(o, 0, p->esize - used);
}

void w_emit_xattr_area(const struct cfs_writer *w, struct wout *o, uint32_t i)
{
        uint32_t start = w->xstart[i], end = w->xstart[i + 1];
        uint32_t mask = 0, s = 0;
        uint8_t hdr[CFS_XATTR_IBODY_HEADER_SIZE] = {0};

        if (start == end)
                return;
        for (uint32_t j = start; j < end; j++) {
                const struct wpair *p = &w->pairs[w->xrefs[j]];
                mask |= 1u << p->fbit;
                if ((p->flags & WPAIR_SHARED) && s < CFS_XATTR_SHARED_MAX_PER_INODE)
                        s++;
        }
        cfs_put_le32(hdr, ~mask);
        hdr[4] = (uint8_t)s;
        w_out_bytes(o, hdr, sizeof(hdr));
        s = 0;
        for (uint32_t j = start; j < end; j++) {
                const struct wpair *p = &w->pairs[w->xrefs[j]];
                if ((p->flags & WPAIR_SHARED) && s < CFS_XATTR_SHARED_MAX_PER_INODE) {
                        uint8_t id[4];
                        cfs_put_le32(id, p->val);
                        w_out_bytes(o, id, sizeof(id));
                        s++;
                }
        }
        s = 0;
        for (uint32_t j = start; j < end; j++) {
                const struct wpair *p = &w->pairs[w->xrefs[j]];
                if ((p->flags & WPAIR_SHARED) && s < CFS_XATTR_SHARED_MAX_PER_INODE)
                        s++;
                else
                        emit_entry(w, o, p);
        }
}

/* ---- the shared table (§11.4) ---- */

/* Descending by full name, then value length, then value bytes. */
static int shared_cmp(const void *a, const void *b, void *userdata)
{
        const struct cfs_writer *w = userdata;
        const struct wpair *x = &w->pairs[*(const uint32_t *)a];
        const struct wpair *y = &w->pairs[*(const uint32_t *)b];
        char bx[W_NAME_BUF], by[W_NAME_BUF];
        const char *nx, *ny;
        size_t lx, ly;
        struct bstr2 vx, vy;

        w_pair_name(w, x, bx, &nx, &lx);
        w_pair_name(w, y, by, &ny, &ly);
        int r = cfs_name_cmp(nx, lx, ny, ly);
        if (r != 0)
                return -r;
        w_pair_value(w, x, &vx);
        w_pair_value(w, y, &vy);
        if (bstr2_len(&vx) != bstr2_len(&vy))
                return bstr2_len(&vx) > bstr2_len(&vy) ? -1 : 1;
        r = bstr2_cmp(&vx, &vy);
        if (r != 0)
                return -r;
        /* unreachable: pairs are unique by content (see top of file) */
        return x->kind != y->kind ? (x->kind < y->kind ? -1 : 1)
                                  : (x->ref < y->ref ? -1 : x->ref > y->ref);
}

int w_shared_table(struct cfs_writer *w)
{
        uint32_t n = 0;
        for (uint32_t k = 0; k < w->n_pairs; k++)
                n += (w->pairs[k].flags & WPAIR_SHARED) != 0;
        w->shared = malloc(((size_t)n + 1) * sizeof(*w->shared));
        if (!w->shared)
                return -ENOMEM;
        n = 0;
        for (uint32_t k = 0; k < w->n_pairs; k++)
                if (w->pairs[k].flags & WPAIR_SHARED)
                        w->shared[n++] = k;
        w->n_shared = n;
        qsort_r(w->shared, n, sizeof(*w->shared), shared_cmp, w);

        uint64_t base = w->inodes_end % CFS_BLOCK_SIZE, off = 0;
        for (uint32_t k = 0; k < n; k++) {
                struct wpair *p = &w->pairs[w->shared[k]];
                if ((base + off) / 4 > UINT32_MAX)
                        return cfs_error_set(w->err, EFBIG,
                                             "cannot write file: File too large (shared xattrs)");
                p->val = (uint32_t)((base + off) / 4);
                off += p->esize;
        }
        w->shared_size = off;
        w->data_start = CFS_ROUND_UP(w->inodes_end + off, CFS_BLOCK_SIZE);
        if (w->data_start / CFS_BLOCK_SIZE + w->total_blocks > UINT32_MAX)
                return cfs_error_set(
                    w->err, EFBIG, "cannot write file: File too large (%llu blocks)",
                    (unsigned long long)(w->data_start / CFS_BLOCK_SIZE + w->total_blocks));
        return 0;
}

void w_emit_shared_table(const struct cfs_writer *w, struct wout *o)
{
        for (uint32_t k = 0; k < w->n_shared; k++)
                emit_entry(w, o, &w->pairs[w->shared[k]]);
}

void w_writer_free_xattrs(struct cfs_writer *w)
{
        free(w->xstart);
        free(w->xrefs);
        free(w->pairs);
        free(w->tree_pair);
        free(w->esc_pair);
        free(w->chash);
        free(w->scratch);
        free(w->shared);
}
