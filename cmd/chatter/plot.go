package main

import (
	"bufio"
	"encoding/xml"
	"fmt"
	"io"
	"math"
	"slices"
	"strconv"
	"strings"

	"github.com/chatter-go/chatter/internal/sim"
)

// plotSeries is one curve of a plot: the fraction of live destinations
// reached by the end of each millisecond (index 0 is the first).
type plotSeries struct {
	name  string
	curve []float64
}

// writeSimPlot writes the warm phase's delivery curves of results as SVG.
func writeSimPlot(w io.Writer, p sim.Params, results []sim.Result) error {
	var series []plotSeries
	for _, r := range results {
		if r.Phase == "warm" {
			series = append(series, plotSeries{r.Strategy, r.Curve})
		}
	}
	return writePlot(w, "Delivery over time, warm phase", paramsLines(p), series)
}

// strategyStyle returns the colour (Okabe–Ito, distinct for most colour
// vision) and dash pattern of a strategy core knows.
func strategyStyle(name string) (colour, dash string, ok bool) {
	switch name {
	case "unicast":
		return "#0072B2", "7 4", true
	case "tcp-log":
		return "#009E73", "2 3", true
	case "gossip":
		return "#CC79A7", "9 3 2 3", true
	case "classic":
		return "#E69F00", "14 4", true
	case "chatter":
		return "#D55E00", "", true
	}
	return "", "", false
}

// styles returns a colour and a dash pattern for each series: a known
// strategy's own, else the next colour no known strategy in the plot uses.
func styles(series []plotSeries) (colours, dashes []string) {
	used := map[string]bool{}
	for _, s := range series {
		if c, _, ok := strategyStyle(s.name); ok {
			used[c] = true
		}
	}
	free := slices.DeleteFunc([]string{"#56B4E9", "#000000", "#999999", "#882255", "#44AA99", "#F0E442", "#0072B2", "#009E73", "#CC79A7", "#E69F00", "#D55E00"},
		func(c string) bool { return used[c] })
	n := 0
	for _, s := range series {
		c, d, ok := strategyStyle(s.name)
		if !ok {
			c = free[n%len(free)]
			n++
		}
		colours = append(colours, c)
		dashes = append(dashes, d)
	}
	return colours, dashes
}

// plotXMax returns the end of the x axis, in ms: past the last millisecond
// at which any curve is still below its final value, plus a margin, at most
// the curves' length. Point i of a curve is drawn at x = i+1.
func plotXMax(series []plotSeries) float64 {
	settled, length := 1, 1
	for _, s := range series {
		length = max(length, len(s.curve))
		if len(s.curve) == 0 {
			continue
		}
		final := s.curve[len(s.curve)-1]
		for i := len(s.curve) - 1; i >= 0; i-- {
			if s.curve[i] < final-1e-9 {
				settled = max(settled, i+2) // point i+1 is final
				break
			}
		}
	}
	x := float64(settled) + math.Max(2, float64(settled)/4)
	x = math.Ceil(x/tickStep(x)) * tickStep(x)
	return math.Min(x, float64(length))
}

// tickStep returns a round step (1, 2 or 5 times a power of ten) that cuts
// 0..max into at most about 8 intervals.
func tickStep(maxV float64) float64 {
	if maxV <= 0 {
		return 1
	}
	raw := maxV / 8
	mag := math.Pow(10, math.Floor(math.Log10(raw)))
	for _, m := range []float64{1, 2, 5, 10} {
		if m*mag >= raw {
			return m * mag
		}
	}
	return 10 * mag
}

func esc(s string) string {
	var b strings.Builder
	xml.EscapeText(&b, []byte(s)) // never fails writing to a Builder
	return b.String()
}

func num(f float64) string { return strconv.FormatFloat(f, 'f', -1, 64) }

