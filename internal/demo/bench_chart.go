package main

import (
	"fmt"
	"image"
	"image/color"
	"image/draw"
	"image/png"
	"math"
	"os"
)

// Chart geometry, in pixels.
const (
	chartW, chartH = 960, 480
	chartLeft      = 70  // room for the y axis labels
	chartRight     = 30  // right margin
	chartTop       = 70  // title and legend
	chartBottom    = 50  // group labels
	textScale      = 2   // font pixel size
	barW           = 40  // width of one bar
	barGap         = 6   // between the two bars of a group
	minAxisTop     = 1.5 // the y axis reaches at least this ratio
)

// chartTitle says what the bars are: each row's ratio to its base row (rowSpec.base), the
// median of the runs. It fits between chartLeft and chartRight.
const chartTitle = "RATIO TO FORWARDING (FTPS: TO FTPS FORWARDED, SHA256/OBSERVE/ICAP: TO PROXIED, NFQUEUE: TO KERNEL), MEDIAN"

// Chart colours.
var (
	colBackground = color.RGBA{255, 255, 255, 255}
	colAxis       = color.RGBA{40, 40, 40, 255}
	colGrid       = color.RGBA{225, 225, 225, 255}
	colReference  = color.RGBA{200, 30, 30, 255}
	colRETR       = color.RGBA{50, 110, 190, 255}
	colSTOR       = color.RGBA{240, 150, 40, 255}
)

// chartGroup is one row's pair of bars: its RETR and STOR ratio to its base row (NaN when
// there is none).
type chartGroup struct {
	label      string
	retr, stor float64
}

// chartGroups picks the rows with a ratio to show: every measured row (not skipped, not
// n/a) but the base rows themselves (their ratio is 1 by definition; the chart draws that as a line).
func chartGroups(res []*rowResult) []chartGroup {
	var out []chartGroup
	for i, r := range res {
		if r.skip || r.na != "" || r.spec.base == rowID(i) {
			continue
		}
		base := res[r.spec.base]
		g := chartGroup{label: r.spec.label, retr: math.NaN(), stor: math.NaN()}
		if x := ratios(r.retr, base.retr); len(x) > 0 {
			g.retr = median(x)
		}
		if x := ratios(r.stor, base.stor); len(x) > 0 {
			g.stor = median(x)
		}
		out = append(out, g)
	}
	return out
}

// drawChart draws the ratio bars: per group a RETR and a STOR bar with its value above, a red
// line at 1.0 (as fast as the base row) behind them, grid lines every 0.25 and labels.
func drawChart(groups []chartGroup) *image.RGBA {
	img := image.NewRGBA(image.Rect(0, 0, chartW, chartH))
	draw.Draw(img, img.Bounds(), &image.Uniform{colBackground}, image.Point{}, draw.Src)
	top := minAxisTop
	for _, g := range groups {
		for _, v := range []float64{g.retr, g.stor} {
			if !math.IsNaN(v) && !math.IsInf(v, 0) {
				top = max(top, math.Ceil(v*2)/2)
			}
		}
	}
	plot := image.Rect(chartLeft, chartTop, chartW-chartRight, chartH-chartBottom)
	y := func(v float64) int { return plot.Max.Y - int(math.Round(v/top*float64(plot.Dy()))) }

	for v := 0.0; v <= top+1e-9; v += 0.25 {
		fill(img, image.Rect(plot.Min.X, y(v), plot.Max.X, y(v)+1), colGrid)
		if math.Mod(v, 0.5) < 1e-9 {
			s := fmt.Sprintf("%.1f", v)
			drawText(img, plot.Min.X-10-textWidth(s, textScale), y(v)-glyphH*textScale/2, s, textScale, colAxis)
		}
	}
	drawText(img, chartLeft, 12, chartTitle, textScale, colAxis)
	legendX := chartW - chartRight - 200
	fill(img, image.Rect(legendX, 40, legendX+14, 54), colRETR)
	drawText(img, legendX+20, 42, "RETR", textScale, colAxis)
	fill(img, image.Rect(legendX+80, 40, legendX+94, 54), colSTOR)
	drawText(img, legendX+100, 42, "STOR", textScale, colAxis)

	fill(img, image.Rect(plot.Min.X, y(1)-1, plot.Max.X, y(1)+1), colReference) // behind the bars
	if n := len(groups); n > 0 {
		slot := plot.Dx() / n
		for i, g := range groups {
			x0 := plot.Min.X + i*slot + (slot-(2*barW+barGap))/2
			for j, b := range []struct {
				v float64
				c color.Color
			}{{g.retr, colRETR}, {g.stor, colSTOR}} {
				if math.IsNaN(b.v) || math.IsInf(b.v, 0) || b.v < 0 {
					continue
				}
				bx := x0 + j*(barW+barGap)
				fill(img, image.Rect(bx, y(b.v), bx+barW, plot.Max.Y), b.c)
				s := fmt.Sprintf("%.2f", b.v)
				tx, ty := bx+(barW-textWidth(s, textScale))/2, y(b.v)-6-glyphH*textScale
				fill(img, image.Rect(tx-2, ty-2, tx+textWidth(s, textScale)+2, ty+glyphH*textScale+2), colBackground)
				drawText(img, tx, ty, s, textScale, colAxis)
			}
			lx := plot.Min.X + i*slot + (slot-textWidth(g.label, textScale))/2
			drawText(img, lx, plot.Max.Y+14, g.label, textScale, colAxis)
		}
	}
	fill(img, image.Rect(plot.Min.X-1, plot.Min.Y, plot.Min.X, plot.Max.Y+1), colAxis)
	fill(img, image.Rect(plot.Min.X-1, plot.Max.Y, plot.Max.X, plot.Max.Y+1), colAxis)
	return img
}

// fill paints r (clipped to img) with c.
func fill(img *image.RGBA, r image.Rectangle, c color.Color) {
	draw.Draw(img, r.Intersect(img.Bounds()), &image.Uniform{c}, image.Point{}, draw.Src)
}

// writeChart draws the chart of groups and writes it to path as a PNG.
func writeChart(path string, groups []chartGroup) (err error) {
	f, err := os.Create(path)
	if err != nil {
		return fmt.Errorf("chart: %w", err)
	}
	defer func() {
		if cerr := f.Close(); cerr != nil && err == nil {
			err = fmt.Errorf("chart: %w", cerr)
		}
	}()
	if err := png.Encode(f, drawChart(groups)); err != nil {
		return fmt.Errorf("chart: encode %s: %w", path, err)
	}
	return nil
}
