#pragma once
// CRC32C (Castagnoli), which RecordBatch v2 uses, and CRC32 (IEEE), which the
// legacy message formats use.
#include <cstddef>
#include <cstdint>
#include <span>

namespace chronik::record {

// Uses the SSE4.2 crc32 instruction when the CPU has it, else a table.
uint32_t crc32c(std::span<const uint8_t> data, uint32_t crc = 0) noexcept;
// The two implementations, for tests and benchmarks.
uint32_t crc32c_table(std::span<const uint8_t> data, uint32_t crc = 0) noexcept;
uint32_t crc32c_hardware(std::span<const uint8_t> data, uint32_t crc = 0) noexcept;
bool crc32c_hardware_available() noexcept;

uint32_t crc32_ieee(std::span<const uint8_t> data) noexcept;

} // namespace chronik::record
