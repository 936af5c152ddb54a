package bot_test

import (
	"bytes"
	"context"
	"encoding/csv"
	"encoding/json"
	"errors"
	"io"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/resetbot/resetbot/bot"
	"github.com/resetbot/resetbot/chat"
	"github.com/resetbot/resetbot/internal/scenariotest"
)

func trail(t *testing.T, st bot.Store) []bot.AuditRecord {
	t.Helper()
	var out []bot.AuditRecord
	if err := st.AuditSince(context.Background(), 0, func(r bot.AuditRecord) error { out = append(out, r); return nil }); err != nil {
		t.Fatal(err)
	}
	return out
}

// A day of real requests through the service, Graph simulator and SQLite: every step is one record
// with who, whom, where and what; Graph calls carry their request-id and timing; the chain verifies;
// no temporary password is anywhere in the trail.
func TestAuditTrailOfADay(t *testing.T) {
	env := scenariotest.NewEnv(t, nil)
	passwords := scenariotest.AuditDay(t, env)
	recs := trail(t, env.Store)

	check, err := bot.VerifyTrail(context.Background(), env.Store)
	if err != nil {
		t.Fatalf("the chain of a real run does not verify: %v", err)
	}
	if check.Count != int64(len(recs)) || check.First.Seq != 1 || check.Last.Seq != int64(len(recs)) {
		t.Errorf("verified %d records (#%d to #%d), the trail has %d", check.Count, check.First.Seq, check.Last.Seq, len(recs))
	}

	// Exactly one record per step, per request.
	steps := map[string]int{}
	for _, r := range recs {
		if r.Platform != chat.PlatformShell || r.Event == "" || r.At.IsZero() {
			t.Errorf("record %d lacks platform, event or time: %+v", r.Seq, r)
		}
		if r.ActorKey == "" {
			t.Errorf("record %d names no actor: %+v", r.Seq, r)
		}
		steps[r.TargetUPN+" "+string(r.Event)+"="+r.Outcome]++
		switch r.Event {
		case bot.EventReset, bot.EventRevoke:
			if r.GraphRequestID == "" || r.DurationMS < 0 {
				t.Errorf("record %d (%s) lacks Graph's request-id or timing: %+v", r.Seq, r.Event, r)
			}
		}
		if r.Event != bot.EventRefused || r.Outcome != "bad_input" {
			if r.RequestID == "" {
				t.Errorf("record %d (%s=%s) names no request", r.Seq, r.Event, r.Outcome)
			}
		}
		b, _ := json.Marshal(r)
		for _, pw := range passwords {
			if strings.Contains(string(b), pw) {
				t.Errorf("a temporary password is in audit record %d", r.Seq)
			}
		}
	}
	for _, want := range []string{
		"adele@contoso.com requested=asked", "adele@contoso.com decision=allow", "adele@contoso.com reset=done",
		"adele@contoso.com revoke=done", "adele@contoso.com delivery=sent", "adele@contoso.com delivery=withdrawn",
		"megan@contoso.com decision=deny", "nobody@contoso.com refused=not_found", " refused=bad_input",
		"ceo@contoso.com decision=needs_approval", "ceo@contoso.com approval=asked", "ceo@contoso.com approval=refused",
		"ceo@contoso.com approval=approved", "ceo@contoso.com reset=done", "ceo@contoso.com delivery=sent",
		"megan@contoso.com approval=denied", "isaiah@contoso.com expired=expired",
	} {
		if steps[want] != 1 {
			t.Errorf("%d records of %q, want exactly 1", steps[want], want)
		}
	}
	// The reset record carries the agent's reason, so it stands alone in a SIEM.
	for _, r := range recs {
		if r.Event == bot.EventReset && r.TargetUPN == "adele@contoso.com" && r.Detail != "locked out after phone change, INC0042" {
			t.Errorf("adele's reset record has detail %q, want the reason", r.Detail)
		}
	}
	// Every record of one request carries the same ID, from the ask to the withdrawn DM.
	byReq := map[string][]string{}
	for _, r := range recs {
		if r.TargetUPN == "adele@contoso.com" {
			byReq[r.RequestID] = append(byReq[r.RequestID], string(r.Event))
		}
	}
	if len(byReq) != 1 {
		t.Errorf("adele's records carry %d request IDs, want 1: %v", len(byReq), byReq)
	}
}

