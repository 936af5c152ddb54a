package bot

import (
	"context"
	"crypto/sha256"
	"encoding/csv"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math"
	"strconv"
	"strings"
	"time"

	"github.com/resetbot/resetbot/bot/keys"
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
	// Line came after the first release: left out of the hash when 0, so the records written before
	// it keep their hashes.
	Line int `json:"line,omitempty"`
	// Assurance came later still: left out when empty, for the same reason.
	Assurance Assurance `json:"assurance,omitempty"`
}

func (r AuditRecord) fields(prevHash string) auditFields {
	return auditFields{r.Seq, r.At.UTC().Format(time.RFC3339Nano), r.RequestID, r.Event, r.Platform, r.ActorKey, r.ActorUPN,
		r.TargetID, r.TargetUPN, r.Outcome, r.Detail, r.GraphRequestID, r.DurationMS, prevHash, r.Line, r.Assurance}
}

// ChainBreak is the first record at which the trail stops being what resetbot wrote.
type ChainBreak struct {
	Seq  int64     // the first bad record as read
	At   time.Time // its time as stored (itself untrustworthy once the record is bad)
	What string    // what is wrong, in plain words
	// PastEnd: the trail itself is intact but ends too soon (records were cut off the end).
	PastEnd bool
}

func (b *ChainBreak) Error() string {
	return fmt.Sprintf("the audit chain is broken at record %d (%s): %s", b.Seq, b.At.UTC().Format(time.RFC3339), b.What)
}

// ChainCheck verifies a trail one record at a time, in the order the store returns them (by Seq),
// holding only the previous record: memory does not grow with the trail. Feed it every record from
// the first, then call Finish; Add returns the first break and keeps returning it.
//
// The hash chain alone shows an edit, a deletion or a reordering made by someone who did not
// recompute the hashes after it. Whoever can write the database can recompute them, so with Key set
// every record must also carry a MAC made with RESETBOT_AUDIT_KEY, which the database never sees;
// and an Anchor — a record's sequence and hash kept outside the database (each digest carries the
// head) — shows a trail cut short or rebuilt from the start.
type ChainCheck struct {
	Count       int64
	First, Last AuditRecord
	// Key, when set, checks every record's MAC.
	Key *TrailKey
	// Anchors are records the trail must still hold, as they were.
	Anchors []Anchor
	// Unkeyed counts records before the first one with a MAC (written before the key was set).
	Unkeyed int64
	keyed   int64
	broken  *ChainBreak
}

// TrailKey authenticates the trail's records with RESETBOT_AUDIT_KEY.
type TrailKey struct{ mac *keys.MAC }

// NewTrailKey makes the trail's key from the 32-byte audit key.
func NewTrailKey(auditKey []byte) (*TrailKey, error) {
	m, err := keys.NewMAC(auditKey, "audit trail")
	if err != nil {
		return nil, err
	}
	return &TrailKey{mac: m}, nil
}

// Sign is the MAC of a record's hash; the store keeps it with the record.
func (k *TrailKey) Sign(hash string) string { return k.mac.Sum(hash) }

// Verify reports whether mac is the MAC of hash.
func (k *TrailKey) Verify(hash, mac string) bool { return k.mac.Verify(mac, hash) }

// Anchor is a record known from outside the database: its sequence number and hash, as a digest or
// a SIEM received them.
type Anchor struct {
	Seq  int64
	Hash string
}

func (a Anchor) String() string { return strconv.FormatInt(a.Seq, 10) + ":" + a.Hash }

// ParseAnchor reads SEQ:HASH, as `resetbot audit verify --anchor` takes it and digests print it.
func ParseAnchor(s string) (Anchor, error) {
	seq, hash, ok := strings.Cut(strings.TrimSpace(s), ":")
	n, err := strconv.ParseInt(seq, 10, 64)
	if !ok || err != nil || n < 1 || len(hash) != 64 || strings.Trim(strings.ToLower(hash), "0123456789abcdef") != "" {
		return Anchor{}, fmt.Errorf("an anchor is SEQ:HASH, a record's number and its 64 hex digit hash (as a digest shows it), not %q", clip(s))
	}
	return Anchor{Seq: n, Hash: strings.ToLower(hash)}, nil
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
	if c.Key != nil {
		switch {
		case r.MAC == "" && c.keyed > 0:
			return bad("it carries no MAC, though the records before it do: it was written, or rewritten, without resetbot's audit key")
		case r.MAC == "":
			c.Unkeyed++
		case !c.Key.Verify(r.Hash, r.MAC):
			return bad("its MAC does not match: it was changed, or the chain rebuilt, by someone without resetbot's audit key (or RESETBOT_AUDIT_KEY is not the one that wrote it)")
		default:
			c.keyed++
		}
	}
	for _, a := range c.Anchors {
		if a.Seq == r.Seq && a.Hash != r.Hash {
			return bad("it is not the record #%d anchored outside the database (hash %s): the trail was rebuilt", a.Seq, short(a.Hash))
		}
	}
	if c.Count == 0 {
		c.First = r
	}
	c.Last = r
	c.Count++
	return nil
}