// writePlot writes one polyline per series, y from 0 to 1 against ms, as
// a self-contained SVG document.
func writePlot(w io.Writer, title string, subtitle []string, series []plotSeries) error {
	const (
		width, height    = 800, 480
		left, right      = 72.0, 640.0 // plot area
		top, bottom      = 76.0, 420.0
		legendX, legendY = 662.0, 88.0
	)
	xMax := plotXMax(series)
	sx := func(ms float64) float64 { return math.Round((left+ms/xMax*(right-left))*10) / 10 }
	sy := func(f float64) float64 { return math.Round((bottom-f*(bottom-top))*10) / 10 }

	bw := bufio.NewWriter(w)
	pf := func(format string, a ...any) { fmt.Fprintf(bw, format, a...) }
	pf(`<?xml version="1.0" encoding="UTF-8"?>` + "\n")
	pf(`<svg xmlns="http://www.w3.org/2000/svg" width="%d" height="%d" viewBox="0 0 %d %d" font-family="Helvetica, Arial, sans-serif" font-size="12">`+"\n", width, height, width, height)
	pf("<title>%s</title>\n", esc(strings.Join(append([]string{title}, subtitle...), "; ")))
	pf(`<rect width="100%%" height="100%%" fill="#ffffff"/>` + "\n")
	pf(`<text x="%d" y="24" font-size="16" font-weight="bold" fill="#222222">%s</text>`+"\n", int(left), esc(title))
	for i, line := range subtitle {
		pf(`<text x="%d" y="%d" font-size="11" fill="#555555">%s</text>`+"\n", int(left), 42+i*15, esc(line))
	}

	// Grid, ticks and their labels.
	pf(`<g stroke="#e4e4e4" stroke-width="1">` + "\n")
	step := tickStep(xMax)
	var xTicks []float64
	for i := 0; ; i++ {
		t := float64(i) * step
		if t > xMax+step/1e6 {
			break
		}
		xTicks = append(xTicks, t)
		pf(`<line x1="%s" y1="%s" x2="%s" y2="%s"/>`+"\n", num(sx(t)), num(top), num(sx(t)), num(bottom))
	}
	var yTicks []float64
	for i := 0; i <= 5; i++ {
		f := float64(i) / 5
		yTicks = append(yTicks, f)
		pf(`<line x1="%s" y1="%s" x2="%s" y2="%s"/>`+"\n", num(left), num(sy(f)), num(right), num(sy(f)))
	}
	pf("</g>\n")
	pf(`<g stroke="#333333" stroke-width="1">` + "\n")
	pf(`<line x1="%s" y1="%s" x2="%s" y2="%s"/>`+"\n", num(left), num(bottom), num(right), num(bottom))
	pf(`<line x1="%s" y1="%s" x2="%s" y2="%s"/>`+"\n", num(left), num(top), num(left), num(bottom))
	for _, t := range xTicks {
		pf(`<line x1="%s" y1="%s" x2="%s" y2="%s"/>`+"\n", num(sx(t)), num(bottom), num(sx(t)), num(bottom+5))
	}
	for _, f := range yTicks {
		pf(`<line x1="%s" y1="%s" x2="%s" y2="%s"/>`+"\n", num(left-5), num(sy(f)), num(left), num(sy(f)))
	}
	pf("</g>\n")
	pf(`<g fill="#333333">` + "\n")
	for _, t := range xTicks {
		pf(`<text x="%s" y="%s" text-anchor="middle">%s</text>`+"\n", num(sx(t)), num(bottom+19), esc(strconv.FormatFloat(t, 'g', 6, 64)))
	}
	for _, f := range yTicks {
		pf(`<text x="%s" y="%s" text-anchor="end">%.1f</text>`+"\n", num(left-9), num(sy(f)+4), f)
	}
	pf(`<text x="%s" y="%s" text-anchor="middle">ms after the broadcast starts</text>`+"\n", num((left+right)/2), num(bottom+44))
	pf(`<text transform="translate(%s %s) rotate(-90)" text-anchor="middle">fraction of live destinations reached</text>`+"\n", num(left-44), num((top+bottom)/2))
	pf("</g>\n")

	// Curves, then the legend.
	colours, dashes := styles(series)
	pf(`<g fill="none" stroke-width="2" stroke-linejoin="round">` + "\n")
	for i, s := range series {
		var pts strings.Builder
		fmt.Fprintf(&pts, "%s,%s", num(sx(0)), num(sy(0)))
		for k, f := range s.curve {
			if float64(k+1) > xMax {
				break
			}
			fmt.Fprintf(&pts, " %s,%s", num(sx(float64(k+1))), num(sy(math.Max(0, math.Min(1, f)))))
		}
		dash := ""
		if dashes[i] != "" {
			dash = fmt.Sprintf(` stroke-dasharray="%s"`, dashes[i])
		}
		pf(`<polyline data-strategy="%s" stroke="%s"%s points="%s"/>`+"\n", esc(s.name), colours[i], dash, pts.String())
	}
	pf("</g>\n")
	pf(`<g font-size="12" fill="#222222">` + "\n")
	for i, s := range series {
		y := legendY + float64(i)*22
		dash := ""
		if dashes[i] != "" {
			dash = fmt.Sprintf(` stroke-dasharray="%s"`, dashes[i])
		}
		pf(`<line x1="%s" y1="%s" x2="%s" y2="%s" stroke="%s" stroke-width="2"%s/>`+"\n", num(legendX), num(y), num(legendX+28), num(y), colours[i], dash)
		pf(`<text x="%s" y="%s">%s</text>`+"\n", num(legendX+36), num(y+4), esc(s.name))
	}
	pf("</g>\n</svg>\n")
	return bw.Flush()
}