// The JSON lines export reads back into the very records, hashes and all; the CSV export has the
// documented header, one row per record, and no cell a spreadsheet would run.
func TestAuditExportRoundTrip(t *testing.T) {
	env := scenariotest.NewEnv(t, nil)
	passwords := scenariotest.AuditDay(t, env)
	recs := trail(t, env.Store)

	var jl, cs bytes.Buffer
	jw, cw := bot.NewAuditJSONL(&jl), bot.NewAuditCSV(&cs)
	for _, r := range recs {
		if err := jw.Write(r); err != nil {
			t.Fatal(err)
		}
		if err := cw.Write(r); err != nil {
			t.Fatal(err)
		}
	}
	if err := errors.Join(jw.Flush(), cw.Flush()); err != nil {
		t.Fatal(err)
	}
	for _, pw := range passwords {
		if strings.Contains(jl.String(), pw) || strings.Contains(cs.String(), pw) {
			t.Fatal("a temporary password is in the export")
		}
	}

	dec := json.NewDecoder(&jl)
	var back []bot.AuditRecord
	for {
		var r bot.AuditRecord
		if err := dec.Decode(&r); err == io.EOF {
			break
		} else if err != nil {
			t.Fatal(err)
		}
		back = append(back, r)
	}
	if len(back) != len(recs) {
		t.Fatalf("read back %d records, wrote %d", len(back), len(recs))
	}
	var check bot.ChainCheck
	for i := range recs {
		if !back[i].At.Equal(recs[i].At) {
			t.Errorf("record %d: time %v read back as %v", recs[i].Seq, recs[i].At, back[i].At)
		}
		back[i].At = recs[i].At // compared with Equal above: the location may differ
		if !reflect.DeepEqual(back[i], recs[i]) {
			t.Errorf("record %d read back as\n%+v\nwant\n%+v", recs[i].Seq, back[i], recs[i])
		}
		if b := check.Add(back[i]); b != nil {
			t.Fatalf("the exported lines do not verify: %v", b)
		}
	}

	// The JSON keys are the documented field names, and times are RFC 3339 UTC.
	line, _ := json.Marshal(recs[0])
	var keys map[string]any
	if err := json.Unmarshal(line, &keys); err != nil {
		t.Fatal(err)
	}
	for _, f := range bot.AuditFields {
		if _, ok := keys[f]; !ok {
			t.Errorf("the JSON export has no field %q: %s", f, line)
		}
	}
	if len(keys) != len(bot.AuditFields) {
		t.Errorf("the JSON export has %d fields, the documented list %d", len(keys), len(bot.AuditFields))
	}
	if at := keys["at"].(string); !strings.HasSuffix(at, "Z") {
		t.Errorf("time %q is not UTC", at)
	}

	rows, err := csv.NewReader(&cs).ReadAll()
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(rows[0], bot.AuditFields) {
		t.Errorf("CSV header %v, want %v", rows[0], bot.AuditFields)
	}
	if len(rows) != len(recs)+1 {
		t.Errorf("%d CSV rows, want a header and %d records", len(rows), len(recs))
	}
	defused := false
	for _, row := range rows[1:] {
		for _, cell := range row {
			if cell != "" && strings.ContainsRune("=+-@\t\r", rune(cell[0])) {
				t.Errorf("CSV cell %q would run as a formula", cell)
			}
			if cell == "'=SUM(1+2) INC7" {
				defused = true
			}
		}
	}
	if !defused {
		t.Error("the formula-like reason was not exported with a leading apostrophe")
	}
}

