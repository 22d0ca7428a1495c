/*
 * disk_dirs: the disk page store's directories and capacities from Alluxio's two parallel
 * lists, options.alluxio.worker.page.store.dirs ("d1,d2") and .sizes ("64GB,64GB", or one size
 * for every dir). Kept apart from config.c's key table: it is a cross-key rule with its own
 * parsing, used by config_validate and by server/main.c when it opens the store.
 */
#include "config.h"

#include "config_keys.h"
#include "units.h"

#include <string.h>

int config_disk_dirs(const struct config *c, struct config_disk_dir *out, char *err,
                     size_t err_size)
{
    const char *dirs = c->page_store_dirs, *sizes = c->page_store_sizes;
    if (!dirs || !dirs[0]) {
        config__errf(err, err_size,
                     "config: options.alluxio.worker.page.store.dirs: required when "
                     "options.alluxio.worker.page.store.type is LOCAL");
        return -1;
    }
    if (!sizes || !sizes[0]) {
        config__errf(err, err_size,
                     "config: options.alluxio.worker.page.store.sizes: required when "
                     "options.alluxio.worker.page.store.type is LOCAL (one size, or one per dir)");
        return -1;
    }
    size_t n = 0;
    for (const char *p = dirs; *p;) {
        const char *end = strchr(p, ',');
        size_t len = end ? (size_t)(end - p) : strlen(p);
        if (len == 0 || len >= sizeof(out[0].path)) {
            config__errf(err, err_size,
                         "config: options.alluxio.worker.page.store.dirs: empty or too long entry");
            return -1;
        }
        if (n == CONFIG_MAX_DISK_DIRS) {
            config__errf(err, err_size,
                         "config: options.alluxio.worker.page.store.dirs: more than %d dirs",
                         CONFIG_MAX_DISK_DIRS);
            return -1;
        }
        memcpy(out[n].path, p, len);
        out[n].path[len] = '\0';
        n++;
        p += len + (end ? 1 : 0);
    }
    size_t m = 0;
    for (const char *p = sizes; *p;) {
        const char *end = strchr(p, ',');
        size_t len = end ? (size_t)(end - p) : strlen(p);
        char one[64];
        uint64_t v;
        if (len == 0 || len >= sizeof(one) || m == n) {
            config__errf(err, err_size,
                         "config: options.alluxio.worker.page.store.sizes: expected one size, or "
                         "one per dir (%zu dirs)",
                         n);
            return -1;
        }
        memcpy(one, p, len);
        one[len] = '\0';
        if (units_parse_size(one, &v) != 0 || v < c->page_size) {
            config__errf(err, err_size,
                         "config: options.alluxio.worker.page.store.sizes: '%.32s' is not a size "
                         "that holds a page",
                         one);
            return -1;
        }
        out[m++].capacity = v;
        p += len + (end ? 1 : 0);
    }
    if (m == 1)
        for (size_t i = 1; i < n; i++)
            out[i].capacity = out[0].capacity;
    else if (m != n) {
        config__errf(err, err_size,
                     "config: options.alluxio.worker.page.store.sizes: %zu sizes for %zu dirs", m,
                     n);
        return -1;
    }
    return (int)n;
}
