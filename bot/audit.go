package bot

import (
	"context"
	"crypto/sha256"
	"encoding/csv"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"strconv"
	"strings"
	"time"

	"github.com/resetbot/resetbot/chat"
)

// ChainHash is the hash that links a record to the one before it: SHA-256 over the previous hash and
// a canonical encoding of every field but Hash itself. Both store engines call it, so a chain written
// by one verifies with the other.
func (r AuditRecord) ChainHash(prevHash string) string {
	b, _ := json.Marshal(r.fields(prevHash)) // cannot fail: strings and integers only
	sum := sha256.Sum256(b)
	return hex.EncodeToString(sum[:])
}

// auditFields is a record as hashed and exported: AuditFields as JSON keys in their order, the time
// in RFC 3339 UTC with the nanoseconds. Changing it changes every hash: add fields at the end only.
type auditFields struct {
	Seq            int64         `json:"seq"`
	At             string        `json:"at"`
	RequestID      string        `json:"request_id"`
	Event          AuditEvent    `json:"event"`
	Platform       chat.Platform `json:"platform"`
	ActorKey       string        `json:"actor_key"`
	ActorUPN       string        `json:"actor_upn"`
	TargetID       string        `json:"target_id"`
	TargetUPN      string        `json:"target_upn"`
	Outcome        string        `json:"outcome"`
	Detail         string        `json:"detail"`
	GraphRequestID string        `json:"graph_request_id"`
	DurationMS     int64         `json:"duration_ms"`
	PrevHash       string        `json:"prev_hash"`
}

func (r AuditRecord) fields(prevHash string) auditFields {
	return auditFields{r.Seq, r.At.UTC().Format(time.RFC3339Nano), r.RequestID, r.Event, r.Platform, r.ActorKey, r.ActorUPN,
		r.TargetID, r.TargetUPN, r.Outcome, r.Detail, r.GraphRequestID, r.DurationMS, prevHash}
}

// ChainBreak is the first record at which the trail stops being what resetbot wrote.
type ChainBreak struct {
	Seq  int64     // the first bad record as read
	At   time.Time // its time as stored (itself untrustworthy once the record is bad)
	What string    // what is wrong, in plain words
}

func (b *ChainBreak) Error() string {
	return fmt.Sprintf("the audit chain is broken at record %d (%s): %s", b.Seq, b.At.UTC().Format(time.RFC3339), b.What)
}

// ChainCheck verifies a trail one record at a time, in the order the store returns them (by Seq),
// holding only the previous record: memory does not grow with the trail. Feed it every record from
// the first; Add returns the first break and keeps returning it.
type ChainCheck struct {
	Count       int64
	First, Last AuditRecord
	broken      *ChainBreak
}

// Add checks the next record against the one before it.
func (c *ChainCheck) Add(r AuditRecord) *ChainBreak {
	if c.broken != nil {
		return c.broken
	}
	bad := func(format string, a ...any) *ChainBreak {
		c.broken = &ChainBreak{Seq: r.Seq, At: r.At, What: fmt.Sprintf(format, a...)}
		return c.broken
	}
	wantSeq, wantPrev := int64(1), ""
	if c.Count > 0 {
		wantSeq, wantPrev = c.Last.Seq+1, c.Last.Hash
	}
	switch {
	case r.Seq > wantSeq && wantSeq == r.Seq-1:
		return bad("record %d is missing: it was deleted, or moved elsewhere in the trail", wantSeq)
	case r.Seq > wantSeq:
		return bad("records %d to %d are missing: they were deleted, or moved elsewhere in the trail", wantSeq, r.Seq-1)
	case r.Seq < wantSeq:
		return bad("it comes after record %d: the trail was reordered or a record duplicated", c.Last.Seq)
	case r.Hash != r.ChainHash(r.PrevHash):
		return bad("its content does not match its hash: a field was edited, or the record was moved to another place")
	case r.PrevHash != wantPrev && c.Count == 0:
		return bad("it is the first record but links to an earlier one: the records before it were deleted")
	case r.PrevHash != wantPrev:
		return bad("it does not link to record %d (prev_hash %s, but record %d's hash is %s): record %d was changed or replaced after this one was written",
			c.Last.Seq, short(r.PrevHash), c.Last.Seq, short(wantPrev), c.Last.Seq)
	}
	if c.Count == 0 {
		c.First = r
	}
	c.Last = r
	c.Count++
	return nil
}

func short(h string) string {
	if len(h) > 12 {
		return h[:12] + "…"
	}
	if h == "" {
		return "(none)"
	}
	return h
}