func TestCSVSafe(t *testing.T) {
	for in, want := range map[string]string{
		"=1+2": "'=1+2", "+1": "'+1", "-1": "'-1", "@SUM(A1)": "'@SUM(A1)", "\tx": "'\tx", "\rx": "'\rx",
		"adele@contoso.com": "adele@contoso.com", "": "", "1=1": "1=1", "'": "'",
	} {
		if got := bot.CSVSafe(in); got != want {
			t.Errorf("CSVSafe(%q) = %q, want %q", in, got, want)
		}
	}
	// An empty export still has its header.
	var b bytes.Buffer
	w := bot.NewAuditCSV(&b)
	if err := w.Flush(); err != nil {
		t.Fatal(err)
	}
	if got := strings.TrimSpace(b.String()); got != strings.Join(bot.AuditFields, ",") {
		t.Errorf("empty CSV export = %q", got)
	}
}

// chain builds an intact chain of n records the way a store does.
func chain(n int) []bot.AuditRecord {
	var out []bot.AuditRecord
	prev := ""
	at := time.Date(2026, 11, 27, 10, 0, 0, 0, time.UTC)
	for i := 1; i <= n; i++ {
		r := bot.AuditRecord{Seq: int64(i), At: at.Add(time.Duration(i) * time.Second), Event: bot.EventReset, Platform: chat.PlatformSlack,
			ActorKey: "slack:T1:U1", ActorUPN: "helpdesk@contoso.com", TargetUPN: "adele@contoso.com", Outcome: "done", PrevHash: prev}
		r.Hash = r.ChainHash(prev)
		prev = r.Hash
		out = append(out, r)
	}
	return out
}

// ChainCheck names the first bad record and what is wrong with it, for each kind of tampering.
func TestChainCheckNamesFirstBadRecord(t *testing.T) {
	tests := []struct {
		name    string
		tamper  func([]bot.AuditRecord) []bot.AuditRecord
		badSeq  int64
		says    string
		checked int64
	}{
		{"intact", func(r []bot.AuditRecord) []bot.AuditRecord { return r }, 0, "", 6},
		{"edited", func(r []bot.AuditRecord) []bot.AuditRecord { r[2].Outcome = "failed"; return r }, 3, "does not match its hash", 2},
		{"edited and rehashed", func(r []bot.AuditRecord) []bot.AuditRecord {
			r[2].Outcome = "failed"
			r[2].Hash = r[2].ChainHash(r[2].PrevHash)
			return r
		}, 4, "does not link to record 3", 3},
		{"deleted", func(r []bot.AuditRecord) []bot.AuditRecord { return append(r[:3:3], r[4:]...) }, 5, "record 4 is missing", 3},
		{"two deleted", func(r []bot.AuditRecord) []bot.AuditRecord { return append(r[:1:1], r[3:]...) }, 4, "records 2 to 3 are missing", 1},
		{"first deleted", func(r []bot.AuditRecord) []bot.AuditRecord { return r[1:] }, 2, "record 1 is missing", 0},
		{"first deleted and renumbered", func(r []bot.AuditRecord) []bot.AuditRecord {
			r = r[1:]
			r[0].Seq = 1
			return r
		}, 1, "does not match its hash", 0},
		// Read out of order (an export file edited by hand): the record that arrives early.
		{"reordered", func(r []bot.AuditRecord) []bot.AuditRecord { r[2], r[3] = r[3], r[2]; return r }, 4, "record 3 is missing", 2},
		{"duplicated", func(r []bot.AuditRecord) []bot.AuditRecord { return append(r[:3:3], r[2:]...) }, 3, "reordered or a record duplicated", 3},
		{"swapped places", func(r []bot.AuditRecord) []bot.AuditRecord {
			r[2], r[3] = r[3], r[2]
			r[2].Seq, r[3].Seq = 3, 4
			return r
		}, 3, "does not match its hash", 2},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var c bot.ChainCheck
			var got *bot.ChainBreak
			for _, r := range tt.tamper(chain(6)) {
				if got = c.Add(r); got != nil {
					break
				}
			}
			if tt.badSeq == 0 {
				if got != nil {
					t.Fatalf("an intact chain reported %v", got)
				}
				if c.Count != tt.checked || c.Last.Seq != 6 {
					t.Errorf("checked %d records up to #%d", c.Count, c.Last.Seq)
				}
				return
			}
			if got == nil {
				t.Fatal("tampering went unnoticed")
			}
			if got.Seq != tt.badSeq || !strings.Contains(got.Error(), tt.says) {
				t.Errorf("reported %q (record %d), want record %d saying %q", got.Error(), got.Seq, tt.badSeq, tt.says)
			}
			if c.Count != tt.checked {
				t.Errorf("%d records counted intact before the break, want %d", c.Count, tt.checked)
			}
			if again := c.Add(chain(1)[0]); again != got {
				t.Error("a broken check forgot its break")
			}
		})
	}
}

