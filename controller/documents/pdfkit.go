package documents

import (
	"bytes"
	"hash/fnv"
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
	// A fixed creation date makes the same document render to the same
	// bytes (print vendors and idempotent re-sends compare them).
	pdf.SetCreationDate(created)
	pdf.SetModificationDate(created)
	return &pdfDoc{pdf: pdf}
}

func (d *pdfDoc) font(style string, size float64) { d.pdf.SetFont("Helvetica", style, size) }

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
func (d *pdfDoc) logo(png []byte, x, y, maxW, maxH float64) float64 {
	if len(png) == 0 {
		return 0
	}
	h := fnv.New64a()
	h.Write(png)
	name := "logo-" + strconv.FormatUint(h.Sum64(), 16)
	pdf := d.pdf
	info := pdf.GetImageInfo(name)
	if info == nil {
		info = pdf.RegisterImageOptionsReader(name, fpdf.ImageOptions{ImageType: "png"}, bytes.NewReader(png))
		if pdf.Err() {
			pdf.ClearError()
			return 0
		}
	}
	iw, ih := info.Width(), info.Height()
	if iw <= 0 || ih <= 0 {
		return 0
	}
	w, hh := maxW, maxW*ih/iw
	if hh > maxH {
		w, hh = maxH*iw/ih, maxH
	}
	pdf.ImageOptions(name, x, y, w, hh, false, fpdf.ImageOptions{ImageType: "png"}, 0, "")
	return hh
}
