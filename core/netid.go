package core

import (
	"cmp"
	"encoding/binary"
	"errors"
	"fmt"
	"net/netip"
)

// ErrInvalidNetID reports an address and port that cannot name a node: an
// invalid or unspecified address, a zoned IPv6 address, or port 0.
var ErrInvalidNetID = errors.New("core: invalid NetID")

// NetID names a node: the IP address and port of its TCP listener. It is the
// node's identity on the wire and in every list the protocol carries.
//
// NetID is a comparable value built on [netip.AddrPort]. IPv4-mapped IPv6
// addresses are stored as IPv4 and zones are refused, so two NetIDs that name
// the same listener are equal with ==. The zero NetID is invalid; [NetID.IsValid]
// tells it apart.
type NetID struct {
	ap netip.AddrPort
}

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
	return NetID{ap: netip.AddrPortFrom(addr, port)}, nil
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
func (id NetID) IsValid() bool { return id.ap.IsValid() }

// Addr returns the node's IP address.
func (id NetID) Addr() netip.Addr { return id.ap.Addr() }

// Port returns the node's TCP port.
func (id NetID) Port() uint16 { return id.ap.Port() }

// AddrPort returns id as a [netip.AddrPort].
func (id NetID) AddrPort() netip.AddrPort { return id.ap }

// Is4 reports whether id has an IPv4 address.
func (id NetID) Is4() bool { return id.ap.Addr().Is4() }

// String returns "ip:port", or "[ipv6]:port", or "invalid NetID".
func (id NetID) String() string {
	if !id.IsValid() {
		return "invalid NetID"
	}
	return id.ap.String()
}

// Compare orders NetIDs: IPv4 before IPv6, then by address, then by port.
// It returns -1, 0 or +1. This is the order of a [NetIDTable].
func (id NetID) Compare(other NetID) int {
	if c := id.ap.Addr().Compare(other.ap.Addr()); c != 0 {
		return c
	}
	return cmp.Compare(id.ap.Port(), other.ap.Port())
}

// MarshalText implements [encoding.TextMarshaler].
func (id NetID) MarshalText() ([]byte, error) {
	if !id.IsValid() {
		return []byte{}, nil
	}
	return id.ap.MarshalText()
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
	if id.Is4() {
		a := id.Addr().As4()
		dst = append(dst, FamilyIPv4)
		dst = append(dst, a[:]...)
	} else {
		a := id.Addr().As16()
		dst = append(dst, FamilyIPv6)
		dst = append(dst, a[:]...)
	}
	return binary.BigEndian.AppendUint16(dst, id.Port()), nil
}
