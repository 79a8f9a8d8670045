package main

import (
	"bytes"
	"encoding/xml"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

func TestPlotXMax(t *testing.T) {
	flat := make([]float64, 200)
	ramp := func(settle int, final float64) []float64 {
		c := make([]float64, 200)
		for i := range c {
			c[i] = final * min(1, float64(i+1)/float64(settle+1))
		}
		return c
	}
	tests := []struct {
		name   string
		series [][]float64
		want   float64
	}{
		{"settled at once", [][]float64{ramp(0, 1)}, 3},                         // x 1, +2
		{"settles at index 3", [][]float64{ramp(3, 1)}, 6},                      // x 4, +2
		{"the latest curve counts", [][]float64{ramp(3, 1), ramp(39, 0.5)}, 50}, // x 40, +10
		{"never settles", [][]float64{ramp(199, 1)}, 200},                       // capped at the curve
		{"nothing delivered", [][]float64{flat}, 3},
		{"no curves", nil, 1},
	}
	for _, tt := range tests {
		var series []plotSeries
		for _, c := range tt.series {
			series = append(series, plotSeries{"s", c})
		}
		if got := plotXMax(series); got != tt.want {
			t.Errorf("%s: plotXMax = %v, want %v", tt.name, got, tt.want)
		}
	}
}

func TestTickStep(t *testing.T) {
	for maxV, want := range map[float64]float64{3: 0.5, 6: 1, 8: 1, 10: 2, 50: 10, 70: 10, 200: 50, 0: 1} {
		if got := tickStep(maxV); got != want {
			t.Errorf("tickStep(%v) = %v, want %v", maxV, got, want)
		}
	}
}

func TestWritePlot(t *testing.T) {
	curve := []float64{0.1, 0.5, 1, 1, 1}
	series := []plotSeries{{"chatter", curve}, {`a<b&"c"`, curve}, {"unicast", curve}, {"other", curve}, {"tcp-log", nil}}
	var b bytes.Buffer
	if err := writePlot(&b, "T & <t>", []string{"line 1 <", "line 2 &"}, series); err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff([]string{"chatter", `a<b&"c"`, "unicast", "other", "tcp-log"}, polylines(t, b.Bytes())); diff != "" {
		t.Errorf("polylines (-want +got):\n%s", diff)
	}
	// Every series has its own colour; the texts come back as given.
	var doc struct {
		Lines []struct {
			Stroke string `xml:"stroke,attr"`
		} `xml:"g>polyline"`
		Texts []string `xml:"text"`
	}
	if err := xml.Unmarshal(b.Bytes(), &doc); err != nil {
		t.Fatal(err)
	}
	seen := map[string]bool{}
	for _, l := range doc.Lines {
		if seen[l.Stroke] {
			t.Errorf("colour %s used twice", l.Stroke)
		}
		seen[l.Stroke] = true
	}
	if diff := cmp.Diff([]string{"T & <t>", "line 1 <", "line 2 &"}, doc.Texts); diff != "" {
		t.Errorf("texts (-want +got):\n%s", diff)
	}
	if s := b.String(); !strings.Contains(s, `width="800" height="480"`) {
		t.Error("not 800 × 480")
	}
}