// VerifyTrail walks the whole trail from its first record. It returns the check (count, first and
// last record), and a *ChainBreak naming the first bad record when the chain is broken. Deleting
// records from the end leaves a shorter chain that is still intact: compare Last.Hash with a head
// recorded elsewhere (a digest, a SIEM) to catch that.
func VerifyTrail(ctx context.Context, st Store) (*ChainCheck, error) {
	c := &ChainCheck{}
	err := st.AuditSince(ctx, 0, func(r AuditRecord) error {
		if b := c.Add(r); b != nil {
			return b
		}
		return nil
	})
	return c, err
}

// AuditFields are the names of an exported record's fields, in CSV column order. They are a
// contract with SIEM parsers: add fields at the end, never rename or reorder. They are the names
// ChainHash hashes, so an exported line can be checked without resetbot.
var AuditFields = []string{"seq", "at", "request_id", "event", "platform", "actor_key", "actor_upn", "target_id",
	"target_upn", "outcome", "detail", "graph_request_id", "duration_ms", "prev_hash", "hash"}

// auditJSON is an exported record: the hashed fields and the hash.
type auditJSON struct {
	auditFields
	Hash string `json:"hash"`
}

// MarshalJSON writes the record with the exported field names.
func (r AuditRecord) MarshalJSON() ([]byte, error) {
	return json.Marshal(auditJSON{r.fields(r.PrevHash), r.Hash})
}

// UnmarshalJSON reads what MarshalJSON wrote.
func (r *AuditRecord) UnmarshalJSON(b []byte) error {
	var j auditJSON
	if err := json.Unmarshal(b, &j); err != nil {
		return err
	}
	at, err := time.Parse(time.RFC3339Nano, j.At)
	if err != nil {
		return fmt.Errorf("audit record %d: at: %w", j.Seq, err)
	}
	*r = AuditRecord{Seq: j.Seq, At: at.UTC(), RequestID: j.RequestID, Event: j.Event, Platform: j.Platform,
		ActorKey: j.ActorKey, ActorUPN: j.ActorUPN, TargetID: j.TargetID, TargetUPN: j.TargetUPN, Outcome: j.Outcome,
		Detail: j.Detail, GraphRequestID: j.GraphRequestID, DurationMS: j.DurationMS, PrevHash: j.PrevHash, Hash: j.Hash}
	return nil
}

// AuditWriter writes records for a SIEM, one at a time, as JSON lines or CSV.
type AuditWriter interface {
	Write(r AuditRecord) error
	// Flush writes what is buffered; call it once at the end.
	Flush() error
}

// NewAuditJSONL writes one JSON object per line.
func NewAuditJSONL(w io.Writer) AuditWriter { return &jsonlWriter{enc: json.NewEncoder(w)} }

type jsonlWriter struct{ enc *json.Encoder }

func (j *jsonlWriter) Write(r AuditRecord) error { return j.enc.Encode(r) }
func (j *jsonlWriter) Flush() error              { return nil }

// NewAuditCSV writes a header of AuditFields, then one row per record. A cell that a spreadsheet
// would read as a formula gets a leading apostrophe (see CSVSafe).
func NewAuditCSV(w io.Writer) AuditWriter { return &csvWriter{w: csv.NewWriter(w)} }

type csvWriter struct {
	w      *csv.Writer
	headed bool
}

func (c *csvWriter) Write(r AuditRecord) error {
	if !c.headed {
		c.headed = true
		if err := c.w.Write(AuditFields); err != nil {
			return err
		}
	}
	row := []string{strconv.FormatInt(r.Seq, 10), r.At.UTC().Format(time.RFC3339Nano), r.RequestID, string(r.Event),
		string(r.Platform), r.ActorKey, r.ActorUPN, r.TargetID, r.TargetUPN, r.Outcome, r.Detail, r.GraphRequestID,
		strconv.FormatInt(r.DurationMS, 10), r.PrevHash, r.Hash}
	for i := range row {
		row[i] = CSVSafe(row[i])
	}
	return c.w.Write(row)
}

func (c *csvWriter) Flush() error {
	if !c.headed { // an empty export still says what its columns are
		c.headed = true
		if err := c.w.Write(AuditFields); err != nil {
			return err
		}
	}
	c.w.Flush()
	return c.w.Error()
}

// CSVSafe defuses a cell a spreadsheet would run as a formula (OWASP "CSV injection"): one that
// begins with = + - @, a tab or a carriage return gets a leading apostrophe. A reason typed in chat
// ("=HYPERLINK(…)") reaches the security team's spreadsheet as text.
func CSVSafe(s string) string {
	if s != "" && strings.ContainsRune("=+-@\t\r", rune(s[0])) {
		return "'" + s
	}
	return s
}
