package billing

// SweepNeedsWrite reports whether a sweep changes anything for the account
// of standing s (as SweepVerdict(t, rule, today, s, c).NeedsWrite()),
// without building the verdict's reasons or words: a sweep's first pass
// asks it of every account it examines, and reads and assesses again the
// few it changes once it holds their locks.
func SweepNeedsWrite(t AccountType, rule DateRule, today Date, s Standing) bool {
	return Verdict{Standing: s, Assessment: assessWith(t, rule, today, s, false)}.NeedsWrite()
}
