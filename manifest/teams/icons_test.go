package teamsapp

import (
	"bytes"
	"flag"
	"image"
	"image/png"
	"os"
	"testing"
)

var update = flag.Bool("update", false, "rewrite color.png and outline.png from the drawings")

// The committed icons are exactly the drawings, at the sizes Teams requires, and the outline is
// white on transparent.
func TestIcons(t *testing.T) {
	for _, c := range []struct {
		file string
		img  *image.NRGBA
		size int
	}{
		{"color.png", DrawColor(), 192},
		{"outline.png", DrawOutline(), 32},
	} {
		if *update {
			var b bytes.Buffer
			if err := png.Encode(&b, c.img); err != nil {
				t.Fatal(err)
			}
			if err := os.WriteFile(c.file, b.Bytes(), 0o644); err != nil {
				t.Fatal(err)
			}
			continue
		}
		f, err := os.ReadFile(c.file)
		if err != nil {
			t.Fatal(err)
		}
		got, err := png.Decode(bytes.NewReader(f))
		if err != nil {
			t.Fatalf("%s: %v", c.file, err)
		}
		if b := got.Bounds(); b.Dx() != c.size || b.Dy() != c.size {
			t.Fatalf("%s is %dx%d, want %dx%d", c.file, b.Dx(), b.Dy(), c.size, c.size)
		}
		for y := 0; y < c.size; y++ {
			for x := 0; x < c.size; x++ {
				gr, gg, gb, ga := got.At(x, y).RGBA()
				wr, wg, wb, wa := c.img.At(x, y).RGBA()
				if gr != wr || gg != wg || gb != wb || ga != wa {
					t.Fatalf("%s differs from the drawing at (%d,%d); run go test ./manifest/teams -update", c.file, x, y)
				}
			}
		}
	}
	out := DrawOutline()
	opaque := 0
	for i := 0; i < len(out.Pix); i += 4 {
		r, g, b, a := out.Pix[i], out.Pix[i+1], out.Pix[i+2], out.Pix[i+3]
		if a != 0 && (r != 0xFF || g != 0xFF || b != 0xFF) {
			t.Fatal("the outline icon has a pixel that is not white")
		}
		if a == 0xFF {
			opaque++
		}
	}
	if opaque < 100 || out.Pix[3] != 0 {
		t.Fatalf("the outline icon is not a white shape on transparent (%d opaque pixels)", opaque)
	}
}
