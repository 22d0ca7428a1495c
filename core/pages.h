/*
 * pages: page arithmetic. Page i of an object of size S with page size P covers
 * [i*P, min((i+1)*P, S)); the last page is short, a 0-byte object has no pages.
 */
#ifndef CORE_PAGES_H
#define CORE_PAGES_H

#include <stdint.h>

static inline uint64_t pages_count(uint64_t size, uint64_t page_size)
{
    return size / page_size + (size % page_size != 0);
}

static inline uint64_t pages_index(uint64_t offset, uint64_t page_size)
{
    return offset / page_size;
}

static inline uint64_t pages_offset(uint64_t index, uint64_t page_size)
{
    return index * page_size;
}

/* Length page index must have; 0 when the index is past the end. */
static inline uint64_t pages_length(uint64_t size, uint64_t page_size, uint64_t index)
{
    uint64_t start = index * page_size;
    if (start >= size)
        return 0;
    return size - start < page_size ? size - start : page_size;
}

#endif
