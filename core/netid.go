package core

import (
	"cmp"
	"encoding/binary"
	"errors"
	"fmt"
	"net/netip"
	"slices"
)

// ErrInvalidNetID reports an address and port that cannot name a node: an
// invalid or unspecified address, a zoned IPv6 address, or port 0.
var ErrInvalidNetID = errors.New("core: invalid NetID")

// NetID names a node: the IP address and port of its TCP listener. It is the
// node's identity on the wire and in every list the protocol carries.
//
// NetID is a small comparable value that speaks [net/netip]: it is made from
// a [netip.Addr] and a port and gives them back. IPv4-mapped IPv6 addresses
// are stored as IPv4 and zones are refused, so two NetIDs that name the same
// listener are equal with ==. The zero NetID is invalid; [NetID.IsValid]
// tells it apart.
//
// The address is held as two integers rather than a netip.Addr, so that
// comparing and hashing NetIDs, which every frame's NetID table does many
// times, costs a few integer operations and no pointer. The family and port
// share a third: three words, each of which the compiler loads from a table
// entry and compares in one instruction (a narrower field of a 24-byte
// element takes three).
type NetID struct {
	hi, lo uint64 // the address as 16 bytes, big-endian; IPv4 in lo's low 32 bits
	fp     uint64 // family<<16 | port; the family is 0 (invalid), FamilyIPv4 or FamilyIPv6
}

// famPort returns the fp word of a NetID of family fam and port port.
func famPort(fam byte, port uint16) uint64 { return uint64(fam)<<16 | uint64(port) }

// fam returns id's family: 0 (invalid), FamilyIPv4 or FamilyIPv6.
func (id NetID) fam() byte { return byte(id.fp >> 16) }

// NetIDFrom returns the NetID of addr and port. It returns ErrInvalidNetID for
// an invalid or unspecified address, an IPv6 address with a zone, or port 0.
func NetIDFrom(addr netip.Addr, port uint16) (NetID, error) {
	addr = addr.Unmap()
	switch {
	case !addr.IsValid():
		return NetID{}, fmt.Errorf("%w: no address", ErrInvalidNetID)
	case addr.IsUnspecified():
		return NetID{}, fmt.Errorf("%w: unspecified address %s", ErrInvalidNetID, addr)
	case addr.Zone() != "":
		return NetID{}, fmt.Errorf("%w: zoned address %s", ErrInvalidNetID, addr)
	case port == 0:
		return NetID{}, fmt.Errorf("%w: port 0", ErrInvalidNetID)
	}
	if addr.Is4() {
		return NetIDFrom4(addr.As4(), port), nil
	}
	a := addr.As16()
	return NetID{hi: binary.BigEndian.Uint64(a[:8]), lo: binary.BigEndian.Uint64(a[8:]), fp: famPort(FamilyIPv6, port)}, nil
}

// NetIDFrom4 returns the NetID of an IPv4 address and a port, or the zero
// (invalid) NetID for 0.0.0.0 or port 0. It is NetIDFrom for decoders'
// inner loops, with no error to build.
func NetIDFrom4(addr [4]byte, port uint16) NetID {
	a := binary.BigEndian.Uint32(addr[:])
	if a == 0 || port == 0 {
		return NetID{}
	}
	return NetID{lo: uint64(a), fp: famPort(FamilyIPv4, port)}
}

// NetIDFromAddrPort is NetIDFrom(ap.Addr(), ap.Port()).
func NetIDFromAddrPort(ap netip.AddrPort) (NetID, error) {
	return NetIDFrom(ap.Addr(), ap.Port())
}

// ParseNetID parses "ip:port" or "[ipv6]:port".
func ParseNetID(s string) (NetID, error) {
	ap, err := netip.ParseAddrPort(s)
	if err != nil {
		return NetID{}, fmt.Errorf("%w: %w", ErrInvalidNetID, err)
	}
	return NetIDFromAddrPort(ap)
}

// MustParseNetID is ParseNetID for constants in tests and examples; it panics
// on error.
func MustParseNetID(s string) NetID {
	id, err := ParseNetID(s)
	if err != nil {
		panic(err)
	}
	return id
}

// IsValid reports whether id names a node (the zero NetID does not).
func (id NetID) IsValid() bool { return id.fam() != 0 }

// Addr returns the node's IP address.
func (id NetID) Addr() netip.Addr {
	switch id.fam() {
	case FamilyIPv4:
		var a [4]byte
		binary.BigEndian.PutUint32(a[:], uint32(id.lo))
		return netip.AddrFrom4(a)
	case FamilyIPv6:
		var a [16]byte
		binary.BigEndian.PutUint64(a[:8], id.hi)
		binary.BigEndian.PutUint64(a[8:], id.lo)
		return netip.AddrFrom16(a)
	}
	return netip.Addr{}
}

