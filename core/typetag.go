package core

import "hash/crc32"

// TypeTag identifies a payload type on the wire: the CRC-32 (IEEE) checksum of
// the type's registered name. Two names with the same tag cannot both be
// registered on one node.
type TypeTag uint32

// TagOf returns the TypeTag of a payload type name.
func TagOf(name string) TypeTag { return TypeTag(crc32.ChecksumIEEE([]byte(name))) }
