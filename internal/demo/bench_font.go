package main

import (
	"image"
	"image/color"
	"strings"
	"unicode"
)

// glyphs is a 3×5 pixel font for the chart's labels: upper-case letters, digits and a few
// signs, each as five rows of three cells ('#' set), top row first. Lower case is drawn as
// upper case; anything else as a blank.
var glyphs = map[rune]string{
	'A': ".#. #.# ### #.# #.#", 'B': "##. #.# ##. #.# ##.", 'C': ".## #.. #.. #.. .##", 'D': "##. #.# #.# #.# ##.",
	'E': "### #.. ##. #.. ###", 'F': "### #.. ##. #.. #..", 'G': ".## #.. #.# #.# .##", 'H': "#.# #.# ### #.# #.#",
	'I': "### .#. .#. .#. ###", 'J': "..# ..# ..# #.# .#.", 'K': "#.# #.# ##. #.# #.#", 'L': "#.. #.. #.. #.. ###",
	'M': "#.# ### ### #.# #.#", 'N': "##. #.# #.# #.# #.#", 'O': ".#. #.# #.# #.# .#.", 'P': "##. #.# ##. #.. #..",
	'Q': ".#. #.# #.# ##. .##", 'R': "##. #.# ##. #.# #.#", 'S': ".## #.. .#. ..# ##.", 'T': "### .#. .#. .#. .#.",
	'U': "#.# #.# #.# #.# ###", 'V': "#.# #.# #.# #.# .#.", 'W': "#.# #.# ### ### #.#", 'X': "#.# #.# .#. #.# #.#",
	'Y': "#.# #.# .#. .#. .#.", 'Z': "### ..# .#. #.. ###", '0': "### #.# #.# #.# ###", '1': ".#. ##. .#. .#. ###",
	'2': "##. ..# .#. #.. ###", '3': "##. ..# .#. ..# ##.", '4': "#.# #.# ### ..# ..#", '5': "### #.. ##. ..# ##.",
	'6': ".## #.. ### #.# ###", '7': "### ..# .#. .#. .#.", '8': "### #.# ### #.# ###", '9': "### #.# ### ..# ##.",
	'.': "... ... ... ... .#.", '-': "... ... ### ... ...", '/': "..# ..# .#. #.. #..", ':': "... .#. ... .#. ...",
	'=': "... ### ... ### ...", '(': ".#. #.. #.. #.. .#.", ')': ".#. ..# ..# ..# .#.", '%': "#.# ..# .#. #.. #.#",
	'×': "... #.# .#. #.# ...", ',': "... ... ... .#. #..",
}

// Font metrics, in font pixels.
const (
	glyphW, glyphH = 3, 5
	glyphAdvance   = glyphW + 1 // one pixel of space between glyphs
)

// glyphRows returns the five rows of r (upper-cased), or nil for a blank.
func glyphRows(r rune) []string {
	g, ok := glyphs[r]
	if !ok {
		g, ok = glyphs[unicode.ToUpper(r)]
	}
	if !ok {
		return nil
	}
	return strings.Fields(g)
}

// textWidth is the width in image pixels of s drawn at scale.
func textWidth(s string, scale int) int {
	n := len([]rune(s))
	if n == 0 {
		return 0
	}
	return (n*glyphAdvance - 1) * scale
}

// drawText draws s with its top-left corner at (x, y), each font pixel a scale×scale square.
func drawText(img *image.RGBA, x, y int, s string, scale int, c color.Color) {
	for i, r := range []rune(s) {
		for row, cells := range glyphRows(r) {
			for col, cell := range cells {
				if cell != '#' {
					continue
				}
				px := x + (i*glyphAdvance+col)*scale
				py := y + row*scale
				fill(img, image.Rect(px, py, px+scale, py+scale), c)
			}
		}
	}
}
