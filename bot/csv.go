package bot

import (
	"bytes"
	"encoding/csv"
	"errors"
	"fmt"
	"io"
	"strings"
	"unicode/utf16"
	"unicode/utf8"

	"github.com/resetbot/resetbot/chat"
)

// UserRow is one user to reset from a list: a CSV row or a typed name.
type UserRow struct {
	Line   int    // the line in the file (1 is the header), for reports
	UPN    string // validated and normalised like a typed target: a UPN, mail address or object ID
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

// maxColumns is the most columns a list's line may have: exports of user lists have a few dozen at
// most, and a line of a million commas must not become a million strings.
const maxColumns = 200

// The columns a list names its users by, in order of preference, as Excel, the Entra admin center's
// "Download users" and PowerShell's Export-Csv (Get-MgUser, Get-AzureADUser) write them.
var (
	upnColumns    = []string{"userprincipalname", "upn", "user principal name", "user name", "username"}
	mailColumns   = []string{"mail", "email", "e-mail", "email address", "e-mail address", "emailaddress"}
	idColumns     = []string{"id", "objectid", "object id", "user id", "userid"}
	reasonColumns = []string{"reason", "ticket", "reason for reset"}
)

// ParseUserCSV reads a list of users: a header naming a UserPrincipalName column (or a mail or
// object ID column; a Reason column is honoured, others are ignored) and one user per line. It takes
// what spreadsheets and PowerShell write: UTF-8 with or without a byte-order mark, UTF-16 with one
// (Excel's "Unicode text"), commas, semicolons (Excel in many locales) or tabs, CRLF line ends, and
// Windows PowerShell's "#TYPE …" first line. Bad rows come back as problems and are never reset; a
// file that is not such a list at all is an error that says what is wrong with it, in words for the
// person who sent it.
func ParseUserCSV(r io.Reader, maxRows int) ([]UserRow, []RowProblem, error) {
	data, err := io.ReadAll(io.LimitReader(r, MaxCSVBytes+1))
	if err != nil {
		return nil, nil, errors.New("the file could not be read")
	}
	if len(data) > MaxCSVBytes {
		return nil, nil, fmt.Errorf("the file is larger than %d MiB; split it", MaxCSVBytes>>20)
	}
	data, err = toUTF8(data)
	if err != nil {
		return nil, nil, err
	}
	if len(bytes.TrimSpace(data)) == 0 {
		return nil, nil, errors.New("the file is empty: it needs a UserPrincipalName header and one UPN per line")
	}
	if bytes.IndexByte(data, 0) >= 0 || !utf8.Valid(data) {
		return nil, nil, errors.New("that is not a CSV text file (it has binary content); export the list as CSV UTF-8")
	}
	// Windows PowerShell 5.1's Export-Csv writes "#TYPE Selected.Microsoft…" before the header.
	skipped := 0
	if bytes.HasPrefix(bytes.TrimLeft(data, " \t"), []byte("#TYPE")) {
		if i := bytes.IndexByte(data, '\n'); i >= 0 {
			data, skipped = data[i+1:], 1
		} else {
			data = nil
		}
	}
	if line, n := widestLine(data); n > maxColumns {
		return nil, nil, fmt.Errorf("line %d has %d columns; a list has at most %d. Is this the right file?", line+skipped, n, maxColumns)
	}
	cr := csv.NewReader(bytes.NewReader(data))
	cr.Comma = delimiter(data)
	cr.FieldsPerRecord = -1 // rows may have fewer or more columns than the header
	cr.TrimLeadingSpace = true
	cr.ReuseRecord = true
	header, err := cr.Read()
	if err != nil {
		return nil, nil, fmt.Errorf("the header line is not readable: %s", csvWords(err, skipped))
	}
	col := func(names []string) int {
		for _, n := range names {
			for i, h := range header {
				if strings.EqualFold(strings.TrimSpace(h), n) {
					return i
				}
			}
		}
		return -1
	}
	userCol, reasonCol := col(upnColumns), col(reasonColumns)
	if userCol < 0 {
		userCol = col(mailColumns)
	}
	if userCol < 0 {
		userCol = col(idColumns)
	}
	if userCol < 0 {
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
				line = pe.Line + skipped
			}
			// The preview says "line N:" itself.
			problems = append(problems, RowProblem{Line: line, Problem: strings.TrimPrefix(csvWords(err, skipped), fmt.Sprintf("line %d ", line))})
			if len(problems) > maxRows {
				return nil, nil, errors.New("the file is not a CSV list: too many lines fail to read")
			}
			continue
		}
		line, _ := cr.FieldPos(0) // only valid after a successful Read
		line += skipped
		if len(rows)+len(problems) >= maxRows {
			return nil, nil, fmt.Errorf("the file has more than %d rows, the most one list may have; split it", maxRows)
		}
		value := ""
		if userCol < len(rec) {
			value = strings.TrimSpace(rec[userCol])
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
			problems = append(problems, RowProblem{Line: line, Value: clip(cleanReason(value)), Problem: ue.Msg})
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

// toUTF8 turns UTF-16 with a byte-order mark (Excel's "Unicode text") into UTF-8, and drops a UTF-8
// byte-order mark.
func toUTF8(data []byte) ([]byte, error) {
	var big bool
	switch {
	case bytes.HasPrefix(data, []byte("\xef\xbb\xbf")):
		return data[3:], nil
	case bytes.HasPrefix(data, []byte("\xff\xfe")):
	case bytes.HasPrefix(data, []byte("\xfe\xff")):
		big = true
	default:
		return data, nil
	}
	data = data[2:]
	if len(data)%2 != 0 {
		return nil, errors.New("the file says it is UTF-16 but its length is odd: it is damaged; export it again")
	}
	units := make([]uint16, len(data)/2)
	for i := range units {
		if big {
			units[i] = uint16(data[2*i])<<8 | uint16(data[2*i+1])
		} else {
			units[i] = uint16(data[2*i+1])<<8 | uint16(data[2*i])
		}
	}
	return []byte(string(utf16.Decode(units))), nil
}

// delimiter picks the separator the header line uses most: a comma, a semicolon or a tab, counted
// outside quotes. A header of one column has none; a comma then does.
func delimiter(data []byte) rune {
	header := data
	if i := bytes.IndexByte(data, '\n'); i >= 0 {
		header = data[:i]
	}
	counts := map[byte]int{}
	quoted := false
	for _, c := range header {
		switch {
		case c == '"':
			quoted = !quoted
		case !quoted && (c == ',' || c == ';' || c == '\t'):
			counts[c]++
		}
	}
	best := byte(',')
	for _, c := range []byte{';', '\t'} {
		if counts[c] > counts[best] {
			best = c
		}
	}
	return rune(best)
}

// widestLine finds the line with the most separators, counted before any parsing, so a hostile
// line cannot make the parser build a field per character.
func widestLine(data []byte) (line, columns int) {
	n, cur, ln := 0, 1, 1
	for _, c := range data {
		switch c {
		case '\n':
			if cur > n {
				n, line = cur, ln
			}
			cur = 1
			ln++
		case ',', ';', '\t':
			cur++
		}
	}
	if cur > n {
		n, line = cur, ln
	}
	return line, n
}

// csvWords says what is wrong with a line in the words of the person who sent the file.
func csvWords(err error, skipped int) string {
	var pe *csv.ParseError
	if !errors.As(err, &pe) {
		return "it could not be read as CSV"
	}
	where := fmt.Sprintf("line %d", pe.Line+skipped)
	switch {
	case errors.Is(pe.Err, csv.ErrBareQuote):
		return where + " has a quote (\") inside a value that does not start with one: put the whole value in quotes, or remove the quote"
	case errors.Is(pe.Err, csv.ErrQuote):
		return where + " opens a quote (\") that is never closed"
	case errors.Is(pe.Err, csv.ErrFieldCount):
		return where + " has another number of columns than the header"
	}
	return where + " could not be read as CSV"
}
