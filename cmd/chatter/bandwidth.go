package main

import (
	"errors"
	"math"
	"strconv"
	"strings"
)

// parseBandwidth parses a rate in bytes per second: a plain number of bytes
// per second ("125000000"), or a number with a unit, decimal or binary, in
// bits ("1Gbit", "100Mbit", "10Mbps", "1Gbit/s") or bytes ("125MB",
// "64KiB", "10MBps"). The unit's SI prefix may be in either case; B means
// bytes and bit or bps bits.
func parseBandwidth(s string) (float64, error) {
	bad := func() (float64, error) {
		return 0, errors.New("want bytes per second, or a number with a unit such as 1Gbit, 100Mbit, 125MB")
	}
	t := strings.TrimSpace(s)
	t = strings.TrimSuffix(t, "/s")
	i := numberPrefix(t)
	if i == 0 {
		return bad()
	}
	v, err := strconv.ParseFloat(t[:i], 64)
	if err != nil {
		return bad()
	}
	unit := strings.TrimSpace(t[i:])
	perUnit := 1.0 // bytes per unit
	var prefix string
	switch lower := strings.ToLower(unit); {
	case unit == "":
	case strings.HasSuffix(unit, "Bps"):
		prefix = unit[:len(unit)-3]
	case strings.HasSuffix(lower, "bit"), strings.HasSuffix(lower, "bps"):
		prefix, perUnit = unit[:len(unit)-3], 1.0/8
	case strings.HasSuffix(unit, "B"):
		prefix = unit[:len(unit)-1]
	default:
		return bad()
	}
	base := 1000.0
	if p, ok := strings.CutSuffix(prefix, "i"); ok && p != "" {
		prefix, base = p, 1024
	}
	switch strings.ToLower(prefix) {
	case "":
		if base == 1024 {
			return bad()
		}
	case "k":
		perUnit *= base
	case "m":
		perUnit *= base * base
	case "g":
		perUnit *= base * base * base
	case "t":
		perUnit *= base * base * base * base
	default:
		return bad()
	}
	b := v * perUnit
	if math.IsNaN(b) || math.IsInf(b, 0) || b <= 0 {
		return 0, errors.New("must be positive")
	}
	return b, nil
}

// numberPrefix returns the length of the decimal number that s starts
// with: digits, a point, and an exponent only when digits follow its e.
func numberPrefix(s string) int {
	i := 0
	digits := func() {
		for i < len(s) && (s[i] >= '0' && s[i] <= '9' || s[i] == '.') {
			i++
		}
	}
	digits()
	if i == 0 {
		return 0
	}
	if i < len(s) && (s[i] == 'e' || s[i] == 'E') {
		j := i + 1
		if j < len(s) && (s[j] == '+' || s[j] == '-') {
			j++
		}
		if j < len(s) && s[j] >= '0' && s[j] <= '9' {
			i = j
			digits()
		}
	}
	return i
}

// formatBandwidth formats bytes per second in bits per second with an SI
// prefix, as people write link speeds: 125e6 is "1Gbit/s".
func formatBandwidth(bytesPerSec float64) string {
	bits := bytesPerSec * 8
	for _, u := range []struct {
		name string
		v    float64
	}{{"T", 1e12}, {"G", 1e9}, {"M", 1e6}, {"k", 1e3}} {
		if bits >= u.v {
			return strconv.FormatFloat(bits/u.v, 'g', 4, 64) + u.name + "bit/s"
		}
	}
	return strconv.FormatFloat(bits, 'g', 4, 64) + "bit/s"
}

// bandwidthFlag is a flag.Value holding bytes per second.
type bandwidthFlag struct{ bytesPerSec float64 }

func (f *bandwidthFlag) String() string {
	if f == nil || f.bytesPerSec == 0 {
		return ""
	}
	return formatBandwidth(f.bytesPerSec)
}

func (f *bandwidthFlag) Set(s string) error {
	v, err := parseBandwidth(s)
	if err != nil {
		return err
	}
	f.bytesPerSec = v
	return nil
}