// Finish checks what only the end of the trail shows: an anchored record past its end (records cut
// off), and a key no record was written with.
func (c *ChainCheck) Finish() *ChainBreak {
	if c.broken != nil {
		return c.broken
	}
	for _, a := range c.Anchors {
		if a.Seq > c.Last.Seq {
			c.broken = &ChainBreak{Seq: c.Last.Seq + 1, At: c.Last.At, PastEnd: true,
				What: fmt.Sprintf("the trail ends at record %d, but record %d is anchored outside the database: records were cut off the end", c.Last.Seq, a.Seq)}
			return c.broken
		}
	}
	if c.Key != nil && c.Count > 0 && c.keyed == 0 {
		c.broken = &ChainBreak{Seq: c.First.Seq, At: c.First.At,
			What: "no record carries a MAC: the trail was written without RESETBOT_AUDIT_KEY, or rebuilt by someone without it"}
		return c.broken
	}
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
	return VerifyTrailWith(ctx, st, &ChainCheck{})
}

// VerifyTrailWith is VerifyTrail with a check set up beforehand: a key, anchors.
func VerifyTrailWith(ctx context.Context, st Store, c *ChainCheck) (*ChainCheck, error) {
	err := st.AuditSince(ctx, 0, func(r AuditRecord) error {
		if b := c.Add(r); b != nil {
			return b
		}
		return nil
	})
	if err != nil {
		return c, err
	}
	if b := c.Finish(); b != nil {
		return c, b
	}
	return c, nil
}

// TrailReader reads the trail: what Store offers for it.
type TrailReader interface {
	AuditSince(ctx context.Context, afterSeq int64, fn func(AuditRecord) error) error
	AuditAfter(ctx context.Context, t time.Time) (afterSeq int64, err error)
}

// TrailHead is the last record of the trail (zero when it is empty): what a digest carries out of
// the database, so a later check can prove the trail still holds it.
func TrailHead(ctx context.Context, st TrailReader) (Anchor, error) {
	last, err := st.AuditAfter(ctx, time.Unix(0, math.MaxInt64)) // past every record: the last one

	if err != nil || last == 0 {
		return Anchor{}, err
	}
	var head Anchor
	err = st.AuditSince(ctx, last-1, func(r AuditRecord) error {
		head = Anchor{Seq: r.Seq, Hash: r.Hash}
		return errStop
	})
	if errors.Is(err, errStop) {
		err = nil
	}
	return head, err
}

var errStop = errors.New("stop")

// AuditFields are the names of an exported record's fields, in CSV column order. They are a
// contract with SIEM parsers: add fields at the end, never rename or reorder. They are the names
// ChainHash hashes, so an exported line can be checked without resetbot.
var AuditFields = []string{"seq", "at", "request_id", "event", "platform", "actor_key", "actor_upn", "target_id",
	"target_upn", "outcome", "detail", "graph_request_id", "duration_ms", "prev_hash", "hash", "line", "mac", "assurance"}

// auditJSON is an exported record: the hashed fields, the hash, every field written out even when
// a hash leaves it out for being zero (line), so each line of an export has every column, and the
// record's MAC.
type auditJSON struct {
	auditFields
	Hash      string    `json:"hash"`
	Line      int       `json:"line"`
	MAC       string    `json:"mac"`
	Assurance Assurance `json:"assurance"`
}

// MarshalJSON writes the record with the exported field names.
func (r AuditRecord) MarshalJSON() ([]byte, error) {
	return json.Marshal(auditJSON{r.fields(r.PrevHash), r.Hash, r.Line, r.MAC, r.Assurance})
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
		Detail: j.Detail, GraphRequestID: j.GraphRequestID, DurationMS: j.DurationMS, PrevHash: j.PrevHash, Hash: j.Hash, Line: j.Line, MAC: j.MAC, Assurance: j.Assurance}
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
		strconv.FormatInt(r.DurationMS, 10), r.PrevHash, r.Hash, lineCell(r.Line), r.MAC, string(r.Assurance)}
	for i := range row {
		row[i] = CSVSafe(row[i])
	}
	return c.w.Write(row)
}

func lineCell(n int) string {
	if n == 0 {
		return ""
	}
	return strconv.Itoa(n)
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
