package documents

import (
	"bytes"
	"fmt"
	"hash/fnv"
	"image"
	"image/draw"
	"image/png"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/go-pdf/fpdf"
)

// cp1252 maps the non-ASCII runes that Windows-1252, the encoding of fpdf's
// core fonts, can show to their bytes. It is built once from fpdf's own
// table: fpdf's translator function shares a buffer between calls, so it
// cannot be used by concurrent renders, but the map can.
var cp1252 = sync.OnceValue(func() map[rune]byte {
	trans := fpdf.New("P", "in", "Letter", "").UnicodeTranslatorFromDescriptor("")
	m := make(map[rune]byte, 128)
	for r := rune(0x80); r <= 0xffff; r++ {
		if s := trans(string(r)); len(s) == 1 && s[0] >= 0x80 {
			m[r] = s[0]
		}
	}
	return m
})

// tr translates UTF-8 text to Windows-1252 for the core fonts ("Muñoz"
// keeps its ñ); characters the code page lacks print as '.'. ASCII, the
// common case, is returned as it is.
func tr(s string) string {
	ascii := true
	for i := 0; i < len(s); i++ {
		if s[i] >= 0x80 {
			ascii = false
			break
		}
	}
	if ascii {
		return s
	}
	m := cp1252()
	b := make([]byte, 0, len(s))
	for _, r := range s {
		switch c, ok := m[r]; {
		case r < 0x80:
			b = append(b, byte(r))
		case ok:
			b = append(b, c)
		default:
			b = append(b, '.')
		}
	}
	return string(b)
}

// pdfDoc wraps an fpdf document measured in inches with the text helpers
// the invoice and statement layouts share. Text passed to its methods is
// UTF-8.
type pdfDoc struct {
	pdf *fpdf.Fpdf
}

func newPDFDoc(created time.Time) *pdfDoc {
	pdf := fpdf.New("P", "in", "Letter", "")
	pdf.SetAutoPageBreak(false, 0) // the layouts break pages themselves
	pdf.SetMargins(0.5, 0.5, 0.5)
	pdf.SetCellMargin(0.04)
	pdf.SetCreator("Tollgate", true)
	pdf.SetCatalogSort(true)
	// Page content is left uncompressed: fpdf builds a new zlib writer for
	// every page, which took half of an invoice's render time (and most of
	// its garbage); uncompressed, an invoice page is about 10 KiB instead
	// of 4 and renders three times as fast. Images stay compressed.
	pdf.SetCompression(false)
	// A fixed creation date makes the same document render to the same
	// bytes (print vendors and idempotent re-sends compare them).
	pdf.SetCreationDate(created)
	pdf.SetModificationDate(created)
	return &pdfDoc{pdf: pdf}
}

func (d *pdfDoc) font(style string, size float64) { d.pdf.SetFont("Helvetica", style, size) }

// pdfColumn is a column of a table in a pdfDoc layout: its title, width
// in inches and alignment ("L" or "R").
type pdfColumn struct {
	title string
	w     float64
	align string
}

// firstPage starts a report's first page: numbered, the company's logo
// and, below it, its name; it returns the name's top.
func (d *pdfDoc) firstPage(c Company) float64 {
	d.pdf.AddPage()
	d.pageFooter()
	y := 0.5
	if h := d.logo(c.Logo, marginX, 0.45, 1.8, 0.55); h > 0 {
		y = 0.45 + h + 0.08
	}
	d.font("B", 13)
	d.text(marginX, y, 4.0, 0.22, c.Name, "L", true)
	return y
}

// continuedPage starts a further page of a report: numbered, the
// company's name and heading over a rule; it returns where the page's
// content starts.
func (d *pdfDoc) continuedPage(company, heading string) float64 {
	d.pdf.AddPage()
	d.pageFooter()
	d.font("B", 10)
	d.text(marginX, 0.45, contentW*0.6, 0.22, company, "L", true)
	d.font("", 9)
	d.text(marginX, 0.67, contentW, 0.18, heading, "L", true)
	d.hline(marginX, pageW-marginX, 0.9, 0.01, 150)
	return 1.05
}

// pageFooter numbers the current page "Page N of M" at its bottom right
// (M through the "{nb}" alias).
func (d *pdfDoc) pageFooter() {
	d.font("", 8)
	d.pdf.SetTextColor(90, 90, 90)
	d.rawCell(marginX, pageH-0.4, contentW, 0.2, fmt.Sprintf("Page %d of {nb}", d.pdf.PageNo()), "R")
	d.pdf.SetTextColor(0, 0, 0)
}

// text draws one line of text in the cell (x, y, w, h). Text too wide for
// the cell is cut with "..." when cut is set and otherwise set in a smaller
// type until it fits (amounts are never cut).
func (d *pdfDoc) text(x, y, w, h float64, s, align string, cut bool) {
	pdf := d.pdf
	txt := tr(oneLine(s))
	pdf.SetXY(x, y)
	avail := w - 2*pdf.GetCellMargin()
	if pdf.GetStringWidth(txt) <= avail {
		pdf.CellFormat(w, h, txt, "", 0, align, false, 0, "")
		return
	}
	if cut {
		for len(txt) > 0 && pdf.GetStringWidth(txt+"...") > avail {
			txt = txt[:len(txt)-1]
		}
		pdf.CellFormat(w, h, strings.TrimRight(txt, " ")+"...", "", 0, align, false, 0, "")
		return
	}
	size, _ := pdf.GetFontSize()
	for s := size - 0.5; s >= 4 && pdf.GetStringWidth(txt) > avail; s -= 0.5 {
		pdf.SetFontSize(s)
	}
	pdf.CellFormat(w, h, txt, "", 0, align, false, 0, "")
	pdf.SetFontSize(size)
}