// As4 returns the IPv4 address of id and true, or false when id has no IPv4
// address (an IPv6 or the zero NetID). It is Addr().As4() without building a
// [netip.Addr]: encoders call it for every entry of a table.
func (id NetID) As4() (a [4]byte, ok bool) {
	if id.fam() != FamilyIPv4 {
		return a, false
	}
	binary.BigEndian.PutUint32(a[:], uint32(id.lo))
	return a, true
}

// Port returns the node's TCP port.
func (id NetID) Port() uint16 { return uint16(id.fp) }

// AddrPort returns id as a [netip.AddrPort].
func (id NetID) AddrPort() netip.AddrPort {
	if !id.IsValid() {
		return netip.AddrPort{}
	}
	return netip.AddrPortFrom(id.Addr(), id.Port())
}

// Is4 reports whether id has an IPv4 address.
func (id NetID) Is4() bool { return id.fam() == FamilyIPv4 }

// String returns "ip:port", or "[ipv6]:port", or "invalid NetID".
func (id NetID) String() string {
	if !id.IsValid() {
		return "invalid NetID"
	}
	return id.AddrPort().String()
}

// Compare orders NetIDs: IPv4 before IPv6, then by address, then by port.
// It returns -1, 0 or +1. This is the order of a [NetIDTable].
func (id NetID) Compare(other NetID) int {
	if c := cmp.Compare(id.fam(), other.fam()); c != 0 {
		return c
	}
	if c := cmp.Compare(id.hi, other.hi); c != 0 {
		return c
	}
	if c := cmp.Compare(id.lo, other.lo); c != 0 {
		return c
	}
	return cmp.Compare(id.fp, other.fp) // the same family: by port
}

// Equal reports whether id and other are the same NetID, as == does; it
// lets go-cmp compare NetIDs.
func (id NetID) Equal(other NetID) bool { return id == other }

// SortNetIDs sorts ids by [NetID.Compare]. keys is scratch it may grow,
// returned for the next call. IPv4 NetIDs, the common case, sort as
// numbers (address, family and port in one word, as NetIDTableFromSorted
// reads them), several times faster than through a comparison function; a
// slice holding any other family is sorted the general way.
func SortNetIDs(ids []NetID, keys []uint64) []uint64 {
	keys = keys[:0]
	for _, id := range ids {
		if id.fam() != FamilyIPv4 {
			slices.SortFunc(ids, NetID.Compare)
			return keys
		}
		keys = append(keys, id.lo<<24|id.fp)
	}
	slices.Sort(keys)
	for i, k := range keys {
		ids[i] = NetID{lo: k >> 24, fp: k & (1<<24 - 1)}
	}
	return keys
}

// less reports whether id sorts before other, as Compare does.
func (id NetID) less(other NetID) bool {
	if id.fp>>16 != other.fp>>16 { // the families
		return id.fp < other.fp
	}
	if id.hi != other.hi {
		return id.hi < other.hi
	}
	if id.lo != other.lo {
		return id.lo < other.lo
	}
	return id.fp < other.fp // the same family: by port
}

// MarshalText implements [encoding.TextMarshaler].
func (id NetID) MarshalText() ([]byte, error) {
	if !id.IsValid() {
		return []byte{}, nil
	}
	return id.AddrPort().MarshalText()
}

// UnmarshalText implements [encoding.TextUnmarshaler]; empty text gives the
// zero NetID.
func (id *NetID) UnmarshalText(text []byte) error {
	if len(text) == 0 {
		*id = NetID{}
		return nil
	}
	parsed, err := ParseNetID(string(text))
	if err != nil {
		return err
	}
	*id = parsed
	return nil
}

// Wire families of a NetID, the first byte of its binary form.
const (
	FamilyIPv4 byte = 4
	FamilyIPv6 byte = 6
)

// BinaryLen returns the length of id's binary form: 7 bytes for IPv4, 19 for
// IPv6.
func (id NetID) BinaryLen() int {
	if id.Is4() {
		return 1 + 4 + 2
	}
	return 1 + 16 + 2
}

// AppendBinary appends id's binary form to dst: the family (FamilyIPv4 or
// FamilyIPv6), the address bytes and the port, big-endian. This is how a
// frame header names its sender and how key derivation names a node. It
// implements [encoding.BinaryAppender]; the zero NetID is an error.
func (id NetID) AppendBinary(dst []byte) ([]byte, error) {
	if !id.IsValid() {
		return dst, fmt.Errorf("%w: zero NetID", ErrInvalidNetID)
	}
	dst = append(dst, id.fam())
	if id.fam() == FamilyIPv4 {
		dst = binary.BigEndian.AppendUint32(dst, uint32(id.lo))
	} else {
		dst = binary.BigEndian.AppendUint64(dst, id.hi)
		dst = binary.BigEndian.AppendUint64(dst, id.lo)
	}
	return binary.BigEndian.AppendUint16(dst, id.Port()), nil
}
