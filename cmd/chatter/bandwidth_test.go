package main

import "testing"

func TestParseBandwidth(t *testing.T) {
	tests := []struct {
		in   string
		want float64 // bytes per second
	}{
		{"125000000", 125e6},
		{"1e6", 1e6},
		{"1.5", 1.5},
		{"1Gbit", 125e6},
		{"1gbit", 125e6},
		{"1Gbit/s", 125e6},
		{"100Mbit", 12.5e6},
		{"10Mbps", 1.25e6},
		{"1Tbit", 125e9},
		{"8kbit", 1e3},
		{"8bit", 1},
		{"125MB", 125e6},
		{"125 MB", 125e6},
		{"1GB", 1e9},
		{"2KB", 2e3},
		{"10MBps", 10e6},
		{"64KiB", 64 * 1024},
		{"1MiB", 1 << 20},
		{"1Gibit", (1 << 30) / 8},
		{"3B", 3},
		{" 1Gbit ", 125e6},
	}
	for _, tt := range tests {
		got, err := parseBandwidth(tt.in)
		if err != nil || got != tt.want {
			t.Errorf("parseBandwidth(%q) = %v, %v; want %v", tt.in, got, err, tt.want)
		}
	}
	for _, in := range []string{"", "fast", "0", "0Gbit", "-1MB", "1.2.3MB", "1Xbit", "1GHz", "1iB", "1 G", "MB", "1e400", "NaN", "Inf", "0x10"} {
		if got, err := parseBandwidth(in); err == nil {
			t.Errorf("parseBandwidth(%q) = %v, want an error", in, got)
		}
	}
}

func TestFormatBandwidth(t *testing.T) {
	tests := []struct {
		in   float64
		want string
	}{
		{125e6, "1Gbit/s"},
		{12.5e6, "100Mbit/s"},
		{125e9, "1Tbit/s"},
		{1e3, "8kbit/s"},
		{1, "8bit/s"},
		{1 << 20, "8.389Mbit/s"},
	}
	for _, tt := range tests {
		got := formatBandwidth(tt.in)
		if got != tt.want {
			t.Errorf("formatBandwidth(%v) = %q, want %q", tt.in, got, tt.want)
		}
		// What it prints parses back, near enough.
		if back, err := parseBandwidth(got); err != nil || back < tt.in*0.999 || back > tt.in*1.001 {
			t.Errorf("parseBandwidth(%q) = %v, %v; want about %v", got, back, err, tt.in)
		}
	}
}