// wrap splits UTF-8 text into lines no wider than w at the current font,
// keeping the author's line breaks. The lines are already translated.
func (d *pdfDoc) wrap(s string, w float64) []string {
	var out []string
	for _, para := range strings.Split(strings.ReplaceAll(s, "\r\n", "\n"), "\n") {
		para = strings.TrimSpace(strings.Map(func(r rune) rune {
			if r < ' ' || r == 0x7f {
				return ' '
			}
			return r
		}, para))
		if para == "" {
			out = append(out, "")
			continue
		}
		// SplitLines works on bytes, as the translated text is.
		for _, l := range d.pdf.SplitLines([]byte(tr(para)), w-2*d.pdf.GetCellMargin()) {
			out = append(out, string(l))
		}
	}
	for len(out) > 0 && out[len(out)-1] == "" {
		out = out[:len(out)-1]
	}
	return out
}

// rawCell draws already-translated text.
func (d *pdfDoc) rawCell(x, y, w, h float64, txt, align string) {
	d.pdf.SetXY(x, y)
	d.pdf.CellFormat(w, h, txt, "", 0, align, false, 0, "")
}

func (d *pdfDoc) hline(x1, x2, y, width float64, gray int) {
	d.pdf.SetDrawColor(gray, gray, gray)
	d.pdf.SetLineWidth(width)
	d.pdf.Line(x1, y, x2, y)
}

// logo places the company's PNG logo scaled into (x, y, maxW, maxH) and
// returns its height; 0 if there is none or it is not a readable PNG (a
// broken logo does not stop an invoice).
func (d *pdfDoc) logo(raw []byte, x, y, maxW, maxH float64) float64 {
	lg := preparedLogo(raw)
	if lg == nil {
		return 0
	}
	pdf := d.pdf
	if pdf.GetImageInfo(lg.name) == nil {
		pdf.RegisterImageOptionsReader(lg.name, fpdf.ImageOptions{ImageType: "png"}, bytes.NewReader(lg.png))
		if pdf.Err() {
			pdf.ClearError()
			return 0
		}
	}
	w, h := maxW, maxW*float64(lg.h)/float64(lg.w)
	if h > maxH {
		w, h = maxH*float64(lg.w)/float64(lg.h), maxH
	}
	pdf.ImageOptions(lg.name, x, y, w, h, false, fpdf.ImageOptions{ImageType: "png"}, 0, "")
	return h
}

// logoImage is a logo made ready for fpdf once: flattened onto white (the
// paper), without interlacing, re-encoded as an opaque PNG. fpdf embeds
// such a PNG's compressed data as it is, where a PNG with transparency would
// be decompressed, split into colour and alpha and compressed again for
// every document.
type logoImage struct {
	name string
	png  []byte
	w, h int
}

// logoCache holds prepared logos by the hash of the PNG given (a nil value:
// not a readable PNG). There is normally one logo, the company's; the cache
// is emptied if it ever holds more than logoCacheMax.
var (
	logoMu    sync.Mutex
	logoCache = map[uint64]*logoImage{}
)

const logoCacheMax = 32

func preparedLogo(raw []byte) *logoImage {
	if len(raw) == 0 {
		return nil
	}
	hs := fnv.New64a()
	hs.Write(raw)
	key := hs.Sum64()
	logoMu.Lock()
	lg, ok := logoCache[key]
	logoMu.Unlock()
	if ok {
		return lg
	}
	lg = prepareLogo(raw, key)
	logoMu.Lock()
	if len(logoCache) >= logoCacheMax {
		clear(logoCache)
	}
	logoCache[key] = lg
	logoMu.Unlock()
	return lg
}

func prepareLogo(raw []byte, key uint64) *logoImage {
	src, err := png.Decode(bytes.NewReader(raw))
	if err != nil {
		return nil
	}
	b := src.Bounds()
	if b.Dx() <= 0 || b.Dy() <= 0 || b.Dx() > 4000 || b.Dy() > 4000 {
		return nil
	}
	flat := image.NewRGBA(image.Rect(0, 0, b.Dx(), b.Dy()))
	draw.Draw(flat, flat.Bounds(), image.White, image.Point{}, draw.Src)
	draw.Draw(flat, flat.Bounds(), src, b.Min, draw.Over)
	var buf bytes.Buffer
	if err := (&png.Encoder{CompressionLevel: png.BestCompression}).Encode(&buf, flat); err != nil {
		return nil
	}
	return &logoImage{name: "logo-" + strconv.FormatUint(key, 16), png: buf.Bytes(), w: b.Dx(), h: b.Dy()}
}
