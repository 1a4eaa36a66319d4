package documents

// Company is the ISP whose name and address head a document.
type Company struct {
	Name    string
	Address []string // address lines, printed in order
}
