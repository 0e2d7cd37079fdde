/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * object-check.c - every object an image names is present, of the right size
 * and has fs-verity (see object-check.h). Initrd and host.
 *
 * statx() only: opening each object would let the kernel read its fs-verity
 * descriptor, but costs an open per object at boot; the digest itself is
 * compared by overlayfs (verity=require) on every open anyway.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>

#include "macros.h"
#include "object-check.h"

struct walk {
        int store_fd;
        bool require_verity;
        struct cfs_object_check *res;
        struct cfs_error *err;
};

/* "ab/cdef", no leading slash after the one composefs puts there, no "..", no "//". */
static bool payload_ok(const char *p)
{
        if (*p == '\0')
                return false;
        for (const char *c = p; *c;) {
                const char *slash = strchr(c, '/');
                size_t n = slash ? (size_t)(slash - c) : strlen(c);
                if (n == 0 || (n == 1 && c[0] == '.') || (n == 2 && c[0] == '.' && c[1] == '.'))
                        return false;
                c += n + (slash != NULL);
                if (slash && *c == '\0')
                        return false;
        }
        return true;
}

static int node_error(struct walk *w, const struct cfs_node *n, int error, const char *obj,
                      const char *what)
{
        _cleanup_free_ char *path = cfs_node_path(n);
        return cfs_error_set(w->err, error, "%s: object %s %s", path ? path : "?", obj, what);
}

static int check_node(struct cfs_node *n, void *userdata)
{
        struct walk *w = userdata;
        if (cfs_node_is_hardlink(n) || !S_ISREG(n->mode) || !n->payload || n->content)
                return 0;
        const char *obj = n->payload + (n->payload[0] == '/');
        if (!payload_ok(obj))
                return node_error(w, n, EUCLEAN, obj, "is not a path inside the object store");
        struct statx stx;
        if (statx(w->store_fd, obj, AT_SYMLINK_NOFOLLOW | AT_NO_AUTOMOUNT, STATX_TYPE | STATX_SIZE,
                  &stx) < 0) {
                int e = errno;
                return node_error(w, n, e, obj,
                                  e == ENOENT ? "is missing from the store" : strerror(e));
        }
        w->res->objects++;
        if (!S_ISREG(stx.stx_mode))
                return node_error(w, n, EUCLEAN, obj, "is not a regular file");
        if (stx.stx_size != n->size) {
                char what[96];
                snprintf(what, sizeof(what), "has %llu bytes, the image says %llu",
                         (unsigned long long)stx.stx_size, (unsigned long long)n->size);
                return node_error(w, n, EUCLEAN, obj, what);
        }
        bool verity = (stx.stx_attributes_mask & STATX_ATTR_VERITY) &&
                      (stx.stx_attributes & STATX_ATTR_VERITY);
        if (!verity) {
                w->res->without_verity++;
                if (w->require_verity)
                        return node_error(w, n, ENODATA, obj,
                                          "has no fs-verity (the store's file system or kernel "
                                          "lacks it, or it was copied without it)");
        }
        return 0;
}

int cfs_object_check(int store_fd, const struct cfs_tree *t, bool require_verity,
                     struct cfs_object_check *ret, struct cfs_error *err)
{
        struct cfs_object_check res = {};
        struct walk w = {
            .store_fd = store_fd, .require_verity = require_verity, .res = &res, .err = err};
        int r = cfs_tree_walk((struct cfs_tree *)t, check_node, &w);
        if (ret)
                *ret = res;
        return r;
}
