// CRC-32C (Castagnoli), the checksum of every durable record minga writes.
#pragma once

#include <cstdint>
#include <string_view>

namespace minga {

// Extends `crc` (0 to start) with `data`.
std::uint32_t crc32c(std::string_view data, std::uint32_t crc = 0);

}  // namespace minga
