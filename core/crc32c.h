/*
 * crc32c: the CRC-32C (Castagnoli) checksum that guards every page file on disk
 * (core/page_store/page_file.h). Chosen over xxhash because it is a standard with a published
 * check value (crc32c("123456789") = 0xE3069283, as in RFC 3720 appendix B.4 / iSCSI), and
 * because x86-64 has had an instruction for it since SSE4.2 (2008): a 1 MiB page costs about
 * 0.1 ms there, short enough to checksum on an event loop.
 */
#ifndef CORE_CRC32C_H
#define CORE_CRC32C_H

#include <stddef.h>
#include <stdint.h>

/* CRC-32C of len bytes, continuing from crc (0 to start): crc32c(crc32c(0, a), b) equals the
 * CRC of a followed by b. Uses the SSE4.2 instruction when the CPU has it (checked once, at
 * the first call), else a table-driven slicing-by-8 loop. Thread-safe; never fails. */
uint32_t crc32c(uint32_t crc, const void *data, size_t len);

/* The portable slicing-by-8 path alone (for tests and benchmarks comparing the two). */
uint32_t crc32c_sw(uint32_t crc, const void *data, size_t len);

#endif