func TestParseSince(t *testing.T) {
	now := time.Date(2026, 11, 27, 10, 0, 0, 0, time.UTC)
	for in, want := range map[string]time.Time{
		"7d":                        now.Add(-7 * 24 * time.Hour),
		"36h":                       now.Add(-36 * time.Hour),
		"2w":                        now.Add(-14 * 24 * time.Hour),
		"90m":                       now.Add(-90 * time.Minute),
		"2026-11-01":                time.Date(2026, 11, 1, 0, 0, 0, 0, time.UTC),
		"2026-11-01T08:00:00+01:00": time.Date(2026, 11, 1, 7, 0, 0, 0, time.UTC),
		"2026-11-01T08:00:00Z":      time.Date(2026, 11, 1, 8, 0, 0, 0, time.UTC),
	} {
		got, err := bot.ParseSince(in, now)
		if err != nil || !got.Equal(want) {
			t.Errorf("ParseSince(%q) = %v, %v; want %v", in, got, err, want)
		}
	}
	for _, bad := range []string{"", "7x", "yesterday", "-7d", "2026-13-01", "d", "99999999d"} {
		if _, err := bot.ParseSince(bad, now); err == nil {
			t.Errorf("ParseSince(%q) accepted", bad)
		}
	}
}

// keyedChain is a chain of n records, each with its MAC, as a store with RESETBOT_AUDIT_KEY writes it.
func keyedChain(k *bot.TrailKey, n int) []bot.AuditRecord {
	recs := chain(n)
	for i := range recs {
		recs[i].MAC = k.Sign(recs[i].Hash)
	}
	return recs
}

// rehash rebuilds the chain's hashes from the first record on, as someone who can write the
// database but has no audit key would after editing it: the chain links again, the MACs are theirs.
func rehash(recs []bot.AuditRecord, mac func(string) string) []bot.AuditRecord {
	prev := ""
	for i := range recs {
		recs[i].Seq, recs[i].PrevHash = int64(i+1), prev
		recs[i].Hash = recs[i].ChainHash(prev)
		recs[i].MAC = mac(recs[i].Hash)
		prev = recs[i].Hash
	}
	return recs
}

