package main

import (
	"io"
	"os"

	"golang.org/x/term"
)

// isTerminal reports whether f is a terminal a person reads. A character device is not enough:
// /dev/null is one, and `> /dev/null` must be taken as a redirect.
func isTerminal(f *os.File) bool {
	return term.IsTerminal(int(f.Fd()))
}

// writesToTerminal reports whether w is a terminal.
func writesToTerminal(w io.Writer) bool {
	f, ok := w.(*os.File)
	return ok && isTerminal(f)
}
