package main

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
)

// checkOut says what is wrong with an --out path in words, before anything is written: a folder
// given for a file, a folder that does not exist.
func checkOut(path, example string) error {
	if st, err := os.Stat(path); err == nil && st.IsDir() {
		return fmt.Errorf("--out %s is a folder; give the path of a file to write, e.g. --out %s", path, filepath.Join(path, example))
	}
	dir := filepath.Dir(path)
	if st, err := os.Stat(dir); err != nil || !st.IsDir() {
		return fmt.Errorf("--out %s: the folder %s does not exist; create it or choose another path", path, dir)
	}
	return nil
}

// cannotWrite words a failure to create or write an --out file.
func cannotWrite(path string, err error) error {
	why := err
	var pe *fs.PathError
	if errors.As(err, &pe) {
		why = pe.Err
	}
	return fmt.Errorf("--out %s cannot be written (%v)", path, why)
}
