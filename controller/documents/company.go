package documents

// Company is the ISP whose name and address head a document.
type Company struct {
	Name    string
	Address []string // address lines, printed in order
	// Logo is an optional PNG image printed at the top left of invoices and
	// statements (nil: none). It is scaled to fit 1.8" × 0.55".
	Logo []byte
}
