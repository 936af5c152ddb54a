package bot

import (
	"bytes"
	"encoding/csv"
	"errors"
	"fmt"
	"io"
	"strings"
	"unicode/utf8"

	"github.com/resetbot/resetbot/chat"
)

// UserRow is one user to reset from a list: a CSV row or a typed name.
type UserRow struct {
	Line   int    // the line in the file (1 is the header), for reports
	UPN    string // validated and normalised like a typed target
	Reason string // from a Reason column; empty when there is none
}

// RowProblem is a row that will not be reset, and why.
type RowProblem struct {
	Line    int
	Value   string
	Problem string
}

// MaxCSVBytes is the largest list file taken.
const MaxCSVBytes = chat.MaxFileBytes

// ParseUserCSV reads the seed's bulk format: a header with a UserPrincipalName column (a Reason
// column is honoured, other columns are ignored), one user per line. It accepts a UTF-8 byte-order
// mark and CRLF line ends, as Excel writes them. Bad rows come back as problems and are never reset;
// a file that is not such a list at all is an error that says what is wrong with it.
func ParseUserCSV(r io.Reader, maxRows int) ([]UserRow, []RowProblem, error) {
	data, err := io.ReadAll(io.LimitReader(r, MaxCSVBytes+1))
	if err != nil {
		return nil, nil, fmt.Errorf("reading the file: %w", err)
	}
	if len(data) > MaxCSVBytes {
		return nil, nil, fmt.Errorf("the file is larger than %d MiB; split it", MaxCSVBytes>>20)
	}
	data = bytes.TrimPrefix(data, []byte("\xef\xbb\xbf"))
	if len(bytes.TrimSpace(data)) == 0 {
		return nil, nil, errors.New("the file is empty: it needs a UserPrincipalName header and one UPN per line")
	}
	if bytes.IndexByte(data, 0) >= 0 || !utf8.Valid(data) {
		return nil, nil, errors.New("that is not a CSV text file (it has binary content); export the list as CSV UTF-8")
	}
	cr := csv.NewReader(bytes.NewReader(data))
	cr.FieldsPerRecord = -1 // rows may have fewer or more columns than the header
	cr.TrimLeadingSpace = true
	header, err := cr.Read()
	if err != nil {
		return nil, nil, fmt.Errorf("the header line is not CSV: %v", err)
	}
	upnCol, reasonCol := -1, -1
	for i, h := range header {
		switch strings.ToLower(strings.TrimSpace(h)) {
		case "userprincipalname", "upn":
			upnCol = i
		case "reason":
			reasonCol = i
		}
	}
	if upnCol < 0 {
		return nil, nil, fmt.Errorf("the first line has no UserPrincipalName column (it has: %s)", clip(strings.Join(header, ", ")))
	}
	var (
		rows     []UserRow
		problems []RowProblem
		seen     = map[string]int{}
	)
	for {
		rec, err := cr.Read()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			line := 0
			var pe *csv.ParseError
			if errors.As(err, &pe) {
				line = pe.Line
			}
			problems = append(problems, RowProblem{Line: line, Problem: "not valid CSV: " + strings.TrimPrefix(err.Error(), "record on ")})
			if len(problems) > maxRows {
				return nil, nil, errors.New("the file is not a CSV list: too many lines fail to read")
			}
			continue
		}
		line, _ := cr.FieldPos(0) // only valid after a successful Read
		if len(rows)+len(problems) >= maxRows {
			return nil, nil, fmt.Errorf("the file has more than %d rows, the most one list may have; split it", maxRows)
		}
		value := ""
		if upnCol < len(rec) {
			value = strings.TrimSpace(rec[upnCol])
		}
		if value == "" {
			if strings.TrimSpace(strings.Join(rec, "")) != "" {
				problems = append(problems, RowProblem{Line: line, Problem: "no UserPrincipalName on this line"})
			}
			continue
		}
		upn, err := parseTarget(value)
		if err != nil {
			var ue *UsageError
			errors.As(err, &ue)
			problems = append(problems, RowProblem{Line: line, Value: clip(value), Problem: ue.Msg})
			continue
		}
		if first, dup := seen[strings.ToLower(upn)]; dup {
			problems = append(problems, RowProblem{Line: line, Value: upn, Problem: fmt.Sprintf("the same user as line %d (reset once)", first)})
			continue
		}
		seen[strings.ToLower(upn)] = line
		reason := ""
		if reasonCol >= 0 && reasonCol < len(rec) {
			reason = cleanReason(rec[reasonCol])
			if utf8.RuneCountInString(reason) > MaxReasonLength {
				reason = string([]rune(reason)[:MaxReasonLength])
			}
		}
		rows = append(rows, UserRow{Line: line, UPN: upn, Reason: reason})
	}
	if len(rows) == 0 && len(problems) == 0 {
		return nil, nil, errors.New("the file has a header but no users")
	}
	return rows, problems, nil
}
