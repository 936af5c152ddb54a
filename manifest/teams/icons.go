package teamsapp

import (
	"image"
	"image/color"
	"math"
)

// The icons are drawn here rather than kept as opaque binaries, so anyone can see what they are
// and change them; icons_test.go checks the committed PNGs are exactly these drawings
// (go test ./manifest/teams -update rewrites them).

// Accent is the app's accent colour (manifest accentColor) and the colour icon's background.
var Accent = color.NRGBA{R: 0x0F, G: 0x6C, B: 0xBD, A: 0xFF}

// DrawColor draws the 192×192 colour icon: a white padlock on the accent colour. Microsoft asks
// for the symbol within the central 96×96 with 48 pixels of padding around it.
func DrawColor() *image.NRGBA {
	const size, pad = 192, 48
	img := image.NewNRGBA(image.Rect(0, 0, size, size))
	for y := 0; y < size; y++ {
		for x := 0; x < size; x++ {
			img.SetNRGBA(x, y, Accent)
		}
	}
	paint(img, pad, size-2*pad, func(cov float64) color.NRGBA { return blend(Accent, cov) })
	return img
}

// DrawOutline draws the 32×32 outline icon: the padlock in white on a transparent background, as
// Teams requires (it tints it itself).
func DrawOutline() *image.NRGBA {
	const size = 32
	img := image.NewNRGBA(image.Rect(0, 0, size, size))
	paint(img, 1, size-2, func(cov float64) color.NRGBA {
		return color.NRGBA{R: 0xFF, G: 0xFF, B: 0xFF, A: uint8(math.Round(cov * 255))}
	})
	return img
}

// paint renders the padlock into the square at (off, off) of side n, 4×4 supersampled, giving each
// pixel the colour of its coverage.
func paint(img *image.NRGBA, off, n int, shade func(cov float64) color.NRGBA) {
	const ss = 4
	for py := 0; py < n; py++ {
		for px := 0; px < n; px++ {
			hits := 0
			for sy := 0; sy < ss; sy++ {
				for sx := 0; sx < ss; sx++ {
					x := (float64(px) + (float64(sx)+0.5)/ss) / float64(n)
					y := (float64(py) + (float64(sy)+0.5)/ss) / float64(n)
					if padlock(x, y) {
						hits++
					}
				}
			}
			if hits > 0 {
				img.SetNRGBA(off+px, off+py, shade(float64(hits)/(ss*ss)))
			}
		}
	}
}

// padlock reports whether the point (x, y) of the unit square is on the padlock: a rounded body
// with a keyhole cut out, under a ring-shaped shackle.
func padlock(x, y float64) bool {
	// Shackle: the upper half of a ring, with legs down into the body.
	cx, cy, outer, inner := 0.5, 0.40, 0.30, 0.19
	d := math.Hypot(x-cx, y-cy)
	shackle := (y <= cy && d <= outer && d >= inner) ||
		(y > cy && y < 0.5 && ((x >= cx-outer && x <= cx-inner) || (x >= cx+inner && x <= cx+outer)))
	// Body: a rounded rectangle.
	body := roundedRect(x, y, 0.12, 0.46, 0.88, 0.96, 0.08)
	// Keyhole: a circle over a slot.
	keyhole := math.Hypot(x-0.5, y-0.66) <= 0.075 || (x >= 0.465 && x <= 0.535 && y >= 0.66 && y <= 0.84)
	return (shackle || body) && !keyhole
}

func roundedRect(x, y, x0, y0, x1, y1, r float64) bool {
	if x < x0 || x > x1 || y < y0 || y > y1 {
		return false
	}
	nx := math.Max(x0+r-x, math.Max(0, x-(x1-r)))
	ny := math.Max(y0+r-y, math.Max(0, y-(y1-r)))
	return nx <= 0 || ny <= 0 || math.Hypot(nx, ny) <= r
}

// blend is white over bg with the given coverage.
func blend(bg color.NRGBA, cov float64) color.NRGBA {
	mix := func(c uint8) uint8 { return uint8(math.Round(float64(c)*(1-cov) + 255*cov)) }
	return color.NRGBA{R: mix(bg.R), G: mix(bg.G), B: mix(bg.B), A: 0xFF}
}