// A trail edited, rebuilt or cut short by someone who can write the database is caught by the
// MACs and by an anchor kept outside it; the hash chain alone would pass each of them.
func TestTrailAnchoredOutsideTheDatabase(t *testing.T) {
	key, _ := bot.NewTrailKey(bytes.Repeat([]byte{7}, 32))
	forged, _ := bot.NewTrailKey(bytes.Repeat([]byte{9}, 32))
	head := func(recs []bot.AuditRecord) bot.Anchor {
		l := recs[len(recs)-1]
		return bot.Anchor{Seq: l.Seq, Hash: l.Hash}
	}
	for _, c := range []struct {
		name   string
		tamper func(recs []bot.AuditRecord) []bot.AuditRecord
		says   string
	}{
		{"intact", func(r []bot.AuditRecord) []bot.AuditRecord { return r }, ""},
		{"edited and rehashed, MACs dropped", func(r []bot.AuditRecord) []bot.AuditRecord {
			r[2].Detail = "nothing to see"
			return rehash(r, func(string) string { return "" })
		}, "no record carries a MAC|anchored outside the database"},
		{"edited and rehashed from the middle, MACs dropped", func(r []bot.AuditRecord) []bot.AuditRecord {
			r[3].Detail = "nothing to see"
			rest := rehash(append([]bot.AuditRecord(nil), r...), func(string) string { return "" })
			return append(r[:3:3], rest[3:]...)
		}, "carries no MAC, though the records before it do"},
		{"edited and rehashed with another key", func(r []bot.AuditRecord) []bot.AuditRecord {
			r[2].Detail = "nothing to see"
			return rehash(r, forged.Sign)
		}, "MAC does not match"},
		{"a record without a MAC after keyed ones", func(r []bot.AuditRecord) []bot.AuditRecord {
			r[4].MAC = ""
			return r
		}, "carries no MAC, though the records before it do"},
		{"cut off the end", func(r []bot.AuditRecord) []bot.AuditRecord { return r[:4] }, "records were cut off the end"},
	} {
		t.Run(c.name, func(t *testing.T) {
			original := keyedChain(key, 6)
			anchor := head(original)
			check := &bot.ChainCheck{Key: key, Anchors: []bot.Anchor{anchor}}
			var got *bot.ChainBreak
			for _, r := range c.tamper(original) {
				if got = check.Add(r); got != nil {
					break
				}
			}
			if got == nil {
				got = check.Finish()
			}
			switch {
			case c.says == "" && got != nil:
				t.Fatalf("an intact trail reported %v", got)
			case c.says != "" && got == nil:
				t.Fatal("the tampering went unnoticed")
			case c.says != "" && !containsAny(got.Error(), strings.Split(c.says, "|")):
				t.Errorf("reported %q, want it to say %q", got.Error(), c.says)
			}
		})
	}
	// A rebuild that keeps the old MACs' absence out of sight still fails the anchor.
	rebuilt := rehash(keyedChain(key, 6), key.Sign) // as if the key leaked: MACs all valid
	rebuilt[5].Detail = "changed"
	rebuilt = rehash(rebuilt, key.Sign)
	check := &bot.ChainCheck{Key: key, Anchors: []bot.Anchor{head(keyedChain(key, 6))}}
	var got *bot.ChainBreak
	for _, r := range rebuilt {
		if got = check.Add(r); got != nil {
			break
		}
	}
	if got == nil || !strings.Contains(got.Error(), "anchored outside the database") {
		t.Errorf("a rebuilt trail with valid MACs passed its anchor: %v", got)
	}
}

func TestParseAnchor(t *testing.T) {
	h := strings.Repeat("ab", 32)
	if a, err := bot.ParseAnchor("1204:" + strings.ToUpper(h)); err != nil || a.Seq != 1204 || a.Hash != h {
		t.Errorf("ParseAnchor = %+v, %v", a, err)
	}
	for _, bad := range []string{"", "1204", "x:" + h, "0:" + h, "12:" + h[:60], "12:" + strings.Repeat("zz", 32)} {
		if _, err := bot.ParseAnchor(bad); err == nil {
			t.Errorf("ParseAnchor(%q) accepted", bad)
		}
	}
}

// The store signs what it appends with the key it was opened with, and a trail written so verifies
// with that key and not another.
func TestStoreSignsTheTrail(t *testing.T) {
	env := scenariotest.NewEnv(t, nil)
	scenariotest.AuditDay(t, env)
	if _, err := bot.VerifyTrailWith(context.Background(), env.Store, &bot.ChainCheck{Key: env.TrailKey()}); err != nil {
		t.Fatalf("the day's trail does not verify with its key: %v", err)
	}
	other, _ := bot.NewTrailKey(bytes.Repeat([]byte{1}, 32))
	if _, err := bot.VerifyTrailWith(context.Background(), env.Store, &bot.ChainCheck{Key: other}); err == nil || !strings.Contains(err.Error(), "MAC does not match") {
		t.Errorf("the trail verified with another key: %v", err)
	}
	head, err := bot.TrailHead(context.Background(), env.Store)
	if err != nil || head.Seq < 10 {
		t.Fatalf("TrailHead = %+v, %v", head, err)
	}
	if _, err := bot.VerifyTrailWith(context.Background(), env.Store, &bot.ChainCheck{Key: env.TrailKey(), Anchors: []bot.Anchor{head}}); err != nil {
		t.Errorf("the trail does not hold its own head: %v", err)
	}
}

func containsAny(s string, words []string) bool {
	for _, w := range words {
		if strings.Contains(s, w) {
			return true
		}
	}
	return false
}
